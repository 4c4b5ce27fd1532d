package vtl

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParseJSON: ParseJSON accepts what encoding/json accepts (up to its
// depth bound) and nothing else, and reads strings, with their escapes,
// as encoding/json does (where the document is UTF-8).
func FuzzParseJSON(f *testing.F) {
	f.Add(benchBody())
	f.Add(`"a\"b\\c\u00e9\n"`)
	f.Add(`{"a":1,"a":2,"b":[true,null,"x\ty"]}`)
	f.Add("\"ctl\x01\"")
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := ParseJSON([]byte(doc))
		valid := json.Valid([]byte(doc))
		if (err == nil) != valid {
			var je *JSONError
			if ok := err != nil && asJSONError(err, &je) && je.Msg == "nested too deep"; ok {
				return
			}
			t.Fatalf("ParseJSON err %v, encoding/json valid %v", err, valid)
		}
		var s string
		// encoding/json replaces invalid UTF-8 with U+FFFD; ParseJSON
		// keeps the bytes as they came.
		if valid && utf8.ValidString(doc) && json.Unmarshal([]byte(doc), &s) == nil {
			if got, ok := v.Str(); !ok || got != s {
				t.Fatalf("string %q, encoding/json %q", got, s)
			}
		}
	})
}

func asJSONError(err error, je **JSONError) bool {
	e, ok := err.(*JSONError)
	*je = e
	return ok
}
