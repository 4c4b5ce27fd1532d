package policy

import "testing"

var (
	alice       = &Principal{AWS: []string{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:root", "123456789012"}}
	aliceARN    = &Principal{AWS: []string{"arn:aws:iam::123456789012:user/alice"}}
	root        = &Principal{AWS: []string{"arn:aws:iam::123456789012:root", "123456789012"}}
	otherUser   = &Principal{AWS: []string{"arn:aws:iam::999999999999:user/mallory", "999999999999"}}
	session     = &Principal{AWS: []string{"arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7", "arn:aws:iam::123456789012:role/team/deploy", "123456789012"}}
	sessionOnly = &Principal{AWS: []string{"arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7"}}
	service     = &Principal{Service: "apigateway.amazonaws.com"}
	anon        = &Principal{Anonymous: true}
)

func TestPrincipalMatching(t *testing.T) {
	tests := []struct {
		name      string
		principal string
		caller    *Principal
		want      bool
	}{
		{"star admits anonymous", `"*"`, nil, true},
		{"star admits a user", `"*"`, alice, true},
		{"AWS star admits anonymous", `{"AWS":"*"}`, anon, true},
		{"AWS star admits a service", `{"AWS":"*"}`, service, true},
		{"account id admits its user", `{"AWS":"123456789012"}`, alice, true},
		{"account id admits a user given by ARN only", `{"AWS":"123456789012"}`, aliceARN, true},
		{"account root ARN admits its user", `{"AWS":"arn:aws:iam::123456789012:root"}`, alice, true},
		{"account root ARN admits its root", `{"AWS":"arn:aws:iam::123456789012:root"}`, root, true},
		{"account admits its role session", `{"AWS":"123456789012"}`, sessionOnly, true},
		{"account refuses another account", `{"AWS":"123456789012"}`, otherUser, false},
		{"account refuses anonymous", `{"AWS":"123456789012"}`, nil, false},
		{"account refuses a service", `{"AWS":"123456789012"}`, service, false},
		{"user ARN admits the user", `{"AWS":"arn:aws:iam::123456789012:user/alice"}`, alice, true},
		{"user ARN is case-sensitive", `{"AWS":"arn:aws:iam::123456789012:user/Alice"}`, alice, false},
		{"user ARN refuses the account root", `{"AWS":"arn:aws:iam::123456789012:user/alice"}`, root, false},
		{"role ARN admits its session", `{"AWS":"arn:aws:iam::123456789012:role/team/deploy"}`, session, true},
		{"role ARN admits its session given alone", `{"AWS":"arn:aws:iam::123456789012:role/team/deploy"}`, sessionOnly, true},
		{"role ARN without path admits its session", `{"AWS":"arn:aws:iam::123456789012:role/deploy"}`, sessionOnly, true},
		{"other role refuses the session", `{"AWS":"arn:aws:iam::123456789012:role/admin"}`, sessionOnly, false},
		{"session ARN admits the session", `{"AWS":"arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7"}`, session, true},
		{"session ARN refuses another session", `{"AWS":"arn:aws:sts::123456789012:assumed-role/deploy/other"}`, session, false},
		{"service", `{"Service":"apigateway.amazonaws.com"}`, service, true},
		{"service list", `{"Service":["lambda.amazonaws.com","apigateway.amazonaws.com"]}`, service, true},
		{"service refuses a user", `{"Service":"apigateway.amazonaws.com"}`, alice, false},
		{"other service", `{"Service":"lambda.amazonaws.com"}`, service, false},
		{"federated", `{"Federated":"cognito-identity.amazonaws.com"}`, &Principal{Federated: "cognito-identity.amazonaws.com"}, true},
		{"several types ORed", `{"AWS":"999999999999","Service":"apigateway.amazonaws.com"}`, service, true},
		{"canonical user never matches", `{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}`, alice, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":`+tt.principal+`,
			    "Action":"execute-api:Invoke","Resource":"`+apiARN+`/*"}}`, ParseOptions{RequirePrincipal: true})
			r := invoke(apiARN+"/prod/GET/x", nil)
			r.Principal = tt.caller
			if got := d.Evaluate(r) == Allow; got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// NotPrincipal with Deny: every identity of the caller (account, user or
// role, session) must be named for the caller to escape the Deny, as the
// IAM documentation's examples do.
func TestNotPrincipal(t *testing.T) {
	tests := []struct {
		name   string
		not    string
		caller *Principal
		denied bool
	}{
		{"user and account named", `{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:root"]}`, alice, false},
		{"user named, account id form", `{"AWS":["arn:aws:iam::123456789012:user/alice","123456789012"]}`, aliceARN, false},
		{"only the user named: the account is denied", `{"AWS":"arn:aws:iam::123456789012:user/alice"}`, alice, true},
		{"only the account named: the user is denied", `{"AWS":"123456789012"}`, alice, true},
		{"only the account named: its root escapes", `{"AWS":"123456789012"}`, root, false},
		{"another user", `{"AWS":["arn:aws:iam::123456789012:user/bob","arn:aws:iam::123456789012:root"]}`, alice, true},
		{"another account", `{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:root"]}`, otherUser, true},
		{"session, role and account named", `{"AWS":["arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7","arn:aws:iam::123456789012:role/team/deploy","arn:aws:iam::123456789012:root"]}`, session, false},
		{"session named alone", `{"AWS":["arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7","arn:aws:iam::123456789012:root"]}`, sessionOnly, true},
		{"session, role and account named, caller gives the session only", `{"AWS":["arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7","arn:aws:iam::123456789012:role/team/deploy","123456789012"]}`, sessionOnly, false},
		{"anonymous is denied", `{"AWS":"123456789012"}`, nil, true},
		{"star spares everyone", `"*"`, nil, false},
		{"service named", `{"Service":"apigateway.amazonaws.com"}`, service, false},
		{"service not named", `{"Service":"lambda.amazonaws.com"}`, service, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, `{"Version":"2012-10-17","Statement":[
			    {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"`+apiARN+`/*"},
			    {"Effect":"Deny","NotPrincipal":`+tt.not+`,"Action":"execute-api:Invoke","Resource":"`+apiARN+`/*"}]}`,
				ParseOptions{RequirePrincipal: true})
			r := invoke(apiARN+"/prod/GET/x", nil)
			r.Principal = tt.caller
			if got := d.Evaluate(r) == Deny; got != tt.denied {
				t.Errorf("denied = %v, want %v", got, tt.denied)
			}
		})
	}
}

// A role trust policy: who may call sts:AssumeRole, with no Resource.
func TestTrustPolicy(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Statement":[
	    {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole",
	     "Condition":{"StringEquals":{"sts:ExternalId":"x-1"}}},
	    {"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		ParseOptions{RequirePrincipal: true, ResourceOptional: true})
	tests := []struct {
		name   string
		caller *Principal
		ctx    map[string][]string
		want   Effect
	}{
		{"user of the account with the external id", alice, map[string][]string{"sts:ExternalId": {"x-1"}}, Allow},
		{"user of the account without it", alice, nil, NotApplicable},
		{"other account", otherUser, map[string][]string{"sts:ExternalId": {"x-1"}}, NotApplicable},
		{"API Gateway service", service, nil, Allow},
		{"anonymous", nil, nil, NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/deploy", Principal: tt.caller}
			if tt.ctx != nil {
				r.Context = MapContext(tt.ctx)
			}
			if got := d.Evaluate(r); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}
