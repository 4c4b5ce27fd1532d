package integration

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/apigw/apigw/internal/model"
)

// sourceKind says where a mapped value comes from.
type sourceKind uint8

const (
	srcLiteral sourceKind = iota
	srcPath
	srcQuery
	srcMultiQuery
	srcHeader
	srcMultiHeader
	srcStageVar
	srcContext
	srcIntegrationHeader      // integration.response.header.X (responses only)
	srcIntegrationMultiHeader // integration.response.multivalueheader.X
)

// source is a compiled mapping expression's right-hand side.
type source struct {
	kind sourceKind
	name string // parameter name, or the literal's value
}

type sourcePrefix struct {
	prefix string
	kind   sourceKind
}

var requestSources = []sourcePrefix{
	{"method.request.path.", srcPath},
	{"method.request.querystring.", srcQuery},
	{"method.request.multivaluequerystring.", srcMultiQuery},
	{"method.request.header.", srcHeader},
	{"method.request.multivalueheader.", srcMultiHeader},
	{"stageVariables.", srcStageVar},
	{"context.", srcContext},
}

var responseSources = append(append([]sourcePrefix{}, requestSources...),
	sourcePrefix{"integration.response.header.", srcIntegrationHeader},
	sourcePrefix{"integration.response.multivalueheader.", srcIntegrationMultiHeader},
)

// parseSource compiles a mapping expression: 'literal', method.request.*,
// stageVariables.*, context.*, and, when response is set,
// integration.response.header.* and integration.response.multivalueheader.*.
func parseSource(expr string, response bool) (source, error) {
	if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' {
		return source{srcLiteral, expr[1 : len(expr)-1]}, nil
	}
	prefixes := requestSources
	if response {
		prefixes = responseSources
	}
	for _, p := range prefixes {
		if name, ok := strings.CutPrefix(expr, p.prefix); ok && name != "" {
			return source{p.kind, name}, nil
		}
	}
	return source{}, fmt.Errorf("unsupported mapping expression %q", expr)
}

// values evaluates s for a call; resp is the backend's response header when
// mapping a response.
func (s source) values(c *Call, resp map[string][]string) []string {
	switch s.kind {
	case srcLiteral:
		return []string{s.name}
	case srcPath:
		if v, ok := c.Params.Get(s.name); ok {
			return []string{v}
		}
	case srcQuery:
		if vs := c.queryValues(s.name); len(vs) > 0 {
			return []string{lastValue(vs)}
		}
	case srcMultiQuery:
		return c.queryValues(s.name)
	case srcHeader:
		if vs := c.headerValues(s.name); len(vs) > 0 {
			return []string{lastValue(vs)}
		}
	case srcMultiHeader:
		return c.headerValues(s.name)
	case srcStageVar:
		if v, ok := c.StageVars[s.name]; ok {
			return []string{v}
		}
	case srcContext:
		if v := c.ContextValue(s.name); v != "" {
			return []string{v}
		}
	case srcIntegrationHeader:
		if vs := headerValues(resp, s.name); len(vs) > 0 {
			return []string{lastValue(vs)}
		}
	case srcIntegrationMultiHeader:
		return headerValues(resp, s.name)
	}
	return nil
}

func headerValues(h map[string][]string, name string) []string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// targetKind says where a mapped value goes in the integration request.
type targetKind uint8

const (
	dstPath targetKind = iota
	dstQuery
	dstMultiQuery
	dstHeader
	dstMultiHeader
)

// mapping is one compiled integration.request.* = source entry.
type mapping struct {
	dst    targetKind
	name   string
	header string // the canonical name, for header targets
	src    source
}

func parseRequestMappings(m map[string]string) ([]mapping, error) {
	out := make([]mapping, 0, len(m))
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, "integration.request.")
		if !ok {
			return nil, fmt.Errorf("invalid mapping target %q", k)
		}
		loc, name, _ := strings.Cut(rest, ".")
		if name == "" {
			return nil, fmt.Errorf("invalid mapping target %q", k)
		}
		var dst targetKind
		switch loc {
		case "path":
			dst = dstPath
		case "querystring":
			dst = dstQuery
		case "multivaluequerystring":
			dst = dstMultiQuery
		case "header":
			dst = dstHeader
		case "multivalueheader":
			dst = dstMultiHeader
		default:
			return nil, fmt.Errorf("invalid mapping target %q", k)
		}
		src, err := parseSource(v, false)
		if err != nil {
			return nil, err
		}
		out = append(out, mapping{dst, name, http.CanonicalHeaderKey(name), src})
	}
	return out, nil
}

// RequestSource is a compiled mapping expression over the client's request
// alone ('literal', method.request.*, stageVariables.*, context.*), as
// gateway responses map them to headers.
type RequestSource struct{ s source }

// ParseRequestSource compiles expr.
func ParseRequestSource(expr string) (RequestSource, error) {
	s, err := parseSource(expr, false)
	return RequestSource{s}, err
}

// Values evaluates the expression for c; nil when it names nothing.
func (r RequestSource) Values(c *Call) []string { return r.s.values(c, nil) }

// CheckRequestMappings reports the first entry of an integration's
// requestParameters that Compile would refuse, by its right-hand side (or
// its key when the target is what is wrong), so that the management API
// refuses it when it is written, with the parser the data plane uses.
func CheckRequestMappings(m map[string]string) (bad string, ok bool) {
	for _, k := range sortedKeys(m) {
		if _, err := parseRequestMappings(map[string]string{k: m[k]}); err != nil {
			if _, serr := parseSource(m[k], false); serr != nil {
				return m[k], false
			}
			return k, false
		}
	}
	return "", true
}

// CheckResponseMappings is CheckRequestMappings for an integration
// response's responseParameters (method.response.header.* targets).
func CheckResponseMappings(m map[string]string) (bad string, ok bool) {
	for _, k := range sortedKeys(m) {
		if _, err := compileResponse(&model.IntegrationResponse{StatusCode: "200", ResponseParameters: map[string]string{k: m[k]}}); err != nil {
			if _, serr := parseSource(m[k], true); serr != nil {
				return m[k], false
			}
			return k, false
		}
	}
	return "", true
}
