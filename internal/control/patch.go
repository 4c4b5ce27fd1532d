package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// PatchOp is one entry of a PATCH request's patchOperations (RFC 6902 as
// API Gateway uses it: values are always strings, "/" in a path segment is
// written "~1" and "~" is written "~0").
type PatchOp struct {
	Op    string  `json:"op"`
	Path  string  `json:"path"`
	Value *string `json:"value,omitempty"`
	From  string  `json:"from,omitempty"`

	// Segs is Path split on "/" and unescaped.
	Segs []string `json:"-"`
}

// ParsePatch decodes a PATCH body and checks every operation's shape; what a
// path may name is checked by the resource that applies it.
// input names the operation's input in error texts ("updateRestApiInput").
func ParsePatch(body []byte, input string) ([]PatchOp, error) {
	return parsePatch(body, input)
}

// parsePatch is ParsePatch with more constraint violations of the request
// (a bad status code in the path, say), reported with the ops' own in one
// ValidationException as AWS does.
func parsePatch(body []byte, input string, violations ...string) ([]PatchOp, error) {
	var req struct {
		PatchOperations []PatchOp `json:"patchOperations"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return nil, err
		}
	}
	var bad []string
	for i, op := range req.PatchOperations {
		switch op.Op {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			bad = append(bad, fmt.Sprintf("Value '%s' at '%s.patchOperations.%d.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]", op.Op, input, i+1))
		}
	}
	bad = append(bad, violations...)
	if err := validationErrors(bad); err != nil {
		return nil, err
	}
	for i := range req.PatchOperations {
		op := &req.PatchOperations[i]
		segs, err := SplitPatchPath(op.Path)
		if err != nil {
			return nil, err
		}
		op.Segs = segs
	}
	return req.PatchOperations, nil
}

// validationErrors is AWS's ValidationException for constraint violations,
// or nil when there are none.
func validationErrors(bad []string) error {
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return validation("1 validation error detected: %s", bad[0])
	default:
		return validation("%d validation errors detected: %s", len(bad), strings.Join(bad, "; "))
	}
}

// SplitPatchPath splits a JSON-pointer-like patch path into unescaped
// segments: "/a/b~1c" is ["a", "b/c"].
func SplitPatchPath(p string) ([]string, error) {
	if p == "" || p[0] != '/' {
		if p == "" {
			p = "null"
		}
		return nil, badRequest("Invalid patch path %s", p)
	}
	raw := strings.Split(p[1:], "/")
	for i, s := range raw {
		u, err := unescapeSeg(s)
		if err != nil {
			return nil, badRequest("Invalid patch path %s", p)
		}
		raw[i] = u
	}
	return raw, nil
}

func unescapeSeg(s string) (string, error) {
	if !strings.Contains(s, "~") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '~' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("dangling ~")
		}
		switch s[i+1] {
		case '0':
			b.WriteByte('~')
		case '1':
			b.WriteByte('/')
		default:
			return "", fmt.Errorf("bad escape ~%c", s[i+1])
		}
		i++
	}
	return b.String(), nil
}

// applyOps applies every operation to v with apply, stopping at the first
// error.
func applyOps[T any](ops []PatchOp, v T, apply func(T, PatchOp) error) error {
	for _, op := range ops {
		if err := apply(v, op); err != nil {
			return err
		}
	}
	return nil
}

// EscapePatchSeg escapes one segment for use in a patch path.
func EscapePatchSeg(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// errReplaceOnly is AWS's answer to an op other than replace on a field
// that only takes replace.
var errReplaceOnly = badRequest("Invalid patch operation specified. Must be one of: [replace]")

// errPatchPath is AWS's answer to a path the resource does not have.
func errPatchPath(op PatchOp) *Error {
	return badRequest("Invalid patch path %s", op.Path)
}

func (op PatchOp) value() string {
	if op.Value == nil {
		return ""
	}
	return *op.Value
}

// The helpers below apply one operation to one field. They accept the ops
// AWS accepts for that kind of field and report errPatchPath otherwise.

func patchString(op PatchOp, dst *string) error {
	switch op.Op {
	case "replace", "add":
		*dst = op.value()
	case "remove":
		*dst = ""
	default:
		return errPatchPath(op)
	}
	return nil
}

func patchBool(op PatchOp, dst *bool) error {
	switch op.Op {
	case "replace", "add":
		b, err := strconv.ParseBool(op.value())
		if err != nil {
			return badRequest("Invalid boolean value '%s' for %s", op.value(), op.Path)
		}
		*dst = b
	case "remove":
		*dst = false
	default:
		return errPatchPath(op)
	}
	return nil
}

func patchInt(op PatchOp, dst *int64) error {
	switch op.Op {
	case "replace", "add":
		n, err := strconv.ParseInt(op.value(), 10, 64)
		if err != nil {
			return badRequest("Invalid integer value '%s' for %s", op.value(), op.Path)
		}
		*dst = n
	case "remove":
		*dst = 0
	default:
		return errPatchPath(op)
	}
	return nil
}

func patchFloat(op PatchOp, dst *float64) error {
	switch op.Op {
	case "replace", "add":
		f, err := strconv.ParseFloat(op.value(), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return badRequest("Invalid double value '%s' for %s", op.value(), op.Path)
		}
		*dst = f
	case "remove":
		*dst = 0
	default:
		return errPatchPath(op)
	}
	return nil
}

// patchMap applies op to key of a string map (request templates, variables, ...).
func patchMap(op PatchOp, m *map[string]string, key string) error {
	switch op.Op {
	case "add", "replace":
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[key] = op.value()
	case "remove":
		delete(*m, key)
	default:
		return errPatchPath(op)
	}
	return nil
}

// patchBoolMap applies op to key of a map of flags (method request
// parameters: "true" means required).
func patchBoolMap(op PatchOp, m *map[string]bool, key string) error {
	switch op.Op {
	case "add", "replace":
		v := false
		if op.Value != nil && *op.Value != "" {
			b, err := strconv.ParseBool(*op.Value)
			if err != nil {
				return badRequest("Invalid boolean value '%s' for %s", op.value(), op.Path)
			}
			v = b
		}
		if *m == nil {
			*m = map[string]bool{}
		}
		(*m)[key] = v
	case "remove":
		delete(*m, key)
	default:
		return errPatchPath(op)
	}
	return nil
}

// patchList adds or removes item in a set-like list (binary media types).
func patchList(op PatchOp, list *[]string, item string) error {
	switch op.Op {
	case "add":
		for _, s := range *list {
			if s == item {
				return nil
			}
		}
		*list = append(*list, item)
	case "remove":
		out := (*list)[:0]
		for _, s := range *list {
			if s != item {
				out = append(out, s)
			}
		}
		*list = out
	case "replace":
		for i, s := range *list {
			if s == item {
				(*list)[i] = op.value()
				return nil
			}
		}
		return badRequest("Invalid patch path '%s': no such value", op.Path)
	default:
		return errPatchPath(op)
	}
	return nil
}

// decodeJSON decodes a request body strictly: one JSON value, no unknown
// fields, in AWS's error shape when it fails.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			// AWS ignores unknown members; apigw refuses them so that a typo
			// in a field name is not silently dropped.
			return badRequest("Invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return &Error{http.StatusBadRequest, "SerializationException", "Could not parse request body into json: " + jsonErrText(err)}
	}
	if dec.More() {
		return &Error{http.StatusBadRequest, "SerializationException", "Could not parse request body into json: unexpected data after the JSON value"}
	}
	return nil
}

func jsonErrText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("Cannot deserialize value of type %s from %s at field '%s'", te.Type, te.Value, te.Field)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
