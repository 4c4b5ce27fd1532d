package schema

import (
	"errors"
	"testing"

	"github.com/apigw/apigw/internal/model"
)

const apiID = "abcdefghij"

func testSet() *Set {
	return NewSet(apiID, []*model.Model{
		{Name: "Pet", Schema: `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","required":["name","price"],
			"properties":{"name":{"type":"string","minLength":2},"price":{"type":"number","minimum":0},
			"kind":{"enum":["dog","cat"]},"tag":{"$ref":"https://apigateway.amazonaws.com/restapis/abcdefghij/models/Tag"}}}`},
		{Name: "Tag", Schema: `{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false}`},
		{Name: "Loop", Schema: `{"$ref":"https://apigateway.amazonaws.com/restapis/abcdefghij/models/Nowhere"}`},
		{Name: "Output", Schema: `{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},"op":{"type":"string"},"c":{"type":"number"}}}`},
		{Name: "List", Schema: `{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"},"ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}}}}}`},
		{Name: "Empty", Schema: "{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}"},
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, model, body, want string
	}{
		{"valid", "Pet", `{"name":"rex","price":3}`, ""},
		{"missing required", "Pet", `{"price":3}`, `[object has missing required properties (["name"])]`},
		{"missing both, sorted", "Pet", `{}`, `[object has missing required properties (["name","price"])]`},
		{"empty body is {}", "Pet", ``, `[object has missing required properties (["name","price"])]`},
		{"wrong type", "Pet", `{"name":5,"price":3}`, `[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]`},
		{"too short", "Pet", `{"name":"r","price":3}`, `[string "r" is too short (length: 1, required minimum: 2)]`},
		{"below minimum", "Pet", `{"name":"rex","price":-1}`, `[numeric instance is lower than the required minimum (minimum: 0, found: -1)]`},
		{"enum", "Pet", `{"name":"rex","price":1,"kind":"cow"}`, `[instance value ("cow") not found in enum (possible values: ["dog","cat"])]`},
		{"through $ref", "Pet", `{"name":"rex","price":1,"tag":{"id":1.5}}`, `[instance type (number) does not match any allowed primitive type (allowed: ["integer"])]`},
		{"additional properties", "Pet", `{"name":"rex","price":1,"tag":{"x":1}}`, `[object instance has properties which are not allowed by the schema: ["x"]]`},
		{"root type", "Pet", `[]`, `[instance type (array) does not match any allowed primitive type (allowed: ["object"])]`},
		{"not JSON", "Pet", `{"name":`, `[Invalid JSON: unexpected EOF]`},
		{"trailing content", "Pet", `{"name":"rex","price":1} x`, `[Invalid JSON: trailing content after the value]`},
		{"Empty takes an object", "Empty", `{"x":1}`, ""},
	}
	s := testSet()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := s.Compile(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Validate([]byte(tt.body)); got != tt.want {
				t.Errorf("Validate(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	s := testSet()
	if _, err := s.Compile("Nope"); !errors.Is(err, ErrNoModel) {
		t.Errorf("unknown model: %v, want ErrNoModel", err)
	}
	if _, err := s.Compile("Loop"); err == nil {
		t.Error("a $ref to a model the API lacks compiled")
	}
	bad := NewSet(apiID, []*model.Model{{Name: "Bad", Schema: `{"type":"nonsense"}`}})
	if _, err := bad.Compile("Bad"); err == nil {
		t.Error("an invalid draft 4 schema compiled")
	}
	again, err := s.Compile("Pet")
	if err != nil {
		t.Fatal(err)
	}
	if once, _ := s.Compile("Pet"); once != again {
		t.Error("a model was compiled twice")
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct{ model, want string }{
		// AWS's documented sample (GetModelTemplate).
		{"Output", "#set($inputRoot = $input.path('$'))\n{\n  \"a\" : 3.1415,\n  \"b\" : 3.1415,\n  \"op\" : \"foo\",\n  \"c\" : 3.1415\n}"},
		{"List", "#set($inputRoot = $input.path('$'))\n[ {\n  \"id\" : 42,\n  \"ok\" : true,\n  \"tags\" : [ \"foo\" ]\n} ]"},
		{"Empty", "#set($inputRoot = $input.path('$'))\n{ }"},
		{"Pet", "#set($inputRoot = $input.path('$'))\n{\n  \"name\" : \"foo\",\n  \"price\" : 3.1415,\n  \"kind\" : \"dog\",\n  \"tag\" : {\n    \"id\" : 42\n  }\n}"},
		{"Loop", "#set($inputRoot = $input.path('$'))\n{ }"},
	}
	s := testSet()
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			got, err := s.Template(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Template(%s) =\n%s\nwant\n%s", tt.model, got, tt.want)
			}
		})
	}
}
