package integration

import (
	"fmt"
	"strings"
)

// FunctionURI is a Lambda invocation URI as API Gateway writes it,
// arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations,
// used by AWS_PROXY integrations and Lambda authorizers. Stage variables in
// the function ARN are substituted per call.
type FunctionURI struct{ fn []uriPart }

// ParseFunctionURI parses a Lambda invocation URI.
func ParseFunctionURI(uri string) (*FunctionURI, error) {
	m := lambdaURIRE.FindStringSubmatch(uri)
	if m == nil {
		return nil, fmt.Errorf("%q is not a Lambda function invocation URI", uri)
	}
	parts, err := parseURI(m[1])
	if err != nil {
		return nil, fmt.Errorf("invocation URI %q: %w", uri, err)
	}
	return &FunctionURI{fn: parts}, nil
}

// ARN renders the function ARN with the call's stage variables.
func (f *FunctionURI) ARN(vars map[string]string) (string, error) {
	name := renderText(f.fn, vars)
	if name == "" || strings.ContainsAny(name, "/{} ") || strings.HasSuffix(name, ":") {
		return "", fmt.Errorf("invalid Lambda function %q in the invocation URI", name)
	}
	return name, nil
}
