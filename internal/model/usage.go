package model

// Record kinds of API keys and usage plans. These are live configuration,
// not part of deployments.
const (
	KindApiKey       = "apikey"       // key: keyID
	KindUsagePlan    = "usageplan"    // key: planID
	KindUsagePlanKey = "usageplankey" // key: planID/keyID
	KindUsage        = "usage"        // key: counter id/day (quota ledger)
)

// StageKey names a stage an API key is bound to (legacy stageKeys).
type StageKey struct {
	RestApiID string `json:"restApiId,omitempty"`
	StageName string `json:"stageName,omitempty"`
}

// ApiKey is an API key. Value is returned only when asked for.
type ApiKey struct {
	ID              string            `json:"id"`
	Value           string            `json:"value,omitempty"`
	Name            string            `json:"name,omitempty"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     int64             `json:"createdDate"`
	LastUpdatedDate int64             `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// ThrottleSettings is a token bucket: burstLimit tokens, refilled at
// rateLimit per second.
type ThrottleSettings struct {
	BurstLimit int64   `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// QuotaSettings is a number of requests per period (DAY, WEEK, MONTH).
type QuotaSettings struct {
	Limit  int64  `json:"limit"`
	Offset int64  `json:"offset"`
	Period string `json:"period"`
}

// ApiStage is an API stage a usage plan covers, with per-method throttles
// keyed "{resourcePath}/{httpMethod}".
type ApiStage struct {
	ApiID    string                       `json:"apiId"`
	Stage    string                       `json:"stage"`
	Throttle map[string]*ThrottleSettings `json:"throttle,omitempty"`
}

// UsagePlan sets throttles and a quota for the API keys it holds on the
// API stages it covers.
type UsagePlan struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	ApiStages   []*ApiStage       `json:"apiStages"`
	Throttle    *ThrottleSettings `json:"throttle,omitempty"`
	Quota       *QuotaSettings    `json:"quota,omitempty"`
	ProductCode string            `json:"productCode,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// UsagePlanKey records that an API key belongs to a usage plan.
type UsagePlanKey struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
	Name  string `json:"name,omitempty"`
}
