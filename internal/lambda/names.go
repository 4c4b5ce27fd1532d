package lambda

import (
	"strings"
)

// fnNamePattern is the pattern AWS quotes when a function name or ARN is
// malformed.
const fnNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// fnRef is a function named by a name, a partial ARN or a full ARN, with an
// optional qualifier.
type fnRef struct {
	Name      string
	Qualifier string // "" when none was given
	Region    string // "" unless a full ARN named it
	Account   string // "" unless an ARN named it
	Partition string
}

// parseFunctionName reads the forms Lambda accepts: "name", "name:qualifier",
// "123456789012:function:name[:qualifier]" and
// "arn:aws:lambda:region:123456789012:function:name[:qualifier]".
func parseFunctionName(s string) (fnRef, bool) {
	var r fnRef
	parts := strings.Split(s, ":")
	switch {
	case parts[0] == "arn":
		if len(parts) != 7 && len(parts) != 8 {
			return r, false
		}
		if !strings.HasPrefix(parts[1], "aws") || parts[2] != "lambda" || parts[5] != "function" ||
			!validRegion(parts[3]) || !validAccount(parts[4]) {
			return r, false
		}
		r.Partition, r.Region, r.Account, r.Name = parts[1], parts[3], parts[4], parts[6]
		if len(parts) == 8 {
			r.Qualifier = parts[7]
			if r.Qualifier == "" {
				return r, false
			}
		}
	case len(parts) == 1:
		r.Name = parts[0]
	case len(parts) == 2:
		r.Name, r.Qualifier = parts[0], parts[1]
		if r.Qualifier == "" {
			return r, false
		}
	case len(parts) == 3 || len(parts) == 4:
		if !validAccount(parts[0]) || parts[1] != "function" {
			return r, false
		}
		r.Account, r.Name = parts[0], parts[2]
		if len(parts) == 4 {
			r.Qualifier = parts[3]
			if r.Qualifier == "" {
				return r, false
			}
		}
	default:
		return r, false
	}
	if !validName(r.Name, true) || (r.Qualifier != "" && !validQualifier(r.Qualifier)) || len(s) > 170 {
		return r, false
	}
	return r, true
}

// validName: [a-zA-Z0-9-_]+ (dots too where AWS reads names it may have
// created with another API).
func validName(s string, dots bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.' && dots:
		default:
			return false
		}
	}
	return true
}

func validQualifier(q string) bool {
	return q == "$LATEST" || (len(q) <= 128 && validName(q, false))
}

func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validRegion: [a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d
func validRegion(s string) bool {
	p := strings.Split(s, "-")
	if len(p) < 3 || len(p) > 4 || len(p[0]) != 2 || !lower(p[0]) {
		return false
	}
	if len(p) == 4 && p[1] != "gov" && !strings.HasPrefix(p[1], "iso") {
		return false
	}
	mid, num := p[len(p)-2], p[len(p)-1]
	return mid != "" && lower(mid) && len(num) == 1 && num[0] >= '0' && num[0] <= '9'
}

func lower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func (s *Service) functionARN(name string) string {
	return "arn:aws:lambda:" + s.Region + ":" + s.AccountID + ":function:" + name
}

func (s *Service) qualifiedARN(name, qualifier string) string {
	if qualifier == "" {
		return s.functionARN(name)
	}
	return s.functionARN(name) + ":" + qualifier
}

// resolve parses a function name given to an operation, merges the
// Qualifier parameter, and checks the function would live here.
func (s *Service) resolve(name, qualifier string) (fnRef, error) {
	r, ok := parseFunctionName(name)
	if !ok {
		return r, validation(quoted(name), "functionName", "Member must satisfy regular expression pattern: "+fnNamePattern)
	}
	if qualifier != "" {
		if !validQualifier(qualifier) {
			return r, validation(quoted(qualifier), "qualifier", "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
		}
		if r.Qualifier != "" && r.Qualifier != qualifier {
			return r, invalidParam("The derived qualifier from the function name does not match the specified qualifier.")
		}
		r.Qualifier = qualifier
	}
	if r.Region != "" && r.Region != s.Region {
		return r, notFound("Functions from '%s' are not reachable in this region ('%s')", r.Region, s.Region)
	}
	if r.Account != "" && r.Account != s.AccountID {
		return r, errFunctionNotFound("arn:aws:lambda:" + s.Region + ":" + r.Account + ":function:" + r.Name)
	}
	return r, nil
}
