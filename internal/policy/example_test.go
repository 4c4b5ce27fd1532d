package policy_test

import (
	"fmt"

	"github.com/apigw/apigw/internal/policy"
)

// An identity policy allowing one route, asked about three requests.
func ExampleDocument_Evaluate() {
	doc, err := policy.ParseWith([]byte(`{
	    "Version": "2012-10-17",
	    "Statement": [{
	        "Effect": "Allow",
	        "Action": "execute-api:Invoke",
	        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/sample"
	    }]
	}`), policy.ParseOptions{ForbidPrincipal: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range []string{"prod/GET/sample", "prod/POST/sample", "prod/GET/other"} {
		req := &policy.Request{
			Action:   "execute-api:Invoke",
			Resource: "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/" + r,
		}
		fmt.Println(r, doc.Evaluate(req))
	}
	// Output:
	// prod/GET/sample Allow
	// prod/POST/sample NotApplicable
	// prod/GET/other NotApplicable
}

// A resource policy admitting anyone through one VPC endpoint.
func ExampleParseWith_resourcePolicy() {
	doc, err := policy.ParseWith([]byte(`{
	    "Version": "2012-10-17",
	    "Statement": [{
	        "Effect": "Allow",
	        "Principal": "*",
	        "Action": "execute-api:Invoke",
	        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*",
	        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc"}}
	    }]
	}`), policy.ParseOptions{RequirePrincipal: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, vpce := range []string{"vpce-0abc", "vpce-other"} {
		req := &policy.Request{
			Action:    "execute-api:Invoke",
			Resource:  "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/",
			Principal: &policy.Principal{Anonymous: true},
			Context:   policy.MapContext(map[string][]string{"aws:SourceVpce": {vpce}}),
		}
		fmt.Println(vpce, doc.Evaluate(req))
	}
	_, err = policy.ParseWith([]byte(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`),
		policy.ParseOptions{ForbidPrincipal: true})
	fmt.Println(err)
	// Output:
	// vpce-0abc Allow
	// vpce-other NotApplicable
	// policy: Policy document should not specify a principal.
}
