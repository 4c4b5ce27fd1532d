package route

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{in: "/", want: "/"},
		{in: "/prod/items/1", want: "/prod/items/1"},
		{in: "/prod/items/", want: "/prod/items/"},
		{in: "/prod/a.b/.hidden/x..y/...", want: "/prod/a.b/.hidden/x..y/..."},
		{in: "/prod/user%40example.com", want: "/prod/user%40example.com"},
		{in: "/prod/a%2Fb", want: "/prod/a%2Fb"}, // an escaped slash without dots is data
		{in: "/prod/a;b", want: "/prod/a;b"},
		{in: `/prod/a\b`, want: `/prod/a\b`},
		{in: "/prod//orders", want: "/prod//orders"},

		// Literal dot segments are removed, as RFC 3986 5.2.4 does.
		{in: "/prod/./x", want: "/prod/x"},
		{in: "/./x", want: "/x"},
		{in: "/prod/a/../admin", want: "/prod/admin"},
		{in: "/prod/../../admin", want: "/admin"},
		{in: "/../../../etc", want: "/etc"},
		{in: "/prod/a/..", want: "/prod/"},
		{in: "/prod/a/.", want: "/prod/a/"},
		{in: "/..", want: "/"},
		{in: "/.", want: "/"},
		{in: "/prod/a/./../b/./", want: "/prod/b/"},

		// Dot segments hidden behind an encoding are refused.
		{in: "/prod/%2e%2e/%2e%2e/admin", err: ErrDotSegment},
		{in: "/prod/%2E%2E/admin", err: ErrDotSegment},
		{in: "/prod/%2e/admin", err: ErrDotSegment},
		{in: "/prod/%2E", err: ErrDotSegment},
		{in: "/prod/.%2e/admin", err: ErrDotSegment},
		{in: "/prod/%2e./admin", err: ErrDotSegment},
		{in: "/prod/..%2fadmin", err: ErrDotSegment},
		{in: "/prod/a%2F..%2F..%2Fadmin", err: ErrDotSegment},
		{in: "/prod/%2e%2e%2fadmin", err: ErrDotSegment},
		{in: `/prod/..\admin`, err: ErrDotSegment},
		{in: `/prod/a\..\..\admin`, err: ErrDotSegment},
		{in: "/prod/..%5cadmin", err: ErrDotSegment},
		{in: "/prod/..;/admin", err: ErrDotSegment},
		{in: "/prod/..;jsessionid=1/admin", err: ErrDotSegment},
		{in: "/prod/%252e%252e/admin", err: ErrDotSegment},
		{in: "/prod/%25252e%25252e/admin", err: ErrDotSegment},
		{in: "/prod/..%252fadmin", err: ErrDotSegment},
		{in: "/prod/x/%2e%2e", err: ErrDotSegment},
		{in: "/%2e%2e/x", err: ErrDotSegment},

		// Encodings that are not dots stay as they are.
		{in: "/prod/%2e%2e%2e", want: "/prod/%2e%2e%2e"},
		{in: "/prod/%2ex", want: "/prod/%2ex"},
		{in: "/prod/%zz/..", want: "/prod/"},
		{in: "/prod/%", want: "/prod/%"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("CleanPath(%q) = %q, %v; want error %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCleanPathDoesNotAllocateOnPlainPaths(t *testing.T) {
	p := "/prod/items/123/details"
	if n := testing.AllocsPerRun(100, func() { _, _ = CleanPath(p) }); n != 0 {
		t.Fatalf("CleanPath allocates %v times on a plain path", n)
	}
}

// FuzzCleanPath checks that a cleaned path is a fixed point and that no
// segment of it is, or decodes to, a dot segment.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/prod/a/../b", "/prod/%2e%2e/x", `/a\..\b`, "/a/..;x/b", "/%252e", "/a%2Fb/./c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		got, err := CleanPath(p)
		if err != nil {
			return
		}
		again, err := CleanPath(got)
		if err != nil || again != got {
			t.Fatalf("CleanPath(%q) = %q, but CleanPath of that = %q, %v", p, got, again, err)
		}
		for _, s := range strings.Split(got, "/") {
			if s == "." || s == ".." || hidesDots(s) {
				t.Fatalf("CleanPath(%q) = %q keeps dot segment %q", p, got, s)
			}
		}
	})
}

func BenchmarkCleanPath(b *testing.B) {
	for _, p := range []string{"/prod/items/123/details", "/prod/a/../b/%2Fc"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = CleanPath(p)
			}
		})
	}
}
