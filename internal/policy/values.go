package policy

import (
	"net/netip"
	"strings"
	"time"
)

// decimal is a number of a Numeric condition, kept as digits so that
// comparisons are exact whatever the magnitude.
type decimal struct {
	neg  bool
	intp string // integer digits without leading zeros ("" for zero)
	frac string // fraction digits without trailing zeros
}

// parseDecimal reads an integer or decimal value: an optional sign, digits and
// an optional fraction. Exponents, NaN and infinities are not numbers to IAM.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if s != "" && (s[0] == '+' || s[0] == '-') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	intp, frac, dot := strings.Cut(s, ".")
	if intp == "" && frac == "" || dot && frac == "" || !allDigits(intp) || !allDigits(frac) {
		return decimal{}, false
	}
	d.intp = strings.TrimLeft(intp, "0")
	d.frac = strings.TrimRight(frac, "0")
	if d.intp == "" && d.frac == "" {
		d.neg = false
	}
	return d, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cmpDecimal(a, b decimal) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := cmpMagnitude(a, b)
	if a.neg {
		return -c
	}
	return c
}

func cmpMagnitude(a, b decimal) int {
	if len(a.intp) != len(b.intp) {
		if len(a.intp) < len(b.intp) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.intp, b.intp); c != 0 {
		return c
	}
	return strings.Compare(a.frac, b.frac)
}

// instant is a point in time of a Date condition.
type instant struct {
	sec  int64
	nsec int32
}

func cmpInstant(a, b instant) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	case a.nsec < b.nsec:
		return -1
	case a.nsec > b.nsec:
		return 1
	}
	return 0
}

// parseInstant reads the date formats IAM accepts: the W3C profile of ISO 8601
// (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.s]]TZD, TZD being Z or
// ±hh:mm; a missing TZD is read as UTC) or epoch seconds, possibly with a
// fraction. Four digits alone are a year, not a second of 1970.
func parseInstant(s string) (instant, bool) {
	if s == "" {
		return instant{}, false
	}
	if allDigitsOrDot(s) && !(len(s) == 4 && allDigits(s)) {
		return parseEpoch(s)
	}
	var (
		year, month, day     = 0, 1, 1
		hour, minute, second int
		nsec                 int
		offset               int // seconds east of UTC
		ok                   bool
	)
	if year, s, ok = fixedInt(s, 4); !ok {
		return instant{}, false
	}
	if s != "" {
		if s[0] != '-' {
			return instant{}, false
		}
		if month, s, ok = fixedInt(s[1:], 2); !ok || month < 1 || month > 12 {
			return instant{}, false
		}
	}
	if s != "" {
		if s[0] != '-' {
			return instant{}, false
		}
		if day, s, ok = fixedInt(s[1:], 2); !ok || day < 1 || day > 31 {
			return instant{}, false
		}
	}
	if s != "" {
		if s[0] != 'T' && s[0] != 't' {
			return instant{}, false
		}
		if hour, s, ok = fixedInt(s[1:], 2); !ok || hour > 23 || s == "" || s[0] != ':' {
			return instant{}, false
		}
		if minute, s, ok = fixedInt(s[1:], 2); !ok || minute > 59 {
			return instant{}, false
		}
		if s != "" && s[0] == ':' {
			if second, s, ok = fixedInt(s[1:], 2); !ok || second > 59 {
				return instant{}, false
			}
			if s != "" && s[0] == '.' {
				i := 1
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					if i <= 9 {
						nsec = nsec*10 + int(s[i]-'0')
					}
					i++
				}
				if i == 1 {
					return instant{}, false
				}
				for k := i; k <= 9; k++ {
					nsec *= 10
				}
				s = s[i:]
			}
		}
		if offset, ok = parseZone(s); !ok {
			return instant{}, false
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, nsec, time.UTC)
	if t.Day() != day { // 2023-02-30
		return instant{}, false
	}
	return instant{sec: t.Unix() - int64(offset), nsec: int32(nsec)}, true
}

func allDigitsOrDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func parseEpoch(s string) (instant, bool) {
	intp, frac, dot := strings.Cut(s, ".")
	if intp == "" || len(intp) > 18 || dot && frac == "" || !allDigits(frac) {
		return instant{}, false
	}
	var sec int64
	for i := 0; i < len(intp); i++ {
		sec = sec*10 + int64(intp[i]-'0')
	}
	var nsec int32
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(frac) {
			nsec += int32(frac[i] - '0')
		}
	}
	return instant{sec: sec, nsec: nsec}, true
}

// fixedInt reads exactly n digits.
func fixedInt(s string, n int) (int, string, bool) {
	if len(s) < n {
		return 0, s, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, s, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, s[n:], true
}

// parseZone reads "", "Z", "±hh:mm", "±hhmm" or "±hh".
func parseZone(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if s == "Z" || s == "z" {
		return 0, true
	}
	if s[0] != '+' && s[0] != '-' {
		return 0, false
	}
	h, rest, ok := fixedInt(s[1:], 2)
	if !ok || h > 23 {
		return 0, false
	}
	m := 0
	if rest != "" {
		if rest[0] == ':' {
			rest = rest[1:]
		}
		if m, rest, ok = fixedInt(rest, 2); !ok || m > 59 || rest != "" {
			return 0, false
		}
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// parsePrefix reads an IpAddress value: CIDR notation, or a single address
// taken as /32 (IPv4) or /128 (IPv6).
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, ok := parseAddr(s)
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseAddr reads a request's IP address; an IPv4 address written as IPv6
// (::ffff:192.0.2.1) is taken as IPv4, and a zone is dropped.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}
