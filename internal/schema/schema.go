// Package schema compiles the models of a REST API (JSON Schema draft 4, as
// on AWS) and validates request bodies against them. A model names another
// model of its API by its URL form in $ref; references are resolved from
// the API's own models, never from the network.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/apigw/apigw/internal/model"
)

// Set is the models of one API, compiled on demand and kept: a deployment
// builds one and compiles the models its methods use once.
type Set struct {
	apiID    string
	models   map[string]*model.Model
	compiler *jsonschema.Compiler
	compiled map[string]*Schema
	loads    int
}

// Loads is how many times the set has read a model's schema: once per
// model however often models refer to it, as the compiler keeps what it
// compiled.
func (s *Set) Loads() int { return s.loads }

// NewSet prepares the models of the API apiID.
func NewSet(apiID string, models []*model.Model) *Set {
	s := &Set{apiID: apiID, models: make(map[string]*model.Model, len(models)), compiled: map[string]*Schema{}}
	for _, m := range models {
		s.models[m.Name] = m
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(loader{s})
	s.compiler = c
	return s
}

// ErrNoModel is returned for a name the API has no model of.
var ErrNoModel = errors.New("schema: no such model")

// Schema is one compiled model.
type Schema struct {
	s *jsonschema.Schema
}

// Compile returns the compiled model name.
func (s *Set) Compile(name string) (*Schema, error) {
	if sc := s.compiled[name]; sc != nil {
		return sc, nil
	}
	if s.models[name] == nil {
		return nil, ErrNoModel
	}
	js, err := s.compiler.Compile(model.ModelURL(s.apiID, name))
	if err != nil {
		return nil, err
	}
	sc := &Schema{js}
	s.compiled[name] = sc
	return sc, nil
}

// loader serves the API's models by their URL form.
type loader struct{ s *Set }

func (l loader) Load(url string) (any, error) {
	prefix := model.ModelURL(l.s.apiID, "")
	name, ok := strings.CutPrefix(url, prefix)
	m := l.s.models[name]
	l.s.loads++
	if !ok || m == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoModel, url)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(m.Schema))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return doc, nil
}

// Validate checks a request body against the schema. An empty body is
// checked as {}, as API Gateway does. It returns "" when the body is valid,
// or the complaint in API Gateway's format ($context.error.validationErrorString):
// "[" + each failure + "]", in the words of the Java validator AWS runs.
func (sc *Schema) Validate(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "[" + invalidJSON(err) + "]"
	}
	if _, err := dec.Token(); err != io.EOF {
		return "[Invalid JSON: trailing content after the value]"
	}
	err := sc.s.Validate(v)
	if err == nil {
		return ""
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "[" + err.Error() + "]"
	}
	var msgs []string
	collect(ve, v, &msgs)
	if len(msgs) == 0 {
		msgs = append(msgs, ve.Error())
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

func invalidJSON(err error) string {
	return "Invalid JSON: " + err.Error()
}
