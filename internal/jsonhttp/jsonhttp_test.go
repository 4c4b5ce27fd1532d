package jsonhttp

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRouted(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	unknown := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Routed(mux, unknown)
	for _, tc := range []struct {
		method, target string
		want           int
		muxRedirects   bool // what a bare ServeMux does with it
	}{
		{"GET", "/items/a", http.StatusOK, false},
		{"GET", "/items/a/", http.StatusNotFound, false},
		{"GET", "/items/%2e%2e", http.StatusOK, false}, // an id, not a segment
		{"GET", "/items/a%2Fb", http.StatusOK, false},
		{"GET", "/other", http.StatusNotFound, false},
		{"GET", "/items/../items/a", http.StatusTeapot, true},
		{"GET", "/items/./a", http.StatusTeapot, true},
		{"GET", "/items/a/..", http.StatusTeapot, true},
		{"GET", "//items/a", http.StatusTeapot, true},
		{"GET", "/items//a", http.StatusTeapot, true},
		{"GET", "/items/a//", http.StatusTeapot, true},
		{"DELETE", "/x/../", http.StatusTeapot, true},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://h"+tc.target, nil)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if redirected := rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusMovedPermanently; redirected != tc.muxRedirects {
				t.Fatalf("bare ServeMux answered %d; the table says redirect=%v", rec.Code, tc.muxRedirects)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("Routed answered %d, want %d", rec.Code, tc.want)
			}
		})
	}
	t.Run("CONNECT", func(t *testing.T) {
		req := httptest.NewRequest("CONNECT", "http://h/items/a", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusTeapot {
			t.Errorf("CONNECT answered %d, want the unknown operation", rec.Code)
		}
	})
}
