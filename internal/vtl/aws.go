package vtl

import (
	"encoding/base64"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Request is what a mapping template reads about the request: $input,
// $context and $stageVariables. The gateway implements it.
type Request interface {
	// Body is the payload ($input.body).
	Body() []byte
	// Params lists the request's parameters of one kind, "path",
	// "querystring" or "header", in order ($input.params()).
	Params(kind string) []Param
	// ContextValue is $context.name: a string, or a map or an Object for
	// the nested variables (identity, authorizer, requestOverride...); ok
	// is false when name is unknown.
	ContextValue(name string) (Value, bool)
	// StageVariables lists the stage's variables ($stageVariables).
	StageVariables() []Param
}

// ParamFinder is a Request that finds one parameter by name without
// listing them all: $input.params(name) uses it when the Request has it.
type ParamFinder interface {
	// FindParam is the path parameter, else the query string
	// parameter, else the header (any case) of that name.
	FindParam(name string) (string, bool)
}

// Param is a named string value.
type Param struct{ Name, Value string }

// BodyError is a payload $input.path or $input.json could not read as
// JSON: API Gateway answers 400.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "Could not parse request body into json: " + e.Err.Error() }

func (e *BodyError) Unwrap() error { return e.Err }

// NewContext returns the variables API Gateway gives a mapping template
// for req: $input, $context, $stageVariables and $util. It is meant for
// one rendering (it caches the parsed body).
func NewContext(req Request) Context {
	return &awsContext{in: input{req: req}}
}

type awsContext struct {
	in     input
	stage  Value
	staged bool
}

func (c *awsContext) Lookup(name string) (Value, bool) {
	switch name {
	case "input":
		return ObjectValue(&c.in), true
	case "context":
		return ObjectValue((*contextObject)(&c.in)), true
	case "util":
		return UtilValue, true
	case "stageVariables":
		if !c.staged {
			c.staged = true
			vs := c.in.req.StageVariables()
			m := NewMap(len(vs))
			for _, p := range vs {
				m.Put(String(p.Name), String(p.Value))
			}
			c.stage = MapValue(m)
		}
		return c.stage, true
	}
	return Null, false
}

// input is $input.
type input struct {
	req    Request
	body   Value
	root   Value
	parsed bool
	perr   error
	params Value
}

func (in *input) bodyString() Value {
	if in.body.k == kNull {
		in.body = String(string(in.req.Body()))
	}
	return in.body
}

// json is the body as JSON, parsed once; an empty body is {}.
func (in *input) json() (Value, error) {
	if !in.parsed {
		in.parsed = true
		// The body is read and copied once, for $input.body too.
		s := in.bodyString().s
		if len(strings.TrimSpace(s)) == 0 {
			in.root = MapValue(NewMap(0))
		} else if in.root, in.perr = parseJSONString(s); in.perr != nil {
			in.perr = &BodyError{in.perr}
		}
	}
	return in.root, in.perr
}

func (in *input) Property(name string) (Value, bool) {
	if name == "body" {
		return in.bodyString(), true
	}
	return Null, false
}

func (in *input) Method(name string, args []Value) (Value, bool, error) {
	switch name {
	case "getBody":
		if len(args) == 0 {
			return in.bodyString(), true, nil
		}
	case "path", "json":
		if len(args) != 1 || args[0].k != kString {
			return Null, false, nil
		}
		jp, err := cachedPath(args[0].s)
		if err != nil {
			return Null, true, err
		}
		root, err := in.json()
		if err != nil {
			return Null, true, err
		}
		v, ok := jp.eval(root)
		if name == "path" {
			if !ok {
				return Null, true, nil
			}
			return v, true, nil
		}
		if !ok {
			return String(""), true, nil
		}
		return String(string(AppendJSON(nil, v))), true, nil
	case "params":
		switch {
		case len(args) == 0:
			if in.params.k == kNull {
				m := NewMap(3)
				for _, kind := range [...]string{"path", "querystring", "header"} {
					ps := in.req.Params(kind)
					pm := NewMap(len(ps))
					for _, p := range ps {
						pm.Put(String(p.Name), String(p.Value))
					}
					m.Put(String(kind), MapValue(pm))
				}
				in.params = MapValue(m)
			}
			return in.params, true, nil
		case len(args) == 1 && args[0].k == kString:
			if f, ok := in.req.(ParamFinder); ok {
				v, _ := f.FindParam(args[0].s)
				return String(v), true, nil
			}
			for _, kind := range [...]string{"path", "querystring", "header"} {
				for _, p := range in.req.Params(kind) {
					if p.Name == args[0].s || kind == "header" && strings.EqualFold(p.Name, args[0].s) {
						return String(p.Value), true, nil
					}
				}
			}
			return String(""), true, nil
		}
	}
	return Null, false, nil
}

func (in *input) AppendString(dst []byte) []byte { return append(dst, "$input"...) }

// contextObject is $context.
type contextObject input

func (c *contextObject) Property(name string) (Value, bool) { return c.req.ContextValue(name) }

func (c *contextObject) Method(name string, args []Value) (Value, bool, error) {
	if name == "get" && len(args) == 1 && args[0].k == kString {
		v, _ := c.req.ContextValue(args[0].s)
		return v, true, nil
	}
	return Null, false, nil
}

func (c *contextObject) AppendString(dst []byte) []byte { return append(dst, "$context"...) }

var paths sync.Map // string → *jsonPath

func cachedPath(src string) (*jsonPath, error) {
	if jp, ok := paths.Load(src); ok {
		return jp.(*jsonPath), nil
	}
	jp, err := compilePath(src)
	if err != nil {
		return nil, err
	}
	regexpMu.Lock()
	if regexpCount < 2048 {
		regexpCount++
		paths.Store(src, jp)
	}
	regexpMu.Unlock()
	return jp, nil
}

// UtilValue is $util: escapeJavaScript, parseJson, urlEncode, urlDecode,
// base64Encode, base64Decode, as API Gateway defines them.
var UtilValue = ObjectValue(util{})

type util struct{}

func (util) Property(string) (Value, bool) { return Null, false }

func (util) AppendString(dst []byte) []byte { return append(dst, "$util"...) }

func (util) Method(name string, args []Value) (Value, bool, error) {
	if len(args) != 1 || args[0].k != kString {
		return Null, false, nil
	}
	s := args[0].s
	switch name {
	case "escapeJavaScript":
		return String(EscapeJavaScript(s)), true, nil
	case "parseJson":
		v, err := ParseJSON([]byte(s))
		if err != nil {
			return Null, true, err
		}
		return v, true, nil
	case "urlEncode":
		return String(URLEncode(s)), true, nil
	case "urlDecode":
		d, err := URLDecode(s)
		if err != nil {
			return Null, true, err
		}
		return String(d), true, nil
	case "base64Encode":
		return String(base64.StdEncoding.EncodeToString([]byte(s))), true, nil
	case "base64Decode":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		}
		if err != nil {
			return Null, true, &javaException{"IllegalArgumentException", "Illegal base64 character"}
		}
		return String(strings.ToValidUTF8(string(b), "\uFFFD")), true, nil
	}
	return Null, false, nil
}

const upperHex = "0123456789ABCDEF"

// EscapeJavaScript escapes s with JavaScript string rules, as Apache
// Commons Lang's StringEscapeUtils.escapeJavaScript (which API Gateway's
// $util.escapeJavaScript is): quotes, backslash and slash escaped,
// control characters and non-ASCII as \uXXXX.
func EscapeJavaScript(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\' || c == '/' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			writeUnicode(&b, r1)
			writeUnicode(&b, r2)
			continue
		}
		switch {
		case r >= 0x7f:
			writeUnicode(&b, r)
		case r < 0x20:
			switch r {
			case '\b':
				b.WriteString(`\b`)
			case '\n':
				b.WriteString(`\n`)
			case '\t':
				b.WriteString(`\t`)
			case '\f':
				b.WriteString(`\f`)
			case '\r':
				b.WriteString(`\r`)
			default:
				writeUnicode(&b, r)
			}
		case r == '\'' || r == '"' || r == '\\' || r == '/':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeUnicode writes \uXXXX: Commons Lang writes 0x7f itself, which
// is below its threshold (0x7f < c), as a plain char.
func writeUnicode(b *strings.Builder, r rune) {
	if r == 0x7f {
		b.WriteRune(r)
		return
	}
	b.WriteString(`\u`)
	b.WriteByte(upperHex[r>>12&0xf])
	b.WriteByte(upperHex[r>>8&0xf])
	b.WriteByte(upperHex[r>>4&0xf])
	b.WriteByte(upperHex[r&0xf])
}

// URLEncode is java.net.URLEncoder.encode(s, "UTF-8"): letters, digits
// and .-*_ as they are, space as +, every other byte as %XX.
func URLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c) || isDigit(c) || c == '.' || c == '-' || c == '*' || c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0xf])
		}
	}
	return b.String()
}

// URLDecode is java.net.URLDecoder.decode(s, "UTF-8").
func URLDecode(s string) (string, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", &javaException{"IllegalArgumentException", "URLDecoder: Illegal hex characters in escape (%) pattern"}
			}
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			b = append(b, c)
		}
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
