package server

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw/apigw/internal/integration"
)

// checkAWSEndpoints refuses --aws-endpoint values that are not a service
// name and an http(s) URL.
func checkAWSEndpoints(m map[string]string) error {
	for service, u := range m {
		if service == "" {
			return fmt.Errorf("--aws-endpoint %q: want service=URL", "="+u)
		}
		if _, err := integration.CheckEndpointURL(u); err != nil {
			return fmt.Errorf("--aws-endpoint %s: %w", service, err)
		}
	}
	return nil
}

// integrationPrincipal is who assumes the credentials roles of AWS
// integrations, as on AWS.
const integrationPrincipal = "apigateway.amazonaws.com"

// assumeIntegrationRole gives an AWS integration a session of its
// credentials role through apigw's own STS: the role must trust
// apigateway.amazonaws.com.
func (s *Server) assumeIntegrationRole(ctx context.Context, roleARN string) (aws.Credentials, error) {
	if s.IAM == nil {
		return aws.Credentials{}, fmt.Errorf("no IAM service")
	}
	ss, err := s.IAM.AssumeRoleForService(ctx, roleARN, integrationPrincipal, "BackplaneAssumeRoleSession")
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: ss.AccessKeyID, SecretAccessKey: ss.SecretAccessKey, SessionToken: ss.SessionToken,
		CanExpire: true, Expires: ss.Expires, Source: "apigw STS"}, nil
}

// callerCredentials finds the keys of an AWS_IAM caller, for AWS
// integrations that call services as the caller.
func (s *Server) callerCredentials(ctx context.Context, accessKeyID string) (aws.Credentials, error) {
	if s.IAM == nil {
		return aws.Credentials{}, fmt.Errorf("no IAM service")
	}
	c, err := s.IAM.Lookup(ctx, accessKeyID)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: "caller"}, nil
}
