package model

// Documentation parts and versions of an API.
const (
	KindDocumentationPart    = "docpart"    // key: apiID/partID
	KindDocumentationVersion = "docversion" // key: apiID/version
)

// DocumentationPartLocation names the API entity a documentation part
// describes. Path, Method and StatusCode hold their defaults ("/", "*",
// "*") for the types that have them, as AWS returns them.
type DocumentationPartLocation struct {
	Type       string `json:"type"`
	Path       string `json:"path,omitempty"`
	Method     string `json:"method,omitempty"`
	StatusCode string `json:"statusCode,omitempty"`
	Name       string `json:"name,omitempty"`
}

// DocumentationPart is one piece of an API's documentation: a JSON object
// (Properties, as a string) at a location.
type DocumentationPart struct {
	ID         string                    `json:"id"`
	Location   DocumentationPartLocation `json:"location"`
	Properties string                    `json:"properties"`
}

// DocumentationVersion is a published snapshot of an API's documentation
// parts.
type DocumentationVersion struct {
	Version     string `json:"version"`
	CreatedDate int64  `json:"createdDate"`
	Description string `json:"description,omitempty"`
}

// DocumentationVersionRecord is a version as stored: the parts as they were
// when it was created.
type DocumentationVersionRecord struct {
	DocumentationVersion
	Parts []DocumentationPart `json:"parts"`
}
