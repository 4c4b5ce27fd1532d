package model

// TestInvokeRequest is the body of TestInvokeMethod and TestInvokeAuthorizer.
type TestInvokeRequest struct {
	PathWithQueryString string              `json:"pathWithQueryString,omitempty"`
	Body                string              `json:"body,omitempty"`
	Headers             map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders   map[string][]string `json:"multiValueHeaders,omitempty"`
	ClientCertificateID string              `json:"clientCertificateId,omitempty"`
	StageVariables      map[string]string   `json:"stageVariables,omitempty"`
	AdditionalContext   map[string]string   `json:"additionalContext,omitempty"`
}

// TestInvokeMethodResult is TestInvokeMethod's answer.
type TestInvokeMethodResult struct {
	Status            int                 `json:"status"`
	Body              string              `json:"body"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Log               string              `json:"log"`
	Latency           int64               `json:"latency"`
}

// TestInvokeAuthorizerResult is TestInvokeAuthorizer's answer.
type TestInvokeAuthorizerResult struct {
	ClientStatus  int                 `json:"clientStatus"`
	Log           string              `json:"log"`
	Latency       int64               `json:"latency"`
	PrincipalID   string              `json:"principalId,omitempty"`
	Policy        string              `json:"policy,omitempty"`
	Authorization map[string][]string `json:"authorization,omitempty"`
	Claims        map[string]string   `json:"claims,omitempty"`
}
