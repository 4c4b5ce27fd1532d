package policy

import (
	"testing"
)

const apiARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234"

func mustParse(t testing.TB, doc string, o ParseOptions) *Document {
	t.Helper()
	d, err := ParseWith([]byte(doc), o)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, doc)
	}
	return d
}

func invoke(resource string, ctx map[string][]string) *Request {
	r := &Request{Action: "execute-api:Invoke", Resource: resource}
	if ctx != nil {
		r.Context = MapContext(ctx)
	}
	return r
}

// The identity policy of seed 002: a user allowed only GET /sample.
func TestSeedIdentityPolicyGetSample(t *testing.T) {
	d := mustParse(t, `{
	    "Version": "2012-10-17",
	    "Statement": [
	        {
	            "Effect": "Allow",
	            "Action": [
	                "execute-api:Invoke"
	            ],
	            "Resource": [
	                "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/sample"
	            ]
	        }
	    ]
	}`, ParseOptions{ForbidPrincipal: true})
	tests := []struct {
		name   string
		action string
		arn    string
		want   Effect
	}{
		{"GET sample in prod", "execute-api:Invoke", apiARN + "/prod/GET/sample", Allow},
		{"GET sample in another stage", "execute-api:Invoke", apiARN + "/dev/GET/sample", Allow},
		{"POST sample", "execute-api:Invoke", apiARN + "/prod/POST/sample", NotApplicable},
		{"GET other", "execute-api:Invoke", apiARN + "/prod/GET/other", NotApplicable},
		{"GET sample child", "execute-api:Invoke", apiARN + "/prod/GET/sample/1", NotApplicable},
		{"other API", "execute-api:Invoke", "arn:aws:execute-api:us-east-1:123456789012:zzzzzz9999/prod/GET/sample", NotApplicable},
		{"other region", "execute-api:Invoke", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/sample", NotApplicable},
		{"action case-insensitive", "EXECUTE-API:invoke", apiARN + "/prod/GET/sample", Allow},
		{"other action", "execute-api:InvalidateCache", apiARN + "/prod/GET/sample", NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Action: tt.action, Resource: tt.arn}
			if got := d.Evaluate(r); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

// The policy of seed 001's blog post, written with "Sid" and two actions.
func TestSeedIdentityPolicyAllResources(t *testing.T) {
	d := mustParse(t, `{
	    "Version": "2012-10-17",
	    "Statement": [{
	        "Sid": "VisualEditor0",
	        "Effect": "Allow",
	        "Action": ["execute-api:Invoke", "lambda:InvokeFunction"],
	        "Resource": "*"
	    }]
	}`, ParseOptions{ForbidPrincipal: true})
	if got := d.Evaluate(invoke(apiARN+"/stage/GET/movie_list", nil)); got != Allow {
		t.Errorf("invoke = %v, want Allow", got)
	}
	if got := d.Evaluate(&Request{Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:1:function:f"}); got != Allow {
		t.Errorf("lambda = %v, want Allow", got)
	}
	if got := d.Evaluate(&Request{Action: "apigateway:GET", Resource: "arn:aws:apigateway:us-east-1::/restapis"}); got != NotApplicable {
		t.Errorf("apigateway = %v, want NotApplicable", got)
	}
}

// The resource policy of seed 001: only calls through one VPC endpoint.
func TestSeedResourcePolicySourceVpce(t *testing.T) {
	d := mustParse(t, `{
	    "Version": "2012-10-17",
	    "Statement": [
	        {
	            "Effect": "Allow",
	            "Principal": "*",
	            "Action": "execute-api:Invoke",
	            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*",
	            "Condition": {
	                "StringEquals": {
	                    "aws:sourceVpce": "vpce-0abc"
	                }
	            }
	        }
	    ]
	}`, ParseOptions{RequirePrincipal: true})
	user := &Principal{AWS: []string{"arn:aws:iam::123456789012:user/alice", "123456789012"}}
	tests := []struct {
		name string
		p    *Principal
		ctx  map[string][]string
		want Effect
	}{
		{"anonymous through the endpoint", nil, map[string][]string{"aws:SourceVpce": {"vpce-0abc"}}, Allow},
		{"user through the endpoint", user, map[string][]string{"aws:SourceVpce": {"vpce-0abc"}}, Allow},
		{"key case differs", nil, map[string][]string{"AWS:SOURCEVPCE": {"vpce-0abc"}}, Allow},
		{"other endpoint", nil, map[string][]string{"aws:SourceVpce": {"vpce-0ffff"}}, NotApplicable},
		{"value case differs", nil, map[string][]string{"aws:SourceVpce": {"VPCE-0ABC"}}, NotApplicable},
		{"public internet", nil, map[string][]string{"aws:SourceIp": {"203.0.113.7"}}, NotApplicable},
		{"no context", nil, nil, NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invoke(apiARN+"/prod/GET/sample", tt.ctx)
			r.Principal = tt.p
			if got := d.Evaluate(r); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

// A resource policy allowing everyone but denying calls from outside some
// ranges: the IP allow list of the API Gateway documentation.
func TestResourcePolicyIPAllowList(t *testing.T) {
	doc := `{
	    "Version": "2012-10-17",
	    "Statement": [
	        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "` + apiARN + `/*"},
	        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "` + apiARN + `/*",
	         "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"]}}}
	    ]
	}`
	d := mustParse(t, doc, ParseOptions{RequirePrincipal: true})
	tests := []struct {
		name string
		ip   []string
		want Effect
	}{
		{"inside the first range", []string{"192.0.2.10"}, Allow},
		{"inside the second range", []string{"198.51.100.255"}, Allow},
		{"IPv6 inside", []string{"2001:db8:1::1"}, Allow},
		{"IPv4-mapped IPv6 inside", []string{"::ffff:192.0.2.10"}, Allow},
		{"outside", []string{"203.0.113.7"}, Deny},
		{"IPv6 outside", []string{"2001:db9::1"}, Deny},
		{"garbage address", []string{"not-an-ip"}, Deny},
		// A negated operator holds when the key is absent (requests through
		// a VPC endpoint carry no aws:SourceIp): the Deny applies.
		{"no source IP", nil, Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := map[string][]string{}
			if tt.ip != nil {
				ctx["aws:SourceIp"] = tt.ip
			}
			if got := d.Evaluate(invoke(apiARN+"/prod/GET/x", ctx)); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExplicitDenyWins(t *testing.T) {
	allowAll := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{})
	denyPost := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"`+apiARN+`/*/POST/*"}}`, ParseOptions{})
	allowGet := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:*","Resource":"`+apiARN+`/*/GET/*"}}`, ParseOptions{})
	inOne := mustParse(t, `{"Version":"2012-10-17","Statement":[
	    {"Effect":"Allow","Action":"*","Resource":"*"},
	    {"Effect":"Deny","Action":"execute-api:Invoke","Resource":"`+apiARN+`/*/POST/*"},
	    {"Effect":"Allow","Action":"*","Resource":"*"}]}`, ParseOptions{})
	post := invoke(apiARN+"/prod/POST/items", nil)
	get := invoke(apiARN+"/prod/GET/items", nil)
	tests := []struct {
		name string
		docs []*Document
		r    *Request
		want Effect
	}{
		{"deny in another document beats allow", []*Document{allowAll, denyPost}, post, Deny},
		{"order does not matter", []*Document{denyPost, allowAll}, post, Deny},
		{"deny does not cover GET", []*Document{allowAll, denyPost}, get, Allow},
		{"deny alone is not an allow", []*Document{denyPost}, get, NotApplicable},
		{"two allows", []*Document{allowGet, allowAll}, get, Allow},
		{"no documents", nil, get, NotApplicable},
		{"nil document skipped", []*Document{nil, allowGet}, get, Allow},
		{"deny between allows in one document", []*Document{inOne}, post, Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.docs, tt.r); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNotActionNotResource(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		r    *Request
		want Effect
	}{
		{"NotAction allows other actions",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
			&Request{Action: "execute-api:Invoke", Resource: apiARN + "/p/GET/x"}, Allow},
		{"NotAction excludes listed actions",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
			&Request{Action: "iam:CreateUser", Resource: "arn:aws:iam::123456789012:user/bob"}, NotApplicable},
		{"NotAction is case-insensitive",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["IAM:*","sts:*"],"Resource":"*"}}`,
			&Request{Action: "iam:CreateUser", Resource: "*"}, NotApplicable},
		{"Deny with NotAction denies everything else",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":"execute-api:Invoke","Resource":"*"}]}`,
			&Request{Action: "apigateway:DELETE", Resource: "arn:aws:apigateway:us-east-1::/restapis/a"}, Deny},
		{"Deny with NotAction spares the listed action",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":"execute-api:Invoke","Resource":"*"}]}`,
			invoke(apiARN+"/p/GET/x", nil), Allow},
		{"NotResource allows other resources",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"` + apiARN + `/*/DELETE/*"}}`,
			invoke(apiARN+"/p/GET/x", nil), Allow},
		{"NotResource excludes listed resources",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"` + apiARN + `/*/DELETE/*"}}`,
			invoke(apiARN+"/p/DELETE/x", nil), NotApplicable},
		{"Deny with NotResource protects all but one resource",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","NotResource":["` + apiARN + `/*/GET/public","` + apiARN + `/*/GET/public/*"]}]}`,
			invoke(apiARN+"/p/GET/private", nil), Deny},
		{"Deny with NotResource spares the listed resource",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","NotResource":["` + apiARN + `/*/GET/public","` + apiARN + `/*/GET/public/*"]}]}`,
			invoke(apiARN+"/p/GET/public/a", nil), Allow},
		{"NotAction and NotResource together",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::*"}}`,
			invoke(apiARN+"/p/GET/x", nil), Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tt.doc, ParseOptions{})
			if got := d.Evaluate(tt.r); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestManagementActions(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Statement":[
	    {"Effect":"Allow","Action":"apigateway:GET","Resource":"arn:aws:apigateway:us-east-1::/restapis/*"},
	    {"Effect":"Allow","Action":["iam:CreateUser","iam:Get*"],"Resource":"arn:aws:iam::123456789012:user/*"},
	    {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/deploy"}]}`, ParseOptions{ForbidPrincipal: true})
	tests := []struct {
		name, action, arn string
		want              Effect
	}{
		{"GET a REST API", "apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis/a1b2c3", Allow},
		{"GET resources of an API", "apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis/a1b2c3/resources/xyz", Allow},
		{"GET the list itself", "apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis", NotApplicable},
		{"POST a REST API", "apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis/a1b2c3", NotApplicable},
		{"other region", "apigateway:GET", "arn:aws:apigateway:eu-west-1::/restapis/a1b2c3", NotApplicable},
		{"CreateUser", "iam:CreateUser", "arn:aws:iam::123456789012:user/carol", Allow},
		{"GetUser by wildcard", "iam:GetUser", "arn:aws:iam::123456789012:user/carol", Allow},
		{"DeleteUser", "iam:DeleteUser", "arn:aws:iam::123456789012:user/carol", NotApplicable},
		{"AssumeRole", "sts:AssumeRole", "arn:aws:iam::123456789012:role/deploy", Allow},
		{"AssumeRole other role", "sts:AssumeRole", "arn:aws:iam::123456789012:role/admin", NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Evaluate(&Request{Action: tt.action, Resource: tt.arn}); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

// The policy a Lambda authorizer returns: Deny of GET in any stage.
func TestLambdaAuthorizerPolicy(t *testing.T) {
	d := mustParse(t, `{
	    "Version": "2012-10-17",
	    "Statement": [{
	        "Action": "execute-api:Invoke",
	        "Effect": "Deny",
	        "Resource": "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/"
	    }, {
	        "Action": "execute-api:Invoke",
	        "Effect": "Allow",
	        "Resource": "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*"
	    }]
	}`, ParseOptions{ForbidPrincipal: true})
	if got := d.Evaluate(invoke("arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/prod/GET/", nil)); got != Deny {
		t.Errorf("GET / = %v, want Deny", got)
	}
	if got := d.Evaluate(invoke("arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/prod/GET/pets", nil)); got != Allow {
		t.Errorf("GET /pets = %v, want Allow", got)
	}
}

func TestPolicyVariables(t *testing.T) {
	doc20121017 := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke",
	    "Resource":"` + apiARN + `/*/GET/users/${aws:username}/*"}}`
	doc20081017 := `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke",
	    "Resource":"` + apiARN + `/*/GET/users/${aws:username}/*"}}`
	noVersion := `{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke",
	    "Resource":"` + apiARN + `/*/GET/users/${aws:username}/*"}}`
	withDefault := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke",
	    "Resource":"` + apiARN + `/*/GET/users/${aws:username, 'guest'}/*"}}`
	special := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke",
	    "Resource":"` + apiARN + `/*/GET/a${*}b${?}c${$}d"}}`
	notRes := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"execute-api:Invoke",
	    "NotResource":"` + apiARN + `/*/GET/users/${aws:username}/*"}}`
	inCondition := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*",
	    "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/${aws:username}"}}}}`
	alice := map[string][]string{"aws:username": {"alice"}}
	star := map[string][]string{"aws:username": {"*"}}
	tests := []struct {
		name string
		doc  string
		arn  string
		ctx  map[string][]string
		want Effect
	}{
		{"substituted", doc20121017, apiARN + "/prod/GET/users/alice/profile", alice, Allow},
		{"other user's path", doc20121017, apiARN + "/prod/GET/users/bob/profile", alice, NotApplicable},
		{"missing variable voids the statement", doc20121017, apiARN + "/prod/GET/users/alice/profile", nil, NotApplicable},
		{"multivalued key is not a variable", doc20121017, apiARN + "/prod/GET/users/alice/x", map[string][]string{"aws:username": {"alice", "bob"}}, NotApplicable},
		{"substituted value is literal, not a wildcard", doc20121017, apiARN + "/prod/GET/users/bob/profile", star, NotApplicable},
		{"substituted star matches a literal star", doc20121017, apiARN + "/prod/GET/users/*/profile", star, Allow},
		{"2008 version keeps the text", doc20081017, apiARN + "/prod/GET/users/${aws:username}/x", alice, Allow},
		{"2008 version does not substitute", doc20081017, apiARN + "/prod/GET/users/alice/x", alice, NotApplicable},
		{"no version is 2008", noVersion, apiARN + "/prod/GET/users/alice/x", alice, NotApplicable},
		{"default used when absent", withDefault, apiARN + "/prod/GET/users/guest/x", nil, Allow},
		{"default not used when present", withDefault, apiARN + "/prod/GET/users/guest/x", alice, NotApplicable},
		{"special characters", special, apiARN + "/p/GET/a*b?c$d", nil, Allow},
		{"special characters are literal", special, apiARN + "/p/GET/axxbyc$d", nil, NotApplicable},
		{"missing variable voids a NotResource Deny", notRes, apiARN + "/p/GET/other", nil, NotApplicable},
		{"NotResource Deny with the variable", notRes, apiARN + "/p/GET/other", alice, Deny},
		{"variable in a condition", inCondition, apiARN + "/p/GET/x",
			map[string][]string{"aws:username": {"alice"}, "aws:PrincipalArn": {"arn:aws:iam::123456789012:user/alice"}}, Allow},
		{"variable in a condition, other user", inCondition, apiARN + "/p/GET/x",
			map[string][]string{"aws:username": {"bob"}, "aws:PrincipalArn": {"arn:aws:iam::123456789012:user/alice"}}, NotApplicable},
		{"variable in a condition, missing", inCondition, apiARN + "/p/GET/x",
			map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::123456789012:user/alice"}}, NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tt.doc, ParseOptions{})
			if got := d.Evaluate(invoke(tt.arn, tt.ctx)); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTemplateParsing(t *testing.T) {
	tests := []struct {
		in   string
		ctx  map[string][]string
		want string
		ok   bool
	}{
		{"plain", nil, "", false}, // no template at all
		{"a${aws:username}b", map[string][]string{"aws:username": {"x"}}, "axb", true},
		{"${ aws:username }", map[string][]string{"aws:username": {"x"}}, "x", true},
		{"${aws:userid, 'anonymous'}", nil, "anonymous", true},
		{"${aws:userid,'anon ymous'}/x", nil, "anon ymous/x", true},
		{"${unterminated", nil, "", false},
		{"$${aws:username}", map[string][]string{"aws:username": {"x"}}, "$x", true},
		{"${*}${?}${$}", nil, "*?$", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tm := parseTemplate(tt.in)
			if tm == nil {
				if tt.ok {
					t.Fatalf("no template parsed")
				}
				return
			}
			got, ok := tm.expand(MapContext(tt.ctx), false)
			if ok != tt.ok || got != tt.want {
				t.Errorf("expand = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEffectString(t *testing.T) {
	for e, want := range map[Effect]string{NotApplicable: "NotApplicable", Allow: "Allow", Deny: "Deny"} {
		if e.String() != want {
			t.Errorf("%d.String() = %q", e, e.String())
		}
	}
}

func TestMapContext(t *testing.T) {
	ctx := MapContext(map[string][]string{"aws:SourceIp": {"1.2.3.4"}})
	for _, k := range []string{"aws:sourceip", "AWS:SourceIP"} {
		if v, ok := ctx(k); !ok || v[0] != "1.2.3.4" {
			t.Errorf("ctx(%q) = %v, %v", k, v, ok)
		}
	}
	if _, ok := ctx("aws:sourcevpce"); ok {
		t.Errorf("absent key found")
	}
}
