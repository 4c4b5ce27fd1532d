package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MatchWildcard reports whether s matches pattern, where '*' matches any run of
// characters (including none, '/' and ':') and '?' matches exactly one
// character. Every other character matches itself, ignoring case (Unicode
// simple folding) when caseInsensitive is set. It is the rule of IAM's Action
// element (case-insensitive) and of StringLike (case-sensitive).
//
// It uses no regular expression and does not allocate. A case-sensitive
// pattern without '?' is matched in linear time: its first and last pieces
// anchor at the ends of s, and each piece between two '*' is found at its
// leftmost place with strings.Index. Other patterns keep a single
// backtracking point (the last '*' seen), which never explodes: linear for
// patterns with at most one '*', and len(pattern)·len(s) steps at worst.
func MatchWildcard(pattern, s string, caseInsensitive bool) bool {
	if !caseInsensitive && strings.IndexByte(pattern, '?') < 0 && utf8.ValidString(pattern) {
		return starMatch(pattern, s)
	}
	return glob(pattern, s, caseInsensitive, false)
}

// starMatch matches a case-sensitive pattern whose only wildcard is '*'. It
// works on bytes, which is the same as working on characters when the pattern
// is valid UTF-8: its pieces then start and end on character boundaries of s.
func starMatch(p, s string) bool {
	i := strings.IndexByte(p, '*')
	if i < 0 {
		return p == s
	}
	if !strings.HasPrefix(s, p[:i]) {
		return false
	}
	s, p = s[i:], p[i+1:]
	j := strings.LastIndexByte(p, '*')
	if j < 0 {
		return strings.HasSuffix(s, p)
	}
	last := p[j+1:]
	if !strings.HasSuffix(s, last) {
		return false
	}
	s, p = s[:len(s)-len(last)], p[:j]
	// The pieces between the first and the last '*', each at its leftmost
	// place: a later place never leaves more room for the next piece.
	for p != "" {
		k := strings.IndexByte(p, '*')
		piece := p
		if k >= 0 {
			piece, p = p[:k], p[k+1:]
		} else {
			p = ""
		}
		if piece == "" {
			continue
		}
		at := strings.Index(s, piece)
		if at < 0 {
			return false
		}
		s = s[at+len(piece):]
	}
	return true
}

// escByte introduces a literal byte in a pattern built by variable
// substitution: "\x00*" is a literal '*', "\x00?" a literal '?' and
// "\x00\x00" a literal NUL. Patterns written in a policy never use it.
const escByte = 0

// nextRune decodes the character at s[i:]. A byte that is not valid UTF-8 is
// returned as a negative value unique to that byte, so that two different
// invalid bytes never compare equal.
func nextRune(s string, i int) (rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return -1 - rune(c), 1
	}
	return r, n
}

// patRune reads one pattern character at p[i:] that is not a wildcard,
// honouring escapes when esc is set.
func patRune(p string, i int, esc bool) (rune, int) {
	if esc && p[i] == escByte && i+1 < len(p) {
		return rune(p[i+1]), 2
	}
	return nextRune(p, i)
}

// runeEq compares two characters, folding case when fold is set.
func runeEq(a, b rune, fold bool) bool {
	if a == b {
		return true
	}
	if !fold || a < 0 || b < 0 {
		return false
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	// Walk the fold orbit of a, as strings.EqualFold does.
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// foldEq reports whether a and b are equal under simple case folding, with
// the same rules as glob (invalid UTF-8 bytes match only themselves).
func foldEq(a, b string) bool {
	if utf8.ValidString(a) && utf8.ValidString(b) {
		return strings.EqualFold(a, b)
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ra, na := nextRune(a, i)
		rb, nb := nextRune(b, j)
		if !runeEq(ra, rb, true) {
			return false
		}
		i += na
		j += nb
	}
	return i == len(a) && j == len(b)
}

// glob is MatchWildcard with escapes (see escByte) when esc is set.
func glob(p, s string, fold, esc bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0 // pattern index after the last '*', and where it started in s
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				pi++
				starP, starS = pi, si
				continue
			case '?':
				_, n := nextRune(s, si)
				pi++
				si += n
				continue
			default:
				pc, sc := p[pi], s[si]
				if pc < utf8.RuneSelf && sc < utf8.RuneSelf && (!esc || pc != escByte) {
					if pc == sc || fold && lowerASCII(pc) == lowerASCII(sc) {
						pi++
						si++
						continue
					}
					break
				}
				pr, pn := patRune(p, pi, esc)
				sr, sn := nextRune(s, si)
				if runeEq(pr, sr, fold) {
					pi += pn
					si += sn
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' absorb one more character and retry after it.
		_, n := nextRune(s, starS)
		starS += n
		pi, si = starP, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// literal reports whether p has no wildcard, so that it matches only itself.
func literal(p string, esc bool) bool {
	if esc {
		return false
	}
	return !strings.ContainsAny(p, "*?")
}

// matcher is a compiled Action or Resource pattern.
type matcher struct {
	kind   matchKind
	p      string // the pattern
	pre    string // for matchPrefix: the part before the '*'
	fold   bool
	esc    bool    // the pattern holds escapes (see escByte)
	tokens []token // for matchNFA only
}

type matchKind uint8

const (
	matchAll    matchKind = iota // "*"
	matchExact                   // no wildcard
	matchPrefix                  // literal text then one trailing '*'
	matchStars                   // case-sensitive, '*' the only wildcard
	matchGlob                    // general wildcard pattern
	matchNFA                     // ARN pattern with wildcards confined to one ARN segment
)

// compileAction compiles an Action element value: the whole "service:action"
// string is matched case-insensitively with '*' and '?'.
func compileAction(p string) matcher {
	return compileGlob(p, true, false)
}

func compileGlob(p string, fold, esc bool) matcher {
	if p == "*" {
		return matcher{kind: matchAll}
	}
	if literal(p, esc) {
		return matcher{kind: matchExact, p: p, fold: fold}
	}
	if !esc && strings.IndexAny(p, "*?") == len(p)-1 && p[len(p)-1] == '*' {
		return matcher{kind: matchPrefix, p: p, pre: p[:len(p)-1], fold: fold}
	}
	if !fold && !esc && strings.IndexByte(p, '?') < 0 && utf8.ValidString(p) {
		return matcher{kind: matchStars, p: p}
	}
	return matcher{kind: matchGlob, p: p, fold: fold, esc: esc}
}

// compileResource compiles a Resource element value. IAM compares the request
// ARN with the pattern as a whole string, '*' expanding across '/' and, when it
// is the last character of an ARN segment, across ':' too; a '*' inside one of
// the first five segments ("us-*-1") or a '?' there stays within that
// segment. A pattern without such a wildcard is therefore a plain glob.
func compileResource(p string, esc bool) matcher {
	m := compileGlob(p, false, esc)
	if m.kind != matchGlob && m.kind != matchStars {
		return m
	}
	toks, confined := arnTokens(p, esc)
	if !confined {
		return m
	}
	return matcher{kind: matchNFA, p: p, tokens: toks}
}

func (m *matcher) match(s string) bool {
	switch m.kind {
	case matchAll:
		return true
	case matchExact:
		if m.fold {
			return foldEq(m.p, s)
		}
		return m.p == s
	case matchPrefix:
		if !m.fold {
			return strings.HasPrefix(s, m.pre)
		}
		// A folded character can differ in byte length from its match (k
		// and the Kelvin sign): only ASCII on both sides is decided here.
		if len(s) >= len(m.pre) && isASCII(m.pre) && isASCII(s[:len(m.pre)]) {
			return strings.EqualFold(m.pre, s[:len(m.pre)])
		}
		return glob(m.p, s, true, false)
	case matchStars:
		return starMatch(m.p, s)
	case matchGlob:
		return glob(m.p, s, m.fold, m.esc)
	case matchNFA:
		return nfaMatch(m.tokens, s)
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// token is one element of an ARN pattern run by nfaMatch.
type token struct {
	kind     tokenKind
	r        rune // for tokLit
	confined bool // for tokStar and tokAny: may not match ':'
}

type tokenKind uint8

const (
	tokLit tokenKind = iota
	tokAny
	tokStar
)

// arnTokens splits an ARN pattern into tokens and marks the wildcards that
// must stay within their segment: in the first five colon-separated segments,
// every '?' and every '*' that is not the last character of its segment. It
// reports whether any wildcard is so confined.
func arnTokens(p string, esc bool) ([]token, bool) {
	toks := make([]token, 0, len(p))
	colons, confined := 0, false
	for i := 0; i < len(p); {
		switch p[i] {
		case '*':
			j := i
			for j < len(p) && p[j] == '*' {
				j++
			}
			lastInSegment := j == len(p) || p[j] == ':'
			c := colons < 5 && !lastInSegment
			confined = confined || c
			toks = append(toks, token{kind: tokStar, confined: c})
			i = j
		case '?':
			c := colons < 5
			confined = confined || c
			toks = append(toks, token{kind: tokAny, confined: c})
			i++
		default:
			r, n := patRune(p, i, esc)
			if r == ':' && n == 1 {
				colons++
			}
			toks = append(toks, token{kind: tokLit, r: r})
			i += n
		}
	}
	return toks, confined
}

// nfaMatch runs the tokens as a nondeterministic automaton over s, one bit per
// token position, in len(toks)·len(s) time. The state sets live on the stack
// for patterns of up to 511 tokens.
func nfaMatch(toks []token, s string) bool {
	n := len(toks)
	words := n/64 + 1
	var buf [2 * 8]uint64
	var cur, next []uint64
	if words <= 8 {
		cur, next = buf[:words], buf[8:8+words]
	} else {
		all := make([]uint64, 2*words)
		cur, next = all[:words], all[words:]
	}
	set := func(b []uint64, i int) { b[i>>6] |= 1 << (uint(i) & 63) }
	has := func(b []uint64, i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
	closure := func(b []uint64) {
		for i := 0; i < n; i++ {
			if toks[i].kind == tokStar && has(b, i) {
				set(b, i+1)
			}
		}
	}
	set(cur, 0)
	closure(cur)
	for si := 0; si < len(s); {
		c, w := nextRune(s, si)
		si += w
		clear(next)
		alive := false
		for i := 0; i < n; i++ {
			if !has(cur, i) {
				continue
			}
			t := toks[i]
			switch t.kind {
			case tokStar:
				if !t.confined || c != ':' {
					set(next, i)
					alive = true
				}
			case tokAny:
				if !t.confined || c != ':' {
					set(next, i+1)
					alive = true
				}
			case tokLit:
				if t.r == c {
					set(next, i+1)
					alive = true
				}
			}
		}
		if !alive {
			return false
		}
		closure(next)
		cur, next = next, cur
	}
	return has(cur, n)
}
