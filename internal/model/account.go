package model

// KindAccount holds the account's settings that UpdateAccount changes; its
// one record has the key AccountSettingsKey. Without it the account has
// apigw's defaults (the serve flags' account throttle).
const (
	KindAccount        = "account"
	AccountSettingsKey = "settings"
)

// AccountSettings is what UpdateAccount stores. A nil Throttle means the
// account throttle given at start (--account-rate-limit,
// --account-burst-limit).
type AccountSettings struct {
	CloudwatchRoleArn string            `json:"cloudwatchRoleArn,omitempty"`
	Throttle          *ThrottleSettings `json:"throttle,omitempty"`
}
