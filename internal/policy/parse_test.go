package policy

import (
	"errors"
	"slices"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const ok = ""
	tests := []struct {
		name string
		doc  string
		o    ParseOptions
		want string // IAM's message, or ok
	}{
		{"not JSON", `{"Version":`, ParseOptions{}, msgSyntax},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, ParseOptions{}, msgSyntax},
		{"array document", `[]`, ParseOptions{}, msgSyntax},
		{"empty", ``, ParseOptions{}, msgSyntax},
		{"unknown top-level field", `{"Version":"2012-10-17","Statements":[]}`, ParseOptions{}, msgSyntax},
		{"element names are case-sensitive", `{"version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"bad version", `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{}, msgLegacy},
		{"version not a string", `{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"no statement", `{"Version":"2012-10-17"}`, ParseOptions{}, msgSyntax},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`, ParseOptions{}, msgSyntax},
		{"statement not an object", `{"Version":"2012-10-17","Statement":["x"]}`, ParseOptions{}, msgSyntax},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"*"}}`, ParseOptions{}, msgSyntax},
		{"no effect", `{"Statement":{"Action":"*","Resource":"*"}}`, ParseOptions{}, msgLegacy},
		{"lower-case effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, ParseOptions{}, msgLegacy},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, ParseOptions{}, msgNoActions},
		{"empty action list", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, ParseOptions{}, msgNoActions},
		{"action and NotAction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Action":"Invoke","Resource":"*"}}`, ParseOptions{}, msgVendor},
		{"action with empty vendor", `{"Statement":{"Effect":"Allow","Action":":Invoke","Resource":"*"}}`, ParseOptions{}, msgVendor},
		{"action with two colons", `{"Statement":{"Effect":"Allow","Action":"execute-api:a:b","Resource":"*"}}`, ParseOptions{}, msgOneColon},
		{"action not a string", `{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"no resource", `{"Statement":{"Effect":"Allow","Action":"*"}}`, ParseOptions{}, msgNoResources},
		{"empty resource list", `{"Statement":{"Effect":"Allow","Action":"*","Resource":[]}}`, ParseOptions{}, msgNoResources},
		{"resource and NotResource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}`, ParseOptions{}, msgSyntax},
		{"resource not an ARN", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"vpce-1"}}`, ParseOptions{}, `Resource vpce-1 must be in ARN format or "*".`},
		{"trust policy without resource", `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"apigateway.amazonaws.com"}}}`,
			ParseOptions{RequirePrincipal: true, ResourceOptional: true}, ok},
		{"principal in identity policy", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, ParseOptions{ForbidPrincipal: true}, msgNoPrincipal},
		{"NotPrincipal in identity policy", `{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}}`, ParseOptions{ForbidPrincipal: true}, msgNoPrincipal},
		{"no principal in resource policy", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{RequirePrincipal: true}, msgNeedPrincipal},
		{"principal and NotPrincipal", `{"Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"*","Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"principal string other than star", `{"Statement":{"Effect":"Allow","Principal":"123456789012","Action":"*","Resource":"*"}}`, ParseOptions{}, `Invalid principal in policy: "123456789012"`},
		{"unknown principal type", `{"Statement":{"Effect":"Allow","Principal":{"User":"bob"},"Action":"*","Resource":"*"}}`, ParseOptions{}, `Invalid principal in policy: "User":"bob"`},
		{"bad AWS principal", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"*","Resource":"*"}}`, ParseOptions{}, `Invalid principal in policy: "AWS":"bob"`},
		{"empty principal object", `{"Statement":{"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"unknown condition operator", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:SourceVpce":"v"}}}}`, ParseOptions{}, msgSyntax},
		{"NullIfExists", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:SourceVpce":"true"}}}}`, ParseOptions{}, msgSyntax},
		{"condition without operator", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"aws:SourceVpce":"v"}}}`, ParseOptions{}, msgSyntax},
		{"condition key without vendor", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"SourceVpce":"v"}}}}`, ParseOptions{}, msgVendor},
		{"condition value null", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":null}}}}`, ParseOptions{}, msgSyntax},
		{"condition value object", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":{}}}}}`, ParseOptions{}, msgSyntax},
		{"condition empty list", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":[]}}}}`, ParseOptions{}, msgSyntax},
		{"sid not a string", `{"Statement":{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{}, msgSyntax},
		{"valid minimal", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ParseOptions{}, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWith([]byte(tt.doc), tt.o)
			if tt.want == ok {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error %q", err, err, tt.want)
			}
			if pe.Message != tt.want {
				t.Errorf("message %q, want %q", pe.Message, tt.want)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	d := mustParse(t, `{
	    "Version": "2012-10-17",
	    "Id": "policy-1",
	    "Statement": {
	        "Sid": "One",
	        "Effect": "Deny",
	        "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "999999999999"], "Service": "apigateway.amazonaws.com"},
	        "Action": "execute-api:Invoke",
	        "Resource": ["arn:aws:execute-api:*:*:*"],
	        "Condition": {
	            "Bool": {"aws:SecureTransport": false},
	            "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
	            "StringEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}
	        }
	    }
	}`, ParseOptions{})
	if d.Version != "2012-10-17" || d.ID != "policy-1" || len(d.Statements) != 1 {
		t.Fatalf("document %+v", d)
	}
	st := d.Statements[0]
	if st.Sid != "One" || st.Effect != Deny {
		t.Errorf("sid %q effect %v", st.Sid, st.Effect)
	}
	if !slices.Equal(st.Action, []string{"execute-api:Invoke"}) || !slices.Equal(st.Resource, []string{"arn:aws:execute-api:*:*:*"}) {
		t.Errorf("action %v resource %v", st.Action, st.Resource)
	}
	if st.Principal == nil || !slices.Equal(st.Principal.AWS, []string{"arn:aws:iam::123456789012:root", "999999999999"}) ||
		!slices.Equal(st.Principal.Service, []string{"apigateway.amazonaws.com"}) {
		t.Errorf("principal %+v", st.Principal)
	}
	var got []string
	for _, c := range st.Conditions {
		got = append(got, c.Operator+" "+c.Key+" "+c.Values[0])
	}
	want := []string{
		"Bool aws:SecureTransport false",
		"NumericLessThan aws:MultiFactorAuthAge 3600",
		"StringEquals aws:SourceVpce vpce-1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("conditions %q, want %q", got, want)
	}
	if v := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, ParseOptions{}).Version; v != "" {
		t.Errorf("missing Version read as %q, want it empty", v)
	}
}

func TestParseStarPrincipalForms(t *testing.T) {
	for _, p := range []string{`"*"`, `{"AWS":"*"}`, `{"AWS":["123456789012","*"]}`} {
		t.Run(p, func(t *testing.T) {
			d := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":`+p+`,"Action":"*","Resource":"*"}}`, ParseOptions{RequirePrincipal: true})
			if !d.Statements[0].Principal.All {
				t.Errorf("principal %s is not everyone", p)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse([]byte("nope"))
	if err == nil || err.Error() != "policy: Syntax errors in policy." {
		t.Errorf("error %v", err)
	}
}
