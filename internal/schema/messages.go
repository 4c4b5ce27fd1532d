package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// collect appends the messages of the failures under ve, leaves first, in
// the words of the Java JSON Schema validator (com.github.fge) API Gateway
// reports with, e.g. `object has missing required properties (["name"])`.
func collect(ve *jsonschema.ValidationError, doc any, out *[]string) {
	if msg, ok := describe(ve, doc); ok {
		*out = append(*out, msg)
		return
	}
	for _, c := range ve.Causes {
		collect(c, doc, out)
	}
}

// describe renders one failure; ok is false for the kinds that only group
// others (a schema, a $ref, allOf), whose causes are reported instead.
func describe(ve *jsonschema.ValidationError, doc any) (string, bool) {
	switch k := ve.ErrorKind.(type) {
	case *kind.Type:
		got := k.Got
		if got == "number" && isInteger(at(doc, ve.InstanceLocation)) {
			got = "integer"
		}
		want := append([]string(nil), k.Want...)
		sort.Strings(want)
		return fmt.Sprintf("instance type (%s) does not match any allowed primitive type (allowed: %s)", got, jsonText(want)), true
	case *kind.Required:
		return fmt.Sprintf("object has missing required properties (%s)", jsonText(sorted(k.Missing))), true
	case *kind.AdditionalProperties:
		return fmt.Sprintf("object instance has properties which are not allowed by the schema: %s", jsonText(sorted(k.Properties))), true
	case *kind.Enum:
		return fmt.Sprintf("instance value (%s) not found in enum (possible values: %s)", jsonText(k.Got), jsonText(k.Want)), true
	case *kind.Minimum:
		return fmt.Sprintf("numeric instance is lower than the required minimum (minimum: %s, found: %s)", num(k.Want), num(k.Got)), true
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("numeric instance is not strictly greater than the required minimum %s", num(k.Want)), true
	case *kind.Maximum:
		return fmt.Sprintf("numeric instance is greater than the required maximum (maximum: %s, found: %s)", num(k.Want), num(k.Got)), true
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("numeric instance is not strictly lower than the required maximum %s", num(k.Want)), true
	case *kind.MultipleOf:
		return fmt.Sprintf("remainder of division is not zero (%s / %s)", num(k.Got), num(k.Want)), true
	case *kind.MinLength:
		s, _ := at(doc, ve.InstanceLocation).(string)
		return fmt.Sprintf("string %s is too short (length: %d, required minimum: %d)", jsonText(s), utf8.RuneCountInString(s), k.Want), true
	case *kind.MaxLength:
		s, _ := at(doc, ve.InstanceLocation).(string)
		return fmt.Sprintf("string %s is too long (length: %d, maximum allowed: %d)", jsonText(s), utf8.RuneCountInString(s), k.Want), true
	case *kind.Pattern:
		return fmt.Sprintf("ECMA 262 regex %s does not match input string %s", jsonText(k.Want), jsonText(k.Got)), true
	case *kind.MinItems:
		return fmt.Sprintf("array is too short: must have at least %d elements but instance has %d elements", k.Want, k.Got), true
	case *kind.MaxItems:
		return fmt.Sprintf("array is too long: must have at most %d elements but instance has %d elements", k.Want, k.Got), true
	case *kind.UniqueItems:
		return "array must not contain duplicate elements", true
	case *kind.MinProperties:
		return fmt.Sprintf("object has too few properties (found %d, required %d)", k.Got, k.Want), true
	case *kind.MaxProperties:
		return fmt.Sprintf("object has too many properties (found %d, maximum allowed %d)", k.Got, k.Want), true
	case *kind.Dependency:
		return fmt.Sprintf("property %s of object has missing property dependencies (missing: %s)", jsonText(k.Prop), jsonText(sorted(k.Missing))), true
	case *kind.AnyOf:
		return fmt.Sprintf("instance failed to match at least one required schema among %d", len(ve.Causes)), true
	case *kind.OneOf:
		if k.Subschemas == nil {
			return fmt.Sprintf("instance failed to match exactly one schema (matched 0 out of %d)", len(ve.Causes)), true
		}
		return fmt.Sprintf("instance failed to match exactly one schema (matched %d out of %d)", len(k.Subschemas), len(k.Subschemas)+len(ve.Causes)), true
	case *kind.Not:
		return "instance matched a schema which it should not have", true
	case *kind.Schema, *kind.Reference, *kind.Group, *kind.AllOf:
		if len(ve.Causes) > 0 {
			return "", false
		}
	}
	return strings.TrimSpace(ve.ErrorKind.LocalizedString(printer)), true
}

// printer is the English printer the library's own messages use, for the
// kinds above that have no Java wording.
var printer = newPrinter()

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// jsonText writes v as compact JSON, without HTML escaping.
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// num writes a number as the JSON text it came from would be: integers
// without a decimal point.
func num(r *big.Rat) string {
	if r == nil {
		return "null"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

func isInteger(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	r, ok := new(big.Rat).SetString(string(n))
	return ok && r.IsInt()
}

// at finds the value at a JSON pointer's tokens.
func at(doc any, loc []string) any {
	v := doc
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func newPrinter() *message.Printer { return message.NewPrinter(language.English) }
