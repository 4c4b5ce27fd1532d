package model

// KindClientCertificate holds the client certificates stages present to
// their HTTPS backends.
const KindClientCertificate = "clientcertificate" // key: clientCertificateID

// ClientCertificate is API Gateway's ClientCertificate resource, as the
// management API answers it.
type ClientCertificate struct {
	ClientCertificateID   string            `json:"clientCertificateId"`
	Description           string            `json:"description,omitempty"`
	PemEncodedCertificate string            `json:"pemEncodedCertificate"`
	CreatedDate           int64             `json:"createdDate"`
	ExpirationDate        int64             `json:"expirationDate"`
	Tags                  map[string]string `json:"tags,omitempty"`
}

// ClientCertificateRecord is what the store keeps: the resource and its
// private key (PKCS #8), sealed with the master key under the AAD
// ClientCertificateAAD(id). The key never leaves apigw.
type ClientCertificateRecord struct {
	ClientCertificate
	SealedPrivateKey []byte `json:"sealedPrivateKey"`
}

// ClientCertificateAAD names a client certificate's key when it is sealed.
func ClientCertificateAAD(id string) string { return KindClientCertificate + "/" + id }
