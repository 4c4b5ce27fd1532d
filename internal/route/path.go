package route

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by [Builder.Add], wrapped with detail; test with errors.Is.
var (
	// ErrInvalidPath: the resource path is malformed.
	ErrInvalidPath = errors.New("invalid resource path")
	// ErrInvalidMethod: the method is not one AWS accepts.
	ErrInvalidMethod = errors.New("invalid HTTP method")
	// ErrConflict: a second, different variable path part under one parent.
	ErrConflict = errors.New("conflicting variable path part")
	// ErrDuplicate: the same resource path and method were added twice.
	ErrDuplicate = errors.New("duplicate route")
)

// Method indexes. ANY is last; the seven others are the methods ANY covers.
const (
	mGET = iota
	mPOST
	mPUT
	mDELETE
	mPATCH
	mHEAD
	mOPTIONS
	mANY
	numMethods
)

// methodID maps an HTTP method to its index, or -1. Case sensitive.
func methodID(m string) int {
	switch m {
	case "GET":
		return mGET
	case "POST":
		return mPOST
	case "PUT":
		return mPUT
	case "DELETE":
		return mDELETE
	case "PATCH":
		return mPATCH
	case "HEAD":
		return mHEAD
	case "OPTIONS":
		return mOPTIONS
	case "ANY":
		return mANY
	}
	return -1
}

// ValidMethod reports whether m may be given to [Builder.Add]: GET, POST,
// PUT, DELETE, PATCH, HEAD, OPTIONS or ANY, upper case.
func ValidMethod(m string) bool { return methodID(m) >= 0 }

// partKind is the kind of one resource path part.
type partKind uint8

const (
	kindLiteral partKind = iota
	kindParam
	kindGreedy
)

type part struct {
	kind partKind
	text string // literal text, or variable name without braces and "+"
}

// isNameChar reports whether c may appear in a path part (literal or variable
// name): AWS allows a-zA-Z0-9._- and, since later, ':'.
func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == ':'
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// parsePart parses one path part: "items", "{id}" or "{proxy+}".
func parsePart(s string) (part, error) {
	if s == "" {
		return part{}, fmt.Errorf("%w: empty path part", ErrInvalidPath)
	}
	if s[0] == '{' {
		if len(s) < 3 || s[len(s)-1] != '}' {
			return part{}, fmt.Errorf("%w: unbalanced braces in %q", ErrInvalidPath, s)
		}
		name, kind := s[1:len(s)-1], kindParam
		if strings.HasSuffix(name, "+") {
			name, kind = name[:len(name)-1], kindGreedy
		}
		if !validName(name) {
			return part{}, fmt.Errorf("%w: bad variable name in %q", ErrInvalidPath, s)
		}
		return part{kind: kind, text: name}, nil
	}
	if !validName(s) {
		return part{}, fmt.Errorf("%w: path part %q may only contain a-zA-Z0-9._:- "+
			"or be a {variable} / {variable+}", ErrInvalidPath, s)
	}
	return part{kind: kindLiteral, text: s}, nil
}

// parseResourcePath splits and validates a resource path. "/" has no parts.
func parseResourcePath(p string) ([]part, error) {
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("%w: %q must start with /", ErrInvalidPath, p)
	}
	if p == "/" {
		return nil, nil
	}
	segs := strings.Split(p[1:], "/")
	parts := make([]part, 0, len(segs))
	for i, s := range segs {
		pt, err := parsePart(s)
		if err != nil {
			return nil, fmt.Errorf("%w (in %q)", err, p)
		}
		if pt.kind == kindGreedy && i != len(segs)-1 {
			return nil, fmt.Errorf("%w: greedy variable %q must be the last part of %q", ErrInvalidPath, s, p)
		}
		parts = append(parts, pt)
	}
	return parts, nil
}

// ValidateResourcePath checks a resource path the way [Builder.Add] does:
// it starts with "/", has no empty part (so no "//" and no trailing slash
// except for the root "/"), every part is a literal of [a-zA-Z0-9._:-] or a
// "{name}" / "{name+}" variable, and a greedy variable is the last part.
// The errors wrap [ErrInvalidPath].
func ValidateResourcePath(p string) error {
	_, err := parseResourcePath(p)
	return err
}
