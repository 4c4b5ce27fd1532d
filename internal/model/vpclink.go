package model

// KindVpcLink holds the VPC links integrations with connectionType
// VPC_LINK reach their backends through.
const KindVpcLink = "vpclink" // key: the link's id

// VPC link statuses, as AWS names them.
const (
	VpcLinkPending   = "PENDING"
	VpcLinkAvailable = "AVAILABLE"
	VpcLinkFailed    = "FAILED"
)

// VpcLink is API Gateway's VpcLink resource. On AWS it names network load
// balancers in a VPC; apigw maps each target ARN to an address given at
// start (apigw serve --vpc-link-target {arn}=host:port).
type VpcLink struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	TargetArns    []string          `json:"targetArns"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"statusMessage,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
}
