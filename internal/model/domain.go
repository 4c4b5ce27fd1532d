package model

import "strings"

// Kinds of the internet edge: imported certificates (the ACM API), custom
// domain names and their base path mappings.
const (
	KindCertificate     = "acmcertificate"  // key: certificate id (the ARN's last part)
	KindDomainName      = "domainname"      // key: the domain name, lower case
	KindBasePathMapping = "basepathmapping" // key: domainName/basePath ("(none)" for the empty one)
	KindTruststore      = "truststore"      // key: the domain name, lower case
	// KindDomainAccess is a private domain's access associations; key:
	// the domain's key ({name}+{id}), "/", the VPC endpoint id.
	KindDomainAccess = "domainaccessassociation"
)

// CertificateRecord is an ACM certificate as the store keeps it: the PEM
// certificate and chain as imported, what DescribeCertificate reports of
// them, and the private key (PKCS #8) sealed under CertificateAAD(id).
type CertificateRecord struct {
	ID                      string            `json:"id"`
	Arn                     string            `json:"arn"`
	DomainName              string            `json:"domainName"`
	SubjectAlternativeNames []string          `json:"subjectAlternativeNames,omitempty"`
	Serial                  string            `json:"serial"`
	Subject                 string            `json:"subject"`
	Issuer                  string            `json:"issuer"`
	NotBefore               int64             `json:"notBefore"`
	NotAfter                int64             `json:"notAfter"`
	KeyAlgorithm            string            `json:"keyAlgorithm"`
	SignatureAlgorithm      string            `json:"signatureAlgorithm"`
	KeyUsages               []string          `json:"keyUsages,omitempty"`
	ExtendedKeyUsages       []string          `json:"extendedKeyUsages,omitempty"`
	CreatedAt               int64             `json:"createdAt"`
	ImportedAt              int64             `json:"importedAt"`
	Certificate             string            `json:"certificate"`
	CertificateChain        string            `json:"certificateChain,omitempty"`
	Tags                    map[string]string `json:"tags,omitempty"`
	SealedPrivateKey        []byte            `json:"sealedPrivateKey"`
	// The rest is for certificates RequestCertificate asks for (Type
	// AMAZON_ISSUED); an imported certificate leaves it empty.
	ACME *ACMEState `json:"acme,omitempty"`
}

// CertificateAAD names a certificate's key when it is sealed.
func CertificateAAD(id string) string { return KindCertificate + "/" + id }

// CertificateIDFromArn is the store key of an ACM certificate ARN
// (arn:aws:acm:{region}:{account}:certificate/{id}), or "".
func CertificateIDFromArn(arn string) string {
	if !strings.HasPrefix(arn, "arn:aws:acm:") {
		return ""
	}
	_, id, ok := strings.Cut(arn, ":certificate/")
	if !ok || id == "" || strings.ContainsAny(id, "/:") {
		return ""
	}
	return id
}

// DomainName is API Gateway's DomainName resource, with AWS's wire names.
type DomainName struct {
	DomainName                          string                 `json:"domainName"`
	DomainNameID                        string                 `json:"domainNameId,omitempty"`
	DomainNameArn                       string                 `json:"domainNameArn,omitempty"`
	CertificateName                     string                 `json:"certificateName,omitempty"`
	CertificateArn                      string                 `json:"certificateArn,omitempty"`
	CertificateUploadDate               int64                  `json:"certificateUploadDate,omitempty"`
	RegionalDomainName                  string                 `json:"regionalDomainName,omitempty"`
	RegionalHostedZoneID                string                 `json:"regionalHostedZoneId,omitempty"`
	RegionalCertificateName             string                 `json:"regionalCertificateName,omitempty"`
	RegionalCertificateArn              string                 `json:"regionalCertificateArn,omitempty"`
	DistributionDomainName              string                 `json:"distributionDomainName,omitempty"`
	DistributionHostedZoneID            string                 `json:"distributionHostedZoneId,omitempty"`
	EndpointConfiguration               *EndpointConfiguration `json:"endpointConfiguration,omitempty"`
	DomainNameStatus                    string                 `json:"domainNameStatus,omitempty"`
	DomainNameStatusMessage             string                 `json:"domainNameStatusMessage,omitempty"`
	SecurityPolicy                      string                 `json:"securityPolicy,omitempty"`
	EndpointAccessMode                  string                 `json:"endpointAccessMode,omitempty"`
	Tags                                map[string]string      `json:"tags,omitempty"`
	OwnershipVerificationCertificateArn string                 `json:"ownershipVerificationCertificateArn,omitempty"`
	RoutingMode                         string                 `json:"routingMode,omitempty"`
	MutualTLSAuthentication             *MutualTLS             `json:"mutualTlsAuthentication,omitempty"`
	// Policy is a PRIVATE domain's resource policy (execute-api:Invoke on
	// the domain's ARN), as given.
	Policy string `json:"policy,omitempty"`
}

// Private reports whether the domain is a PRIVATE one (reached through
// VPC endpoints with an access association).
func (d *DomainName) Private() bool {
	return d.EndpointConfiguration != nil && len(d.EndpointConfiguration.Types) == 1 && d.EndpointConfiguration.Types[0] == "PRIVATE"
}

// Key is the domain's store key: its name, and for a private domain (which
// may share its name with a public one, as on AWS) "+" and its id.
func (d *DomainName) Key() string {
	if d.DomainNameID != "" {
		return d.DomainName + "+" + d.DomainNameID
	}
	return d.DomainName
}

// DomainAccessAssociation is API Gateway's DomainNameAccessAssociation: a
// VPC endpoint allowed to reach a private custom domain name.
type DomainAccessAssociation struct {
	Arn           string            `json:"domainNameAccessAssociationArn"`
	DomainNameArn string            `json:"domainNameArn"`
	SourceType    string            `json:"accessAssociationSourceType"`
	Source        string            `json:"accessAssociationSource"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// MutualTLS is a domain's mutualTlsAuthentication: where its truststore
// was read from, and what was wrong with certificates in it.
type MutualTLS struct {
	TruststoreURI      string   `json:"truststoreUri,omitempty"`
	TruststoreVersion  string   `json:"truststoreVersion,omitempty"`
	TruststoreWarnings []string `json:"truststoreWarnings,omitempty"`
}

// Truststore is a mutual-TLS domain's truststore as it was read when the
// domain was created or updated: the PEM bundle itself, so that every node
// serves the same one and none needs to reach the URI again (AWS, too,
// reads the S3 object once, when the domain names it).
type Truststore struct {
	URI     string `json:"uri"`
	Version string `json:"version,omitempty"`
	PEM     string `json:"pem"`
	ReadAt  int64  `json:"readAt"`
}

// ServedCertificateArn is the certificate the domain's endpoint serves:
// the regional one for a REGIONAL domain, the edge one otherwise.
func (d *DomainName) ServedCertificateArn() string {
	if d.RegionalCertificateArn != "" {
		return d.RegionalCertificateArn
	}
	return d.CertificateArn
}

// BasePathMapping is API Gateway's BasePathMapping resource, which the
// apigatewayv2 API shows as an ApiMapping. BasePath "(none)" is the empty
// base path, as AWS answers it; a multi-level one ("v1/orders") is made
// through apigatewayv2 only. ID is the ApiMapping's id (empty in records
// written before apigw kept one: see MappingID).
type BasePathMapping struct {
	BasePath  string `json:"basePath"`
	RestApiID string `json:"restApiId"`
	Stage     string `json:"stage,omitempty"`
	ID        string `json:"apiMappingId,omitempty"`
}

// MultiLevel reports whether the base path has more than one segment.
func (m *BasePathMapping) MultiLevel() bool { return strings.Contains(m.BasePath, "/") }

// NoBasePath is how AWS names the empty base path.
const NoBasePath = "(none)"

// BasePathKey is a mapping's store key.
func BasePathKey(domain, basePath string) string {
	if basePath == "" {
		basePath = NoBasePath
	}
	return domain + "/" + basePath
}
