package control

import (
	"testing"

	"github.com/apigw/apigw/internal/model"
)

func TestCheckDocLocation(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   model.DocumentationPartLocation
		want model.DocumentationPartLocation // the location with its defaults
		err  string
	}{
		{"api", model.DocumentationPartLocation{Type: "API"}, model.DocumentationPartLocation{Type: "API"}, ""},
		{"resource default path", model.DocumentationPartLocation{Type: "RESOURCE"}, model.DocumentationPartLocation{Type: "RESOURCE", Path: "/"}, ""},
		{"method defaults", model.DocumentationPartLocation{Type: "METHOD", Path: "/pets"}, model.DocumentationPartLocation{Type: "METHOD", Path: "/pets", Method: "*"}, ""},
		{"response defaults", model.DocumentationPartLocation{Type: "RESPONSE"}, model.DocumentationPartLocation{Type: "RESPONSE", Path: "/", Method: "*", StatusCode: "*"}, ""},
		{"response header", model.DocumentationPartLocation{Type: "RESPONSE_HEADER", Path: "/a", Method: "GET", StatusCode: "200", Name: "x-id"}, model.DocumentationPartLocation{Type: "RESPONSE_HEADER", Path: "/a", Method: "GET", StatusCode: "200", Name: "x-id"}, ""},
		{"request body without name", model.DocumentationPartLocation{Type: "REQUEST_BODY", Method: "POST"}, model.DocumentationPartLocation{Type: "REQUEST_BODY", Path: "/", Method: "POST"}, ""},
		{"no type", model.DocumentationPartLocation{}, model.DocumentationPartLocation{}, "1 validation error detected: Value null at 'in.location.type' failed to satisfy constraint: Member must not be null"},
		{"bad type", model.DocumentationPartLocation{Type: "STAGE"}, model.DocumentationPartLocation{}, "1 validation error detected: Value 'STAGE' at 'in.location.type' failed to satisfy constraint: Member must satisfy enum value set: " + docTypeEnum},
		{"api with path", model.DocumentationPartLocation{Type: "API", Path: "/"}, model.DocumentationPartLocation{}, "Invalid location: 'path' is not a valid field for type API"},
		{"model with method", model.DocumentationPartLocation{Type: "MODEL", Name: "Pet", Method: "GET"}, model.DocumentationPartLocation{}, "Invalid location: 'method' is not a valid field for type MODEL"},
		{"method with status", model.DocumentationPartLocation{Type: "METHOD", StatusCode: "200"}, model.DocumentationPartLocation{}, "Invalid location: 'statusCode' is not a valid field for type METHOD"},
		{"resource with name", model.DocumentationPartLocation{Type: "RESOURCE", Name: "x"}, model.DocumentationPartLocation{}, "Invalid location: 'name' is not a valid field for type RESOURCE"},
		{"model without name", model.DocumentationPartLocation{Type: "MODEL"}, model.DocumentationPartLocation{}, "Invalid location: 'name' is required for type MODEL"},
		{"query parameter without name", model.DocumentationPartLocation{Type: "QUERY_PARAMETER", Path: "/"}, model.DocumentationPartLocation{}, "Invalid location: 'name' is required for type QUERY_PARAMETER"},
		{"relative path", model.DocumentationPartLocation{Type: "RESOURCE", Path: "pets"}, model.DocumentationPartLocation{}, "Invalid location: path 'pets' must begin with '/'"},
		{"bad method", model.DocumentationPartLocation{Type: "METHOD", Method: "FETCH"}, model.DocumentationPartLocation{}, "Invalid location: invalid method 'FETCH'"},
		{"bad status code", model.DocumentationPartLocation{Type: "RESPONSE", StatusCode: "600"}, model.DocumentationPartLocation{}, `1 validation error detected: Value '600' at 'in.location.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([1-5]\d\d|\*|\s*)$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := tc.in
			err := checkDocLocation(&loc, "in")
			if tc.err != "" {
				e, ok := err.(*Error)
				if !ok || e.Message != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc != tc.want {
				t.Fatalf("location = %+v, want %+v", loc, tc.want)
			}
		})
	}
}

func TestDescribeDocLocation(t *testing.T) {
	got := describeDocLocation(model.DocumentationPartLocation{Type: "METHOD", Path: "/pets", Method: "*"})
	if want := "type 'METHOD', path '/pets', method '*'"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
