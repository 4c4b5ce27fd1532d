// Command goproxy is the floor a Go proxy stands on, for the load harness:
// a net/http server that forwards every request to one backend and does
// nothing else. With -mode reverseproxy it uses httputil.ReverseProxy (Go's
// standard proxy); with -mode h1 it uses apigw's own backend client
// (internal/integration/h1), as apigw's HTTP_PROXY does, without apigw's
// pipeline (routing, authorization, metering, request ids).
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/integration/h1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9100", "address to listen on")
	backend := flag.String("backend", "http://127.0.0.1:9000", "backend base URL")
	mode := flag.String("mode", "h1", "reverseproxy or h1")
	flag.Parse()
	u, err := url.Parse(*backend)
	if err != nil {
		log.Fatal(err)
	}
	var h http.Handler
	switch *mode {
	case "reverseproxy":
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
		h = rp
	case "h1":
		h = newH1Proxy(u)
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
	log.Printf("goproxy (%s) listening on %s", *mode, *listen)
	log.Fatal(http.ListenAndServe(*listen, h))
}

type exchange struct {
	req  h1.Request
	resp h1.Response
}

func newH1Proxy(u *url.URL) http.Handler {
	var client h1.Client
	pool := client.Pool(u.Host)
	exchanges := sync.Pool{New: func() any { return new(exchange) }}
	omit := func(name string) bool {
		switch name {
		case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Connection":
			return true
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := exchanges.Get().(*exchange)
		defer exchanges.Put(x)
		x.req = h1.Request{Method: r.Method, Target: r.URL.RequestURI(), Host: u.Host, Header: r.Header, Omit: omit,
			ContentLength: r.ContentLength, Deadline: time.Now().Add(29 * time.Second)}
		if r.ContentLength != 0 {
			x.req.Body = r.Body
		}
		if err := pool.Do(r.Context(), &x.req, &x.resp); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer x.resp.Close()
		hdr := w.Header()
		for _, f := range x.resp.Fields {
			if !omit(f.Name) {
				hdr[f.Name] = append(hdr[f.Name], f.Value)
			}
		}
		w.WriteHeader(x.resp.StatusCode)
		x.resp.WriteTo(w, nil)
	})
}
