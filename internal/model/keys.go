package model

import "strings"

// Record kinds in the store, and how their keys are built. The data plane
// reads the same records the management API writes.
const (
	KindRestApi    = "restapi"    // key: apiID
	KindResource   = "resource"   // key: apiID/resourceID
	KindDeployment = "deployment" // key: apiID/deploymentID
	KindSnapshot   = "snapshot"   // key: apiID/deploymentID
	KindStage      = "stage"      // key: apiID/stageName
	KindAuthorizer = "authorizer" // key: apiID/authorizerID
	// KindGatewayResponse holds an API's customised gateway responses; a
	// type without a record has AWS's default.
	KindGatewayResponse = "gatewayresponse" // key: apiID/responseType
	KindModel           = "model"           // key: apiID/modelName
	KindValidator       = "validator"       // key: apiID/requestValidatorID
	KindMeta            = "meta"            // key: a setting's name
	// KindAuthorizerFlush records when a stage's Lambda authorizer cache
	// was last flushed (FlushStageAuthorizersCache): results cached
	// before are not used again, on any node.
	KindAuthorizerFlush = "authflush" // key: apiID/stageName; value: AuthorizerFlush
)

// ChildKey is the key of a record that belongs to an API.
func ChildKey(apiID, id string) string { return apiID + "/" + id }

// ApiPrefix is the key prefix of every record of an API.
func ApiPrefix(apiID string) string { return apiID + "/" }

// ModelURL is how a schema names another model of its API in $ref, as on
// AWS.
func ModelURL(apiID, name string) string {
	return "https://apigateway.amazonaws.com/restapis/" + apiID + "/models/" + name
}

// ExpandPolicy rewrites API Gateway's resource policy shorthand
// "execute-api:/{stage}/{METHOD}/{path}" into the full ARN
// "arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}",
// as AWS does when it stores a REST API's policy.
func ExpandPolicy(policy, region, account, apiID string) string {
	return strings.ReplaceAll(policy, `"execute-api:/`, `"arn:aws:execute-api:`+region+":"+account+":"+apiID+"/")
}

// AuthorizerFlush is a KindAuthorizerFlush record.
type AuthorizerFlush struct {
	At int64 `json:"at"` // Unix nanoseconds
}
