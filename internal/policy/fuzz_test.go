package policy

import (
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/sample"]}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*","Condition":{"StringEquals":{"aws:sourceVpce":"vpce-0abc"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"execute-api:Invoke","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}}]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::${aws:username}/*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","${aws:username, 'x'}"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"Null":{"aws:TokenIssueTime":"true"}}}}`,
	`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:role/r"],"Service":"x.amazonaws.com"},"Action":"*","Resource":"arn:aws:sqs:us-*-1:*:q?"}}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:${aws:PrincipalAccount}:*"},"NumericGreaterThan":{"s3:max-keys":1.5},"Bool":{"aws:SecureTransport":true},"BinaryEquals":{"k:b":"QQ=="}}}}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}}`,
}

func fuzzRequest() *Request {
	return &Request{
		Action:   "execute-api:Invoke",
		Resource: "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/sample",
		Principal: &Principal{AWS: []string{
			"arn:aws:sts::123456789012:assumed-role/r/s", "arn:aws:iam::123456789012:role/r", "123456789012",
		}},
		Context: MapContext(map[string][]string{
			"aws:SourceVpce":      {"vpce-0abc"},
			"aws:SourceIp":        {"192.0.2.1"},
			"aws:username":        {"alice*?"},
			"aws:TagKeys":         {"a1", "b2"},
			"aws:CurrentTime":     {"2025-06-01T12:00:00Z"},
			"aws:SecureTransport": {"true"},
			"aws:SourceArn":       {"arn:aws:sns:us-east-1:123456789012:t"},
			"aws:PrincipalAccount": {
				"123456789012",
			},
			"s3:max-keys": {"2"},
		}),
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	r := fuzzRequest()
	anon := &Request{Action: "sts:AssumeRole", Resource: ""}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range []ParseOptions{{}, {RequirePrincipal: true, ResourceOptional: true}, {ForbidPrincipal: true}} {
			d, err := ParseWith(b, o)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Message == "" {
					t.Fatalf("error %v is not a *Error with a message", err)
				}
				// Map iteration must not change which error is reported.
				if _, err2 := ParseWith(b, o); err2 == nil || err2.Error() != err.Error() {
					t.Fatalf("parse errors differ: %v, then %v", err, err2)
				}
				continue
			}
			for _, req := range []*Request{r, anon} {
				e := d.Evaluate(req)
				if e != NotApplicable && e != Allow && e != Deny {
					t.Fatalf("Evaluate = %d", e)
				}
				if e2 := Evaluate([]*Document{d, d}, req); e2 != e {
					t.Fatalf("Evaluate over the document twice = %v, once %v", e2, e)
				}
			}
		}
	})
}
