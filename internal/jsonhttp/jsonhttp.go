// Package jsonhttp writes JSON answers for the REST-JSON APIs apigw serves
// (the management API and the Lambda API).
package jsonhttp

import (
	"encoding/json"
	"net/http"
	"strconv"
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
