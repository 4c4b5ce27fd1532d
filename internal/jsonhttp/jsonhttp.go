// Package jsonhttp holds what the REST-JSON APIs apigw serves (the
// management API and the Lambda API) share: the JSON answer writer, and the
// guard that keeps their muxes from answering with redirects.
package jsonhttp

import (
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Write answers with status and v encoded as JSON, with its length; a nil
// v answers with the status alone.
func Write(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"message":"Internal server error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// Routed serves with mux the requests that http.ServeMux routes as they
// are, and with unknown (the API's answer for an unknown operation) the
// others: a path with "." or ".." segments or an empty segment ("//"),
// which the mux would answer with a redirect to the cleaned path in HTML,
// and CONNECT. An AWS API answers no request with a redirect.
func Routed(mux, unknown http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect || !clean(r.URL.EscapedPath()) {
			unknown.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// clean reports whether p is its own canonical form as http.ServeMux
// computes it (path.Clean, keeping a trailing slash).
func clean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if c != "/" && strings.HasSuffix(p, "/") {
		c += "/"
	}
	return c == p
}
