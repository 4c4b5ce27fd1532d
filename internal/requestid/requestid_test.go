package requestid

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !uuidV4.MatchString(id) {
			t.Fatalf("New() = %q, not a UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestHandler(t *testing.T) {
	var inside string
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside = Of(w) // what an XML writer puts in its body
		w.WriteHeader(http.StatusTeapot)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	got := rec.Header().Get("x-amzn-RequestId")
	if !uuidV4.MatchString(got) {
		t.Fatalf("x-amzn-RequestId = %q, want a UUID v4", got)
	}
	if inside != got {
		t.Errorf("Of inside the handler = %q, header = %q: want one id", inside, got)
	}
	// Wrapped twice (the admin listener, then a service): still one id.
	rec = httptest.NewRecorder()
	Handler(h).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Values("x-amzn-RequestId"); len(got) != 1 || got[0] != inside {
		t.Errorf("twice wrapped: header %q, handler saw %q", got, inside)
	}
}
