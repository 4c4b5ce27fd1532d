package route

import (
	"errors"
	"strings"
)

// ErrDotSegment is returned by [CleanPath] for a path segment that hides a
// dot segment from the router: percent-encoded dots ("%2e%2e", ".%2E"), an
// encoded or backslash separator next to dots ("..%2f", "..\"), a
// ";parameter" after dots ("..;x"), or any of these encoded again ("%252e").
// A backend that decodes the path would read such a segment as a step up the
// tree, which the router, the authorizers and the policies did not see.
var ErrDotSegment = errors.New("path segment decodes to a dot segment")

// maxDecodeRounds bounds how often a segment is percent-decoded when looking
// for hidden dots: enough for double and triple encoding, and a constant
// amount of work per byte.
const maxDecodeRounds = 4

// CleanPath returns the escaped request path p with its literal dot segments
// ("." and "..") removed as RFC 3986 section 5.2.4 does, which is what
// CloudFront in front of API Gateway and every browser do before routing. A
// ".." at the root stays at the root. A trailing slash left by a removed
// segment is kept. Any other segment that decodes to a dot segment is
// refused with [ErrDotSegment]: routing, authorization and the backend then
// always see one and the same path.
//
// p is returned unchanged, without allocating, when it holds no '.' at the
// start of a segment and no '%', '\' or ';'.
func CleanPath(p string) (string, error) {
	if !suspicious(p) {
		return p, nil
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	changed := false
	// segs[0] is what precedes the first '/': empty for an absolute path.
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".", "..":
			changed = true
			if s == ".." && len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "") // "/a/b/.." is "/a/"
			}
			continue
		}
		if i > 0 && hidesDots(s) {
			return "", ErrDotSegment
		}
		out = append(out, s)
	}
	if !changed {
		return p, nil
	}
	if len(out) == 1 && out[0] == "" {
		return "/", nil
	}
	return strings.Join(out, "/"), nil
}

// suspicious reports whether p may need CleanPath's slow path. Each test
// is a vectorized byte search: a few nanoseconds for a usual path.
func suspicious(p string) bool {
	return strings.IndexByte(p, '%') >= 0 || strings.Contains(p, "/.") || strings.HasPrefix(p, ".") ||
		strings.IndexByte(p, '\\') >= 0 || strings.IndexByte(p, ';') >= 0
}

// HidesDotSegment reports whether a value that is to become part of a path
// (a mapped path parameter, say) is, or decodes to, a "." or ".." segment,
// with the reading of [CleanPath]. '/' inside v separates segments.
func HidesDotSegment(v string) bool { return hidesDots(v) }

// hidesDots reports whether the segment s, read as a backend might read it
// (percent-decoded up to maxDecodeRounds times, split on '/' and '\', with
// ";params" cut off), holds a "." or ".." piece.
func hidesDots(s string) bool {
	for round := 0; ; round++ {
		if dotPiece(s) {
			return true
		}
		if round == maxDecodeRounds || strings.IndexByte(s, '%') < 0 {
			return false
		}
		d := unescape(s)
		if d == s {
			return false
		}
		s = d
	}
}

// dotPiece reports whether s, split on '/' and '\', has a piece that is "."
// or ".." once a ";..." suffix is cut off.
func dotPiece(s string) bool {
	for s != "" {
		i := strings.IndexAny(s, `/\`)
		piece := s
		if i >= 0 {
			piece, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if j := strings.IndexByte(piece, ';'); j >= 0 {
			piece = piece[:j]
		}
		if piece == "." || piece == ".." {
			return true
		}
	}
	return false
}
