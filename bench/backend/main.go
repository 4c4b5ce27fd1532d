// Command backend is a small HTTP backend for apigw's walk-through and load
// harness: fixed JSON answers of 128 bytes (/small) and 4 KiB (/large), and
// /echo, which answers with what it received.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
)

func fixed(n int) []byte {
	// {"data":"xxxx..."} padded to exactly n bytes.
	pad := n - len(`{"data":""}`)
	return []byte(`{"data":"` + strings.Repeat("x", pad) + `"}`)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	small, large := fixed(128), fixed(4096)
	serve := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/small", serve(small))
	mux.Handle("/large", serve(large))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method":  r.Method,
			"path":    r.URL.Path,
			"query":   r.URL.Query(),
			"headers": r.Header,
			"body":    string(body),
		})
	})
	log.Printf("backend listening on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
