// Package model holds apigw's resource model with the field names of the
// Amazon API Gateway wire format, so that records serialize exactly as the
// management API returns them.
package model

// EndpointConfiguration says how an API is reached (EDGE, REGIONAL, PRIVATE).
type EndpointConfiguration struct {
	Types          []string `json:"types,omitempty"`
	IPAddressType  string   `json:"ipAddressType,omitempty"`
	VpcEndpointIds []string `json:"vpcEndpointIds,omitempty"`
}

// RestApi is a REST API: a tree of resources, deployed to stages.
type RestApi struct {
	ID                        string                 `json:"id"`
	Name                      string                 `json:"name"`
	Description               string                 `json:"description,omitempty"`
	CreatedDate               int64                  `json:"createdDate"`
	Version                   string                 `json:"version,omitempty"`
	Warnings                  []string               `json:"warnings,omitempty"`
	BinaryMediaTypes          []string               `json:"binaryMediaTypes,omitempty"`
	MinimumCompressionSize    *int64                 `json:"minimumCompressionSize,omitempty"`
	ApiKeySource              string                 `json:"apiKeySource"`
	EndpointConfiguration     *EndpointConfiguration `json:"endpointConfiguration,omitempty"`
	Policy                    string                 `json:"policy,omitempty"`
	Tags                      map[string]string      `json:"tags,omitempty"`
	DisableExecuteApiEndpoint bool                   `json:"disableExecuteApiEndpoint"`
	RootResourceID            string                 `json:"rootResourceId"`
	ApiStatus                 string                 `json:"apiStatus,omitempty"`
	EndpointAccessMode        string                 `json:"endpointAccessMode,omitempty"`
	SecurityPolicy            string                 `json:"securityPolicy,omitempty"`
}

// Private reports whether the API's endpoint type is PRIVATE (reached
// through VPC endpoints only).
func (api *RestApi) Private() bool {
	ec := api.EndpointConfiguration
	return ec != nil && len(ec.Types) == 1 && ec.Types[0] == "PRIVATE"
}

// Resource is one path node of an API. Methods are kept inside the resource
// record, so a resource with everything under it is one read.
type Resource struct {
	ID              string             `json:"id"`
	ParentID        string             `json:"parentId,omitempty"`
	PathPart        string             `json:"pathPart,omitempty"`
	Path            string             `json:"path"`
	ResourceMethods map[string]*Method `json:"resourceMethods,omitempty"`
}

// Method is an HTTP method of a resource, with its integration.
type Method struct {
	HTTPMethod          string                     `json:"httpMethod"`
	AuthorizationType   string                     `json:"authorizationType"`
	AuthorizerID        string                     `json:"authorizerId,omitempty"`
	ApiKeyRequired      bool                       `json:"apiKeyRequired"`
	RequestValidatorID  string                     `json:"requestValidatorId,omitempty"`
	OperationName       string                     `json:"operationName,omitempty"`
	RequestParameters   map[string]bool            `json:"requestParameters,omitempty"`
	RequestModels       map[string]string          `json:"requestModels,omitempty"`
	MethodResponses     map[string]*MethodResponse `json:"methodResponses,omitempty"`
	MethodIntegration   *Integration               `json:"methodIntegration,omitempty"`
	AuthorizationScopes []string                   `json:"authorizationScopes,omitempty"`
}

// MethodResponse declares a status a method may answer with.
type MethodResponse struct {
	StatusCode         string            `json:"statusCode"`
	ResponseParameters map[string]bool   `json:"responseParameters,omitempty"`
	ResponseModels     map[string]string `json:"responseModels,omitempty"`
}

// TLSConfig holds an integration's TLS options.
type TLSConfig struct {
	InsecureSkipVerification bool `json:"insecureSkipVerification"`
}

// Integration is the backend a method calls.
type Integration struct {
	Type                 string                          `json:"type"`
	HTTPMethod           string                          `json:"httpMethod,omitempty"`
	URI                  string                          `json:"uri,omitempty"`
	ConnectionType       string                          `json:"connectionType,omitempty"`
	ConnectionID         string                          `json:"connectionId,omitempty"`
	Credentials          string                          `json:"credentials,omitempty"`
	RequestParameters    map[string]string               `json:"requestParameters,omitempty"`
	RequestTemplates     map[string]string               `json:"requestTemplates,omitempty"`
	PassthroughBehavior  string                          `json:"passthroughBehavior,omitempty"`
	ContentHandling      string                          `json:"contentHandling,omitempty"`
	TimeoutInMillis      int64                           `json:"timeoutInMillis"`
	CacheNamespace       string                          `json:"cacheNamespace,omitempty"`
	CacheKeyParameters   []string                        `json:"cacheKeyParameters"`
	IntegrationResponses map[string]*IntegrationResponse `json:"integrationResponses,omitempty"`
	TLSConfig            *TLSConfig                      `json:"tlsConfig,omitempty"`
	IntegrationTarget    string                          `json:"integrationTarget,omitempty"`
	ResponseTransferMode string                          `json:"responseTransferMode,omitempty"`
}

// IntegrationResponse maps a backend answer to a method response.
type IntegrationResponse struct {
	StatusCode         string            `json:"statusCode"`
	SelectionPattern   string            `json:"selectionPattern,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates  map[string]string `json:"responseTemplates,omitempty"`
	ContentHandling    string            `json:"contentHandling,omitempty"`
}

// Deployment is an immutable snapshot of an API. The snapshot itself is kept
// in a separate record (Snapshot) so listing deployments stays cheap.
type Deployment struct {
	ID          string                                   `json:"id"`
	Description string                                   `json:"description,omitempty"`
	CreatedDate int64                                    `json:"createdDate"`
	ApiSummary  map[string]map[string]MethodSnapshotInfo `json:"apiSummary,omitempty"`
}

// MethodSnapshotInfo is a deployment's summary of one method.
type MethodSnapshotInfo struct {
	AuthorizationType string `json:"authorizationType,omitempty"`
	ApiKeyRequired    bool   `json:"apiKeyRequired"`
}

// Snapshot is what a deployment froze: the API and every resource.
type Snapshot struct {
	DeploymentID string        `json:"deploymentId"`
	Api          RestApi       `json:"api"`
	Resources    []*Resource   `json:"resources"`
	Authorizers  []*Authorizer `json:"authorizers,omitempty"`
	// GatewayResponses are the API's customised gateway responses when it
	// was deployed.
	GatewayResponses []*GatewayResponse `json:"gatewayResponses,omitempty"`
	// Models and RequestValidators validate method requests.
	Models            []*Model            `json:"models,omitempty"`
	RequestValidators []*RequestValidator `json:"requestValidators,omitempty"`
}

// GatewayResponse is how an API answers the errors the gateway itself
// produces, for one response type.
type GatewayResponse struct {
	ResponseType       string            `json:"responseType"`
	StatusCode         string            `json:"statusCode,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	DefaultResponse    bool              `json:"defaultResponse"`
}

// MethodSetting is a stage's per-method configuration.
type MethodSetting struct {
	MetricsEnabled                         bool    `json:"metricsEnabled"`
	LoggingLevel                           string  `json:"loggingLevel,omitempty"`
	DataTraceEnabled                       bool    `json:"dataTraceEnabled"`
	ThrottlingBurstLimit                   int64   `json:"throttlingBurstLimit"`
	ThrottlingRateLimit                    float64 `json:"throttlingRateLimit"`
	CachingEnabled                         bool    `json:"cachingEnabled"`
	CacheTtlInSeconds                      int64   `json:"cacheTtlInSeconds"`
	CacheDataEncrypted                     bool    `json:"cacheDataEncrypted"`
	RequireAuthorizationForCacheControl    bool    `json:"requireAuthorizationForCacheControl"`
	UnauthorizedCacheControlHeaderStrategy string  `json:"unauthorizedCacheControlHeaderStrategy,omitempty"`
}

// AccessLogSettings configures a stage's access log.
type AccessLogSettings struct {
	Format         string `json:"format,omitempty"`
	DestinationArn string `json:"destinationArn,omitempty"`
}

// Stage is a named reference to a deployment, with variables and settings.
type Stage struct {
	DeploymentID         string                    `json:"deploymentId"`
	ClientCertificateID  string                    `json:"clientCertificateId,omitempty"`
	StageName            string                    `json:"stageName"`
	Description          string                    `json:"description,omitempty"`
	CacheClusterEnabled  bool                      `json:"cacheClusterEnabled"`
	CacheClusterSize     string                    `json:"cacheClusterSize,omitempty"`
	CacheClusterStatus   string                    `json:"cacheClusterStatus"`
	MethodSettings       map[string]*MethodSetting `json:"methodSettings"`
	Variables            map[string]string         `json:"variables,omitempty"`
	DocumentationVersion string                    `json:"documentationVersion,omitempty"`
	AccessLogSettings    *AccessLogSettings        `json:"accessLogSettings,omitempty"`
	TracingEnabled       bool                      `json:"tracingEnabled"`
	WebACLArn            string                    `json:"webAclArn,omitempty"`
	CanarySettings       *CanarySettings           `json:"canarySettings,omitempty"`
	Tags                 map[string]string         `json:"tags,omitempty"`
	CreatedDate          int64                     `json:"createdDate"`
	LastUpdatedDate      int64                     `json:"lastUpdatedDate"`
}

// CanarySettings are a stage's canary release: a share of its traffic
// served by another deployment, with stage variables of its own.
type CanarySettings struct {
	DeploymentID           string            `json:"deploymentId"`
	PercentTraffic         float64           `json:"percentTraffic"`
	StageVariableOverrides map[string]string `json:"stageVariableOverrides,omitempty"`
	UseStageCache          bool              `json:"useStageCache"`
}

// Authorizer is a Lambda (TOKEN or REQUEST) or Cognito authorizer of an API.
type Authorizer struct {
	ID                           string   `json:"id"`
	Name                         string   `json:"name"`
	Type                         string   `json:"type"`
	ProviderARNs                 []string `json:"providerARNs,omitempty"`
	AuthType                     string   `json:"authType,omitempty"`
	AuthorizerURI                string   `json:"authorizerUri,omitempty"`
	AuthorizerCredentials        string   `json:"authorizerCredentials,omitempty"`
	IdentitySource               string   `json:"identitySource,omitempty"`
	IdentityValidationExpression string   `json:"identityValidationExpression,omitempty"`
	AuthorizerResultTtlInSeconds *int64   `json:"authorizerResultTtlInSeconds,omitempty"`
}

// Model is a JSON Schema (draft 4) of an API, named in methods'
// requestModels and in other models' $ref by its URL form
// (ModelURL).
type Model struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Schema      string `json:"schema,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// RequestValidator says what a method's requests are checked for.
type RequestValidator struct {
	ID                        string `json:"id"`
	Name                      string `json:"name,omitempty"`
	ValidateRequestBody       bool   `json:"validateRequestBody"`
	ValidateRequestParameters bool   `json:"validateRequestParameters"`
}

// FillDefaults sets what AWS sets on an integration that is put without
// it: passthroughBehavior WHEN_NO_MATCH, connectionType INTERNET (not for
// MOCK) and an empty cacheKeyParameters list. PutIntegration and the
// OpenAPI import share it.
func (i *Integration) FillDefaults() {
	if i.PassthroughBehavior == "" {
		i.PassthroughBehavior = "WHEN_NO_MATCH"
	}
	if i.ConnectionType == "" && i.Type != "MOCK" {
		i.ConnectionType = "INTERNET"
	}
	if i.CacheKeyParameters == nil {
		i.CacheKeyParameters = []string{}
	}
}
