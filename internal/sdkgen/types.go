package sdkgen

// Type is an SDK type as GetSdkType(s) answers it.
type Type struct {
	ID                      string     `json:"id"`
	FriendlyName            string     `json:"friendlyName"`
	Description             string     `json:"description"`
	ConfigurationProperties []Property `json:"configurationProperties"`
	// Generated says apigw generates SDKs of this type.
	Generated bool `json:"-"`
}

// Property is a configuration property of an SDK type: a key of GetSdk's
// parameters.
type Property struct {
	Name         string `json:"name"`
	FriendlyName string `json:"friendlyName"`
	Description  string `json:"description"`
	Required     bool   `json:"required"`
	DefaultValue string `json:"defaultValue,omitempty"`
}

// Types are the SDK types AWS lists, by id, with the configuration
// properties its console and CLI take. Only javascript is generated here.
var Types = []Type{
	{ID: "android", FriendlyName: "Android", Description: "Java SDK for Android apps", ConfigurationProperties: []Property{
		{Name: "groupId", FriendlyName: "Group ID", Description: "The groupId of the generated Maven project", Required: true},
		{Name: "invokerPackage", FriendlyName: "Invoker package", Description: "The Java package of the generated client", Required: true},
		{Name: "artifactId", FriendlyName: "Artifact ID", Description: "The artifactId of the generated Maven project", Required: true},
		{Name: "artifactVersion", FriendlyName: "Artifact version", Description: "The version of the generated Maven project", Required: true},
	}},
	{ID: "java", FriendlyName: "Java", Description: "Java SDK", ConfigurationProperties: []Property{
		{Name: "service.name", FriendlyName: "Service Name", Description: "The name of the SDK's client class", Required: true},
		{Name: "java.package-name", FriendlyName: "Java Package Name", Description: "The package of the SDK's classes", Required: true},
		{Name: "java.build-system", FriendlyName: "Java Build System", Description: "maven or gradle", DefaultValue: "maven"},
		{Name: "java.group-id", FriendlyName: "Java Group Id", Description: "The groupId of the SDK project"},
		{Name: "java.artifact-id", FriendlyName: "Java Artifact Id", Description: "The artifactId of the SDK project"},
		{Name: "java.artifact-version", FriendlyName: "Java Artifact Version", Description: "The version of the SDK project", DefaultValue: "1.0.0"},
		{Name: "java.license-text", FriendlyName: "Source Code License Text", Description: "The license text of the source code"},
	}},
	{ID: "javascript", FriendlyName: "JavaScript", Description: "JavaScript SDK for browsers and node", ConfigurationProperties: []Property{}, Generated: true},
	{ID: "objectivec", FriendlyName: "iOS (Objective-C)", Description: "Objective-C SDK for iOS apps", ConfigurationProperties: []Property{
		{Name: "classPrefix", FriendlyName: "Prefix", Description: "The prefix of the generated classes' names", Required: true},
	}},
	{ID: "ruby", FriendlyName: "Ruby", Description: "Ruby SDK", ConfigurationProperties: []Property{
		{Name: "service.name", FriendlyName: "Service Name", Description: "The Ruby module of the generated client", Required: true},
		{Name: "ruby.gem-name", FriendlyName: "Ruby Gem Name", Description: "The name of the gem"},
		{Name: "ruby.gem-version", FriendlyName: "Ruby Gem Version", Description: "The version of the gem", DefaultValue: "1.0.0"},
	}},
	{ID: "swift", FriendlyName: "iOS (Swift)", Description: "Swift SDK for iOS apps", ConfigurationProperties: []Property{
		{Name: "classPrefix", FriendlyName: "Prefix", Description: "The prefix of the generated classes' names", Required: true},
	}},
}

// Lookup returns the SDK type of id, or nil.
func Lookup(id string) *Type {
	for i := range Types {
		if Types[i].ID == id {
			return &Types[i]
		}
	}
	return nil
}
