package model

// Record kinds in the store, and how their keys are built. The data plane
// reads the same records the management API writes.
const (
	KindRestApi    = "restapi"    // key: apiID
	KindResource   = "resource"   // key: apiID/resourceID
	KindDeployment = "deployment" // key: apiID/deploymentID
	KindSnapshot   = "snapshot"   // key: apiID/deploymentID
	KindStage      = "stage"      // key: apiID/stageName
	KindMeta       = "meta"       // key: a setting's name
)

// ChildKey is the key of a record that belongs to an API.
func ChildKey(apiID, id string) string { return apiID + "/" + id }

// ApiPrefix is the key prefix of every record of an API.
func ApiPrefix(apiID string) string { return apiID + "/" }
