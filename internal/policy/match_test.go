package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatchWildcard(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		s       string
		ci      bool
		want    bool
	}{
		{"exact", "execute-api:Invoke", "execute-api:Invoke", false, true},
		{"exact differs", "execute-api:Invoke", "execute-api:InvokeX", false, false},
		{"case-sensitive", "execute-api:invoke", "execute-api:Invoke", false, false},
		{"case-insensitive", "EXECUTE-API:invoke", "execute-api:Invoke", true, true},
		{"star alone", "*", "anything:at/all", false, true},
		{"star matches empty", "*", "", false, true},
		{"empty pattern empty string", "", "", false, true},
		{"empty pattern", "", "a", false, false},
		{"service star", "execute-api:*", "execute-api:Invoke", true, true},
		{"service star other service", "execute-api:*", "apigateway:GET", true, false},
		{"star crosses slash", "a/*/c", "a/b/x/c", false, true},
		{"star crosses colon", "a:*:c", "a:b:x:c", false, true},
		{"middle star", "iam:*AccessKey*", "iam:CreateAccessKey", true, true},
		{"middle star no match", "iam:*AccessKey*", "iam:CreateUser", true, false},
		{"question one char", "s3:Get?bject", "s3:GetObject", false, true},
		{"question needs a char", "ab?", "ab", false, false},
		{"question is one rune", "caf?", "café", false, true},
		{"question not two runes", "ca?", "café", false, false},
		{"stars and questions", "*?*?", "ab", false, true},
		{"stars and questions short", "*?*?", "a", false, false},
		{"backtracking", "*a*b*c", "xaybzc", false, true},
		{"backtracking fail", "*a*b*c", "xaybz", false, false},
		{"trailing stars", "abc***", "abc", false, true},
		{"literal after star at end", "*.txt", "a.txt.bak", false, false},
		{"unicode fold", "STRASSE*", "strasse-1", true, true},
		{"kelvin sign folds to k", "k*", "\u212Aelvin", true, true},
		{"invalid bytes differ", "\xff", "\xfe", true, false},
		{"invalid byte matches itself", "a\xffb", "a\xffb", false, true},
		{"invalid pattern byte is not half a character", "*\xa9", "\u00e9", false, false},
		{"star matches a whole character", "*\u00e9", "caf\u00e9", false, true},
		{"execute-api sample", "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/sample",
			"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/sample", false, true},
		{"execute-api other method", "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/sample",
			"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/POST/sample", false, false},
		{"pathological", strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchWildcard(tt.pattern, tt.s, tt.ci); got != tt.want {
				t.Errorf("MatchWildcard(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.ci, got, tt.want)
			}
			if ref := refGlob(tt.pattern, tt.s, tt.ci); ref != tt.want {
				t.Errorf("reference disagrees with the table: %v", ref)
			}
		})
	}
}

func TestMatchWildcardDoesNotAllocate(t *testing.T) {
	p := "arn:aws:execute-api:*:123456789012:abc/*/GET/items/*"
	s := "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/items/42/detail"
	if n := testing.AllocsPerRun(100, func() {
		MatchWildcard(p, s, false)
		MatchWildcard("EXECUTE-API:*", "execute-api:Invoke", true)
		MatchWildcard("*stra?e*", "Stra\u00dfe", true)
	}); n != 0 {
		t.Errorf("MatchWildcard allocates %v times", n)
	}
}

// TestMatchResource checks the ARN rules of the Resource element: a '*' that
// ends an ARN segment, or sits in the resource part, matches across ':' and
// '/'; a '*' inside one of the first five segments, and a '?' there, do not
// match ':'.
func TestMatchResource(t *testing.T) {
	const api = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234"
	tests := []struct {
		name    string
		pattern string
		arn     string
		want    bool
	}{
		{"star", "*", api + "/prod/GET/sample", true},
		{"api star", api + "/*", api + "/prod/GET/sample", true},
		{"api star root path", api + "/*", api + "/prod/GET/", true},
		{"any stage GET sample", api + "/*/GET/sample", api + "/prod/GET/sample", true},
		{"any stage GET sample, POST", api + "/*/GET/sample", api + "/prod/POST/sample", false},
		{"any stage GET sample, other path", api + "/*/GET/sample", api + "/prod/GET/other", false},
		{"any stage GET sample, sub path", api + "/*/GET/sample", api + "/prod/GET/sample/x", false},
		{"stage star method", api + "/test/*/mydemoresource/*", api + "/test/PUT/mydemoresource/a/b", true},
		{"trailing star crosses slashes", api + "/prod/GET/user/*", api + "/prod/GET/user/1/sensitive", true},
		{"question in path", api + "/prod/GET/pets/?", api + "/prod/GET/pets/7", true},
		{"case-sensitive", api + "/prod/get/sample", api + "/prod/GET/sample", false},
		{"any region any account", "arn:aws:execute-api:*:*:abcdef1234/*", api + "/prod/GET/x", true},
		{"all execute-api (docs: equivalent to *)", "arn:aws:execute-api:*:*:*", api + "/prod/GET/x", true},
		{"region star", "arn:aws:execute-api:us-east-1:*:*", api + "/prod/GET/x", true},
		{"other service", "arn:aws:apigateway:*::/restapis/*", api + "/prod/GET/x", false},
		{"management ARN", "arn:aws:apigateway:us-east-1::/restapis/*", "arn:aws:apigateway:us-east-1::/restapis/a1/resources", true},
		{"segment-final star crosses colons", "arn:aws:execute-api:*", api + "/prod/GET/x", true},
		{"segment-final star then more segments", "arn:aws:sqs:*:123456789012:queue", "arn:aws:sqs:us-east-1:999:x:123456789012:queue", true},
		{"inner star stays in segment", "arn:aws:sqs:us-*-1:123456789012:queue", "arn:aws:sqs:us-east-1:123456789012:queue", true},
		{"inner star does not cross colon", "arn:aws:sqs:us-*-1:123456789012:queue", "arn:aws:sqs:us-east:9-1:123456789012:queue", false},
		{"question does not match colon", "arn:aws:sqs:a?b:1:q", "arn:aws:sqs:a:b:1:q", false},
		{"question matches in segment", "arn:aws:sqs:a?b:1:q", "arn:aws:sqs:axb:1:q", true},
		{"inner star in resource part crosses colons", "arn:aws:lambda:us-east-1:1:function:f*x", "arn:aws:lambda:us-east-1:1:function:f:alias:x", true},
		{"confined and free stars", "arn:*:sqs:us-*-1:*:q", "arn:aws:sqs:us-west-1:123:q", true},
		{"confined star after free star", "arn:*:s?s:*:q", "arn:aws:x:sqs:1:q", true},
		{"confined question after free star, no fit", "arn:*:s?s:q", "arn:aws:x:s:s:q", false},
		{"iam user", "arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/Bob", true},
		{"iam user case", "arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileResource(tt.pattern, false)
			if got := m.match(tt.arn); got != tt.want {
				t.Errorf("Resource %q vs %q = %v, want %v", tt.pattern, tt.arn, got, tt.want)
			}
			if ref := refResource(tt.pattern, tt.arn); ref != tt.want {
				t.Errorf("reference disagrees with the table: %v", ref)
			}
		})
	}
}

func TestMatchResourceDoesNotAllocate(t *testing.T) {
	ms := []matcher{
		compileResource("arn:aws:execute-api:us-*-1:*:abc/*/GET/x", false), // NFA
		compileResource("arn:aws:execute-api:*:*:abc/*/GET/x", false),      // glob
		compileResource("arn:aws:execute-api:us-east-1:1:abc/*", false),    // prefix
	}
	s := "arn:aws:execute-api:us-east-1:1:abc/prod/GET/x"
	if n := testing.AllocsPerRun(100, func() {
		for i := range ms {
			if !ms[i].match(s) {
				t.Fatalf("pattern %d does not match", i)
			}
		}
	}); n != 0 {
		t.Errorf("resource matching allocates %v times", n)
	}
}

func TestEscapedPatterns(t *testing.T) {
	tests := []struct {
		name, pattern, s string
		want             bool
	}{
		{"escaped star is literal", "a\x00*", "a*", true},
		{"escaped star does not wildcard", "a\x00*", "ab", false},
		{"escaped question", "\x00?", "?", true},
		{"escaped question literal", "\x00?", "x", false},
		{"escaped NUL", "a\x00\x00b", "a\x00b", true},
		{"wildcard next to escape", "*\x00*", "abc*", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := glob(tt.pattern, tt.s, false, true); got != tt.want {
				t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// refGlob is a reference matcher: a dynamic program over characters.
func refGlob(p, s string, fold bool) bool {
	pr, sr := runesOf(p), runesOf(s)
	// dp[j]: pattern prefix matches s prefix of length j.
	dp := make([]bool, len(sr)+1)
	dp[0] = true
	for _, c := range pr {
		next := make([]bool, len(sr)+1)
		switch c {
		case '*':
			for j := range dp {
				next[j] = dp[j] || (j > 0 && next[j-1])
			}
		case '?':
			for j := 1; j <= len(sr); j++ {
				next[j] = dp[j-1]
			}
		default:
			for j := 1; j <= len(sr); j++ {
				next[j] = dp[j-1] && runeEq(c, sr[j-1], fold)
			}
		}
		dp = next
	}
	return dp[len(sr)]
}

// refResource is a reference for Resource matching, written from the rule
// rather than from arnTokens: it tries every way to split both strings.
func refResource(p, s string) bool {
	pr, sr := runesOf(p), runesOf(s)
	// confined reports whether the wildcard at pr[i] may not match ':'.
	confined := func(i int) bool {
		colons := 0
		for _, c := range pr[:i] {
			if c == ':' {
				colons++
			}
		}
		if colons >= 5 {
			return false
		}
		if pr[i] == '?' {
			return true
		}
		j := i
		for j < len(pr) && pr[j] == '*' {
			j++
		}
		return j < len(pr) && pr[j] != ':'
	}
	memo := map[[2]int]bool{}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var v bool
		switch {
		case i == len(pr):
			v = j == len(sr)
		case pr[i] == '*':
			v = rec(i+1, j) || j < len(sr) && !(sr[j] == ':' && confined(i)) && rec(i, j+1)
		case j == len(sr):
			v = false
		case pr[i] == '?':
			v = !(sr[j] == ':' && confined(i)) && rec(i+1, j+1)
		default:
			v = pr[i] == sr[j] && rec(i+1, j+1)
		}
		memo[k] = v
		return v
	}
	return rec(0, 0)
}

func runesOf(s string) []rune {
	var out []rune
	for i := 0; i < len(s); {
		r, n := nextRune(s, i)
		out = append(out, r)
		i += n
	}
	return out
}

func FuzzMatchWildcard(f *testing.F) {
	f.Add("execute-api:*", "execute-api:Invoke", true)
	f.Add("arn:aws:execute-api:*:*:abc/*/GET/sample", "arn:aws:execute-api:us-east-1:1:abc/prod/GET/sample", false)
	f.Add("*a*b?c*", "xxaybzcc", false)
	f.Add("caf?", "café", true)
	f.Add("k*", "\u212A", true)
	f.Add("\xff*", "\xfe", false)
	f.Fuzz(func(t *testing.T, p, s string, ci bool) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		got := MatchWildcard(p, s, ci)
		if want := refGlob(p, s, ci); got != want {
			t.Fatalf("MatchWildcard(%q, %q, %v) = %v, reference %v", p, s, ci, got, want)
		}
		if p == s && !got {
			t.Fatalf("a string does not match itself: %q", p)
		}
		if !ci && !strings.ContainsAny(p, "*?") && got != (p == s) {
			t.Fatalf("literal pattern %q vs %q = %v", p, s, got)
		}
		if ci && utf8.ValidString(p) && utf8.ValidString(s) && !strings.ContainsAny(p, "*?") &&
			got != strings.EqualFold(p, s) {
			t.Fatalf("folded literal %q vs %q = %v", p, s, got)
		}
		// Substituted text is literal: escaped, it matches only itself.
		var b strings.Builder
		writeLiteral(&b, p, true)
		lit := b.String()
		if g := glob(lit, s, false, true); g != (p == s) {
			t.Fatalf("escaped %q vs %q = %v", p, s, g)
		}
		if utf8.ValidString(p) && utf8.ValidString(s) {
			if g := glob("*"+lit+"*", s, false, true); g != strings.Contains(s, p) {
				t.Fatalf("*escaped(%q)* vs %q = %v", p, s, g)
			}
		}
	})
}

func FuzzMatchResource(f *testing.F) {
	f.Add("arn:aws:sqs:us-*-1:123456789012:queue", "arn:aws:sqs:us-east-1:123456789012:queue")
	f.Add("arn:*:s?s:*:q", "arn:aws:x:sqs:1:q")
	f.Add("arn:aws:execute-api:*:*:abc/*/GET/*", "arn:aws:execute-api:us-east-1:1:abc/prod/GET/x")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 48 || len(s) > 128 {
			return
		}
		m := compileResource(p, false)
		if got, want := m.match(s), refResource(p, s); got != want {
			t.Fatalf("Resource %q vs %q = %v, reference %v", p, s, got, want)
		}
	})
}
