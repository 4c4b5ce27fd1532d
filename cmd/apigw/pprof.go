//go:build pprof

package main

import (
	"log"
	"net/http"
	_ "net/http/pprof" // the profiling handlers, in builds tagged pprof only
	"os"
)

// A binary built with -tags pprof serves net/http/pprof on
// APIGW_PPROF_LISTEN (default 127.0.0.1:6060), for profiling under load
// (bench/run.sh with BENCH_GO_TAGS=pprof). Release builds do not have it.
func init() {
	addr := os.Getenv("APIGW_PPROF_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() { log.Println(http.ListenAndServe(addr, nil)) }()
}
