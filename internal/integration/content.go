package integration

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/apigw/apigw/internal/fault"
)

// contentHandling is an integration's or integration response's
// contentHandling: how a payload is converted between text and binary.
type contentHandling uint8

const (
	passContent     contentHandling = iota // unset: decided by the media types
	convertToText                          // CONVERT_TO_TEXT
	convertToBinary                        // CONVERT_TO_BINARY
)

func parseContentHandling(s string) contentHandling {
	switch s {
	case "CONVERT_TO_TEXT":
		return convertToText
	case "CONVERT_TO_BINARY":
		return convertToBinary
	}
	return passContent
}

var errBase64 = errors.New("unable to base64-decode the payload")

// requestConversion is what the integration request does to the client's
// body, by AWS's table (api-gateway-payload-encodings-workflow): a binary
// payload (its Content-Type is one of the API's binaryMediaTypes) is
// base64-encoded by CONVERT_TO_TEXT and otherwise passes through untouched,
// templates aside; a text payload is base64-decoded by CONVERT_TO_BINARY
// (after its template).
type requestConversion struct {
	binary  bool // the payload is binary and passes through as it is
	encode  bool // base64-encode the client's body before the template
	decode  bool // base64-decode the (rendered) body
	convert bool // any of these
}

func (ig *Integration) requestConversion(c *Call) requestConversion {
	if ig.contentHandling == passContent && len(ig.binaryTypes) == 0 {
		return requestConversion{}
	}
	bin := mediaTypeMatches(c.Header.Get("Content-Type"), ig.binaryTypes)
	var rc requestConversion
	switch {
	case bin && ig.contentHandling == convertToText:
		rc.encode = true
	case bin:
		rc.binary = true
	case ig.contentHandling == convertToBinary:
		rc.decode = true
	}
	rc.convert = rc.binary || rc.encode || rc.decode
	return rc
}

// responseConversion says what the integration response does to the
// endpoint's body: encode (binary to base64 text), decode (base64 text to
// binary), or neither. A binary result is not given to a template.
func (ig *Integration) responseConversion(r *response, c *Call, backendType string) (encode, decode, binary bool) {
	if r.contentHandling == passContent && len(ig.binaryTypes) == 0 {
		return false, false, false
	}
	payloadBinary := mediaTypeMatches(backendType, ig.binaryTypes)
	first, _, _ := strings.Cut(c.Header.Get("Accept"), ",")
	acceptBinary := mediaTypeMatches(first, ig.binaryTypes)
	toText := r.contentHandling == convertToText || r.contentHandling == passContent && !acceptBinary
	if payloadBinary {
		return toText, false, !toText
	}
	return false, !toText, !toText
}

func base64Encode(b []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out
}

func base64Decode(b []byte) ([]byte, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		return nil, fault.ConfigurationError(errBase64)
	}
	return out[:n], nil
}
