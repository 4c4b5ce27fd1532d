package vtl

import (
	"errors"
	"strings"
	"testing"
)

// fakeRequest is a Request for tests.
type fakeRequest struct {
	body    string
	params  map[string][]Param
	context map[string]Value
	stage   []Param
}

func (r *fakeRequest) Body() []byte               { return []byte(r.body) }
func (r *fakeRequest) Params(kind string) []Param { return r.params[kind] }
func (r *fakeRequest) StageVariables() []Param    { return r.stage }
func (r *fakeRequest) ContextValue(n string) (Value, bool) {
	v, ok := r.context[n]
	return v, ok
}

const petsBody = `{"pets": [{"id": 1, "type": "dog", "price": 249.99}, {"id": 2, "type": "cat", "price": 124.99}, {"id": 3, "type": "fish", "price": 0.99}], "owner": {"name": "Ana", "tags": ["a", "b"]}}`

func newFakeRequest(body string) *fakeRequest {
	identity := NewMap(2)
	identity.Put(String("sourceIp"), String("192.0.2.1"))
	identity.Put(String("userAgent"), String("curl/8.0"))
	return &fakeRequest{
		body: body,
		params: map[string][]Param{
			"path":        {{"petId", "7"}},
			"querystring": {{"limit", "10"}, {"petId", "fromquery"}},
			"header":      {{"Accept", "application/json"}, {"X-Trace", "t-1"}},
		},
		context: map[string]Value{
			"requestId": String("req-1"),
			"stage":     String("dev"),
			"identity":  MapValue(identity),
		},
		stage: []Param{{"env", "test"}, {"host", "backend.local"}},
	}
}

func TestInput(t *testing.T) {
	for _, tc := range []struct{ name, body, src, want string }{
		{"body", `{"a": 1}`, `$input.body`, `{"a": 1}`},
		{"json root is compact", `{ "a" : [1, 2.5, "x", true, null] }`, `$input.json('$')`, `{"a":[1,2.5,"x",true,null]}`},
		{"json member", petsBody, `$input.json('$.pets[0]')`, `{"id":1,"type":"dog","price":249.99}`},
		{"json string is quoted", petsBody, `$input.json('$.owner.name')`, `"Ana"`},
		{"json missing is empty", petsBody, `[$input.json('$.nothing')]`, `[]`},
		{"json wildcard", petsBody, `$input.json('$.pets[*].type')`, `["dog","cat","fish"]`},
		{"json empty body", ``, `$input.json('$')`, `{}`},
		{"path size", petsBody, `$input.path('$.pets').size()`, `3`},
		{"path value", petsBody, `$input.path('$.pets[1].type') $input.path('$.pets[-1].id') $input.path('$.owner.tags')`, `cat 3 [a, b]`},
		{"path object renders as a Java map", petsBody, `$input.path('$.owner')`, `{name=Ana, tags=[a, b]}`},
		{"path missing is null", petsBody, `$input.path('$.nothing') [$!input.path('$.nothing')]`, `$input.path('$.nothing') []`},
		{"path bracket names", petsBody, `$input.path("$['owner']['name']")`, `Ana`},
		{"path deep scan", petsBody, `$input.path('$..name')`, `[Ana]`},
		{"path filter", petsBody, `#foreach($p in $input.path('$.pets[?(@.price < 200)]'))$p.type #end`, `cat fish `},
		{"path filter equality", petsBody, `$input.json("$.pets[?(@.type == 'dog')].id")`, `[1]`},
		{"path slice", petsBody, `$input.json('$.pets[0:2].id')`, `[1,2]`},
		{"path union", petsBody, `$input.json('$.pets[0,2].type')`, `["dog","fish"]`},
		{"foreach over path", petsBody, "#foreach($p in $input.path('$.pets'))$p.id:$p.type#if($foreach.hasNext),#end#end", `1:dog,2:cat,3:fish`},
		{"params by name: path first", ``, `$input.params('petId')`, `7`},
		{"params by name: query", ``, `$input.params('limit')`, `10`},
		{"params by name: header", ``, `$input.params('X-Trace') $input.params('x-trace')`, `t-1 t-1`},
		{"params by name: missing", ``, `[$input.params('nothing')]`, `[]`},
		{"params maps", ``, `$input.params().header.get('Accept') $input.params().querystring $input.params().path.petId`, `application/json {limit=10, petId=fromquery} 7`},
		{"params all", ``, "#set($all = $input.params())#foreach($type in $all.keySet())$type=#foreach($n in $all.get($type).keySet())$n#if($foreach.hasNext),#end#end;#end", `path=petId;querystring=limit,petId;header=Accept,X-Trace;`},
		{"context", ``, `$context.requestId $context.stage $context.identity.sourceIp [$context.nothing] [$!context.nothing]`, `req-1 dev 192.0.2.1 [$context.nothing] []`},
		{"stage variables", ``, `$stageVariables.env $stageVariables.host [$!stageVariables.none] $stageVariables`, `test backend.local [] {env=test, host=backend.local}`},
		{"util", ``, `$util.escapeJavaScript("it's") $util.urlEncode("a b") $util.base64Encode("hi") $util.parseJson('{"k": [1]}').k[0]`, `it\'s a+b aGk= 1`},
		{"aws example: petstore", `[{"id": 1, "type": "dog", "price": 249.99}]`, "#set($inputRoot = $input.path('$'))\n[\n#foreach($elem in $inputRoot)\n  {\n    \"number\": $elem.id,\n    \"class\": \"$elem.type\",\n    \"salesPrice\": $elem.price\n  }#if($foreach.hasNext),#end\n\n#end\n]",
			"[\n  {\n    \"number\": 1,\n    \"class\": \"dog\",\n    \"salesPrice\": 249.99\n  }\n]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse(tc.name, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.Append(nil, NewContext(newFakeRequest(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestInputAllParams renders AWS's documented all-parameters template
// with $input.params() and compares with what Velocity 1.7 renders for
// the same template over the same maps (corpus: aws-all-params-escaped).
func TestInputAllParams(t *testing.T) {
	var want string
	for _, c := range loadCorpus(t) {
		if c.name == "aws-all-params-escaped" {
			want = render(t, c)
		}
	}
	src := "#set($allParams = $input.params())\n{\n\"params\" : {\n#foreach($type in $allParams.keySet())\n    #set($params = $allParams.get($type))\n\"$type\" : {\n    #foreach($paramName in $params.keySet())\n    \"$paramName\" : \"$util.escapeJavaScript($params.get($paramName))\"\n        #if($foreach.hasNext),#end\n    #end\n}\n    #if($foreach.hasNext),#end\n#end\n}\n}"
	tp, err := Parse("all-params", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tp.Append(nil, NewContext(newFakeRequest("")))
	if err != nil || string(got) != want || want == "" {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
}

func TestInputBodyNotJSON(t *testing.T) {
	tp, _ := Parse("t", `{"a": $input.json('$.a')}`)
	_, err := tp.Append(nil, NewContext(newFakeRequest(`not json`)))
	var be *BodyError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BodyError", err)
	}
	// $input.body alone reads no JSON.
	tp, _ = Parse("t", `$input.body`)
	if got, err := tp.Append(nil, NewContext(newFakeRequest(`not json`))); err != nil || string(got) != "not json" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestBadJSONPath(t *testing.T) {
	tp, _ := Parse("t", `$input.path('$.a[')`)
	_, err := tp.Append(nil, NewContext(newFakeRequest(`{}`)))
	var pe *PathError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *PathError", err)
	}
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		lim       Limits
		want      string
	}{
		{"loop", `#foreach($i in [1..100000])#foreach($j in [1..100000])x#end#end`, Limits{Steps: 10000}, "line 1, column "},
		{"recursion", `#macro(r)#r()#end#r()`, Limits{}, "macro calls nested deeper than 20"},
		{"output", `#set($s = "xxxxxxxxxx")#foreach($i in [1..1000])$s#end`, Limits{Output: 5000}, "output larger than 5000 bytes"},
		{"string doubling", `#set($s = "x")#foreach($i in [1..64])#set($s = "$s$s")#end`, Limits{Output: 1 << 20}, "output larger than"},
		{"concat doubling", `#set($s = "x")#foreach($i in [1..64])#set($s = $s + $s)#end`, Limits{Output: 1 << 20}, "longer than"},
		{"huge range", `#set($r = [1..2000000000])`, Limits{}, "too large"},
		{"define recursion", `#define($d)$d#end$d`, Limits{}, "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse("tmpl-"+tc.name, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tp.Execute(nil, nil, tc.lim)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) || e.Name != "tmpl-"+tc.name {
				t.Fatalf("err = %v, want an *Error naming the template with %q", err, tc.want)
			}
		})
	}
}

func TestParseErrorPosition(t *testing.T) {
	_, err := Parse("req", "line one\n  #if($a)\nno end")
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Column != 3 || e.Name != "req" {
		t.Fatalf("err = %#v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := Parse("fuzz", src)
		if err != nil {
			return
		}
		tp.Execute(nil, NewContext(newFakeRequest(petsBody)), Limits{Steps: 20000, Output: 1 << 16})
	})
}

func FuzzEvaluate(f *testing.F) {
	f.Add(`#set($r = $input.path('$'))$r.pets[0].type #foreach($p in $r.pets)$p.price#end`, petsBody)
	f.Add(`$input.json('$..name') $util.parseJson($input.body)`, `{"a": {"name": "x"}}`)
	f.Add(`$input.path('$.a[?(@.b > 1)]')`, `{"a": [{"b": 2}]}`)
	f.Fuzz(func(t *testing.T, src, body string) {
		tp, err := Parse("fuzz", src)
		if err != nil {
			return
		}
		tp.Execute(nil, NewContext(newFakeRequest(body)), Limits{Steps: 20000, Output: 1 << 16})
	})
}

func fuzzSeeds(tb testing.TB) []string {
	var seeds []string
	for _, c := range loadCorpus(tb) {
		seeds = append(seeds, c.src)
	}
	return seeds
}

type dottedVars map[string]string

func (d dottedVars) Var(name string) (string, bool) {
	s, ok := d[name]
	return s, ok
}

func TestDottedVars(t *testing.T) {
	vars := dottedVars{"context.error.messageString": `"Forbidden"`, "context.requestId": "r-1", "stageVariables.env": "dev"}
	for _, tc := range []struct{ src, want string }{
		{`{"message":$context.error.messageString}`, `{"message":"Forbidden"}`},
		{`${context.requestId} $!context.nothing $context.nothing`, `r-1  $context.nothing`},
		{`#if($stageVariables.env == "dev")dev#end $context.requestId.toUpperCase() $context.requestId.length()`, `dev R-1 3`},
		{`#set($m = $context.error.messageString)$m.replace('"', '')`, `Forbidden`},
	} {
		tp, err := Parse("gr", tc.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tp.Append(nil, DottedVars(vars))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q, %v, want %q", tc.src, got, err, tc.want)
		}
	}
}
