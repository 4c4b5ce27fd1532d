package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/model"
)

// lambdaTarget is an AWS_PROXY integration's function and what invoking it
// needs.
type lambdaTarget struct {
	fn       *FunctionURI
	invoker  lambda.Invoker
	region   string
	account  string
	binary   []string
	withRole bool // the integration has credentials: the call is made as that role
}

// lambdaURIRE is the URI of a Lambda integration:
// arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations.
var lambdaURIRE = regexp.MustCompile(`^arn:[^:/]+:apigateway:[^:/]*:lambda:path/2015-03-31/functions/(.+)/invocations$`)

// compileLambda parses an AWS_PROXY integration. Its URI must name a Lambda
// function, and its integration method must be POST (AWS answers 500 when
// it is not).
func compileLambda(in *model.Integration, opts Options) (*lambdaTarget, error) {
	fn, err := ParseFunctionURI(in.URI)
	if err != nil {
		return nil, fmt.Errorf("%s integration: %w", in.Type, err)
	}
	if in.HTTPMethod != http.MethodPost {
		return nil, fmt.Errorf("%s integrations with Lambda must use the POST integration method, not %q", in.Type, in.HTTPMethod)
	}
	return &lambdaTarget{
		fn:       fn,
		invoker:  opts.Lambda,
		region:   opts.Region,
		account:  opts.AccountID,
		binary:   opts.BinaryMediaTypes,
		withRole: in.Credentials != "",
	}, nil
}

// functionName renders the function ARN with the call's stage variables.
func (t *lambdaTarget) functionName(vars map[string]string) (string, error) {
	return t.fn.ARN(vars)
}

func (t *lambdaTarget) isBinary(contentType string) bool {
	return mediaTypeMatches(contentType, t.binary)
}

// sourceARN is the method ARN API Gateway invokes a function as:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path},
// the path being the decoded request path below the stage, without a
// trailing slash (the permissions SAM generates replace path parameters by
// "*" and drop trailing slashes, which "APIGW removes").
func (t *lambdaTarget) sourceARN(c *Call) string {
	method := c.HTTPMethod
	if method == "" {
		method = c.HTTPMethod
	}
	p := c.Path
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	if len(p) > 1 {
		if p = strings.TrimRight(p, "/"); p == "" {
			p = "/"
		}
	}
	return "arn:aws:execute-api:" + t.region + ":" + t.account + ":" + c.APIID + "/" + c.Stage + "/" + method + p
}

// Gateway answers of a Lambda proxy integration. AWS: "If the Lambda API
// rejects the invocation request, API Gateway returns a 500 error code. If
// the function runs but returns an error, or returns a response in the
// wrong format, API Gateway returns a 502."
func lambdaRejected(typ fault.Type, cause error) *fault.Error {
	return &fault.Error{Type: typ, Status: 500, ErrorType: "InternalServerErrorException", Message: "Internal server error", Cause: cause}
}

func malformedResponse(cause error) *fault.Error {
	return &fault.Error{Type: fault.APIConfigurationError, Status: 502, ErrorType: "InternalServerErrorException", Message: "Internal server error",
		Cause: fmt.Errorf("malformed Lambda proxy response: %w", cause)}
}

// request builds the proxy event and the invocation.
func (t *lambdaTarget) request(ig *Integration, c *Call, x *Exchange) error {
	if t.invoker == nil {
		return fault.ConfigurationError(errors.New("no Lambda service for AWS_PROXY integrations"))
	}
	fnName, err := t.functionName(c.StageVars)
	if err != nil {
		return fault.ConfigurationError(err)
	}
	payload, err := ig.buildEvent(c, time.Now())
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return fe
		}
		return fault.IntegrationFailureErr(err)
	}
	x.invoke = t.invocation(c, fnName, payload)
	return nil
}

// invocation is the Invoke call of the function with the event payload.
func (t *lambdaTarget) invocation(c *Call, fnName string, payload []byte) *lambda.InvokeRequest {
	req := &lambda.InvokeRequest{
		FunctionName:   fnName,
		Payload:        payload,
		InvocationType: "RequestResponse",
	}
	if !t.withRole {
		// Without credentials, API Gateway calls the function as its
		// service principal, allowed by the function's resource policy.
		req.Principal = "apigateway.amazonaws.com"
		req.SourceARN = t.sourceARN(c)
		req.SourceAccount = t.account
	}
	return req
}

// call invokes the function, within the integration timeout.
func (t *lambdaTarget) call(ctx context.Context, ig *Integration, c *Call, x *Exchange) error {
	callCtx, cancel := context.WithTimeout(ctx, ig.timeout)
	defer cancel()
	res, err := t.invoker.Invoke(callCtx, x.invoke)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return fault.IntegrationFailureErr(ctx.Err())
		case callCtx.Err() != nil:
			return fault.ErrIntegrationTimeout
		}
		var le *lambda.Error
		if errors.As(err, &le) {
			if le.Status == http.StatusTooManyRequests || le.Status >= 500 || le.Type == "TooManyRequestsException" {
				return lambdaRejected(fault.IntegrationFailure, err)
			}
			// Missing permission, unknown function, invalid request.
			return lambdaRejected(fault.APIConfigurationError, err)
		}
		return lambdaRejected(fault.IntegrationFailure, err)
	}
	if callCtx.Err() != nil && ctx.Err() == nil {
		return fault.ErrIntegrationTimeout
	}
	if res == nil {
		return lambdaRejected(fault.IntegrationFailure, errors.New("the Lambda service returned no result"))
	}
	x.lambda = res
	return nil
}

// respond reads the function's answer in the proxy format: an error, or a
// malformed answer, is a 502.
func (t *lambdaTarget) respond(ig *Integration, c *Call, x *Exchange, out *Response) error {
	res := x.lambda
	if res.FunctionError != "" {
		return &fault.Error{Type: fault.IntegrationFailure, Status: 502, ErrorType: "InternalServerErrorException", Message: "Internal server error",
			Cause: fmt.Errorf("function error (%s): %s", res.FunctionError, truncate(res.Payload, 1024))}
	}
	resp, err := parseProxyResponse(res.Payload)
	if err != nil {
		return malformedResponse(err)
	}
	if resp.base64 && t.acceptsBinary(c) {
		dec, err := base64.StdEncoding.DecodeString(string(resp.body))
		if err != nil {
			return malformedResponse(fmt.Errorf("isBase64Encoded body: %w", err))
		}
		resp.body = dec
	}
	resp.fill(out)
	return nil
}

// acceptsBinary reports whether a base64 answer is decoded for the client:
// AWS uses the first media type of the Accept header, which must match one
// of the API's binary media types.
func (t *lambdaTarget) acceptsBinary(c *Call) bool {
	accept := c.Header.Get("Accept")
	first, _, _ := strings.Cut(accept, ",")
	return t.isBinary(first)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// proxyResponse is a function's answer in the Lambda proxy format.
type proxyResponse struct {
	status int
	header http.Header // canonical names
	body   []byte
	base64 bool
}

// The keys a proxy answer may have; any other makes it malformed.
var proxyResponseKeys = map[string]bool{"statusCode": true, "headers": true, "multiValueHeaders": true, "body": true, "isBase64Encoded": true}

// parseProxyResponse reads a function's answer: a JSON object with at most
// statusCode (a number or a numeric string; 200 when absent), headers
// (name to a string, number or boolean), multiValueHeaders (name to a list
// of them), body (a string) and isBase64Encoded (a boolean). Anything else
// is malformed. A name in multiValueHeaders replaces the same name in
// headers, as AWS merges them.
func parseProxyResponse(payload []byte) (*proxyResponse, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || payload[0] != '{' {
		return nil, errors.New("the answer is not a JSON object")
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	for k := range doc {
		if !proxyResponseKeys[k] {
			return nil, fmt.Errorf("unexpected key %q", k)
		}
	}
	r := &proxyResponse{status: 200, header: http.Header{}}
	if raw, ok := doc["statusCode"]; ok && !isNull(raw) {
		n, err := parseStatus(raw)
		if err != nil {
			return nil, err
		}
		r.status = n
	}
	if raw, ok := doc["body"]; ok && !isNull(raw) {
		s, err := scalarString(raw)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		r.body = []byte(s)
	}
	if raw, ok := doc["isBase64Encoded"]; ok && !isNull(raw) {
		var b bool
		var s string
		switch {
		case json.Unmarshal(raw, &b) == nil:
		case json.Unmarshal(raw, &s) == nil && (s == "true" || s == "false"):
			b = s == "true"
		default:
			return nil, fmt.Errorf("isBase64Encoded is not a boolean: %s", raw)
		}
		r.base64 = b
	}
	single := map[string]string{}
	if raw, ok := doc["headers"]; ok && !isNull(raw) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("headers is not an object: %w", err)
		}
		for k, v := range m {
			if isNull(v) {
				continue
			}
			s, err := scalarString(v)
			if err != nil {
				return nil, fmt.Errorf("header %q: %w", k, err)
			}
			single[k] = s
		}
	}
	multi := map[string][]string{}
	if raw, ok := doc["multiValueHeaders"]; ok && !isNull(raw) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("multiValueHeaders is not an object: %w", err)
		}
		for k, v := range m {
			if isNull(v) {
				continue
			}
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, fmt.Errorf("multiValueHeaders %q is not a list", k)
			}
			vals := []string{}
			for _, e := range list {
				if isNull(e) {
					continue
				}
				s, err := scalarString(e)
				if err != nil {
					return nil, fmt.Errorf("multiValueHeaders %q: %w", k, err)
				}
				vals = append(vals, s)
			}
			multi[k] = vals
		}
	}
	for _, k := range sortedKeys(multi) {
		if !validHeaderName(k) {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		r.header[ck] = append(r.header[ck], multi[k]...)
	}
	for _, k := range sortedKeys(single) {
		ck := http.CanonicalHeaderKey(k)
		if _, ok := multiHas(multi, ck); ok || !validHeaderName(k) {
			continue
		}
		r.header[ck] = append(r.header[ck], single[k])
	}
	for k, vs := range r.header {
		if len(vs) == 0 {
			delete(r.header, k)
		}
	}
	return r, nil
}

func multiHas(multi map[string][]string, canonical string) (string, bool) {
	for k := range multi {
		if http.CanonicalHeaderKey(k) == canonical {
			return k, true
		}
	}
	return "", false
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// parseStatus accepts an integer or a string holding one (AWS answers
// {"statusCode": "201"} with 201), in the range a response can have.
func parseStatus(raw json.RawMessage) (int, error) {
	var n int
	var num json.Number
	var s string
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	switch {
	case dec.Decode(&num) == nil:
		f, err := num.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e6 {
			return 0, fmt.Errorf("statusCode %s is not an integer", raw)
		}
		n = int(f)
	case json.Unmarshal(raw, &s) == nil:
		v, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("statusCode %q is not an integer", s)
		}
		n = v
	default:
		return 0, fmt.Errorf("statusCode %s is not an integer", raw)
	}
	// A final response cannot have a 1xx status.
	if n < 200 || n > 599 {
		return 0, fmt.Errorf("statusCode %d is out of range", n)
	}
	return n, nil
}

// scalarString reads a string, or a number or boolean as its text (AWS's
// JSON reader coerces scalars); objects and lists are refused.
func scalarString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("empty value")
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", err
		}
		return strconv.FormatBool(b), nil
	case '{', '[', 'n':
		return "", fmt.Errorf("%s is not a string", raw)
	}
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&num); err != nil {
		return "", err
	}
	return num.String(), nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// What happens to a function's response headers (the "lambda" response
// column of AWS's header table in "Amazon API Gateway important notes for
// REST APIs"): remapped ones reach the client as X-Amzn-Remapped-{name},
// dropped ones not at all. The headers the gateway sets itself (request id,
// trace id, Date, Server) are remapped too.
var (
	lambdaRemappedHeaders = map[string]bool{
		"Authorization": true, "Connection": true, "Content-Md5": true, "Date": true,
		"Max-Forwards": true, "Server": true, "User-Agent": true, "Www-Authenticate": true,
		"X-Amzn-Requestid": true, "X-Amz-Apigw-Id": true, "X-Amzn-Trace-Id": true,
	}
	lambdaDroppedHeaders = map[string]bool{
		"Expect": true, "Host": true, "Proxy-Authenticate": true, "Te": true, "Transfer-Encoding": true,
		"Trailer": true, "Upgrade": true, "Via": true, "Keep-Alive": true, "Proxy-Connection": true,
	}
)

// fill puts the answer in out. Content-Type defaults to application/json, as
// AWS's does; Content-Length is always the body's (a function's different
// value is remapped).
func (r *proxyResponse) fill(out *Response) {
	h := out.Header
	for k, vs := range r.header {
		switch {
		case lambdaDroppedHeaders[k]:
		case lambdaRemappedHeaders[k]:
			h["X-Amzn-Remapped-"+k] = vs
		case k == "Content-Length":
			if len(vs) != 1 || vs[0] != strconv.Itoa(len(r.body)) {
				h["X-Amzn-Remapped-Content-Length"] = vs
			}
		default:
			h[k] = vs
		}
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = []string{"application/json"}
	}
	if r.status != http.StatusNoContent && r.status != http.StatusNotModified {
		h["Content-Length"] = []string{strconv.Itoa(len(r.body))}
	} else {
		delete(h, "Content-Length")
	}
	out.Status = r.status
	if len(r.body) > 0 {
		out.Body = bytes.NewReader(r.body)
	}
}
