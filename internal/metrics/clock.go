package metrics

import (
	"time"
	_ "unsafe" // for go:linkname
)

// Nanotime is the monotonic clock, in nanoseconds from an arbitrary
// start: what time.Since reads, without the time.Time around it (a third
// of the cost of a request's three readings).
func Nanotime() int64 { return nanotime() }

// runtime.nanotime is linknamed by many packages; the runtime keeps it for
// them (go.dev/issue/67401).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// The clocks at one moment, to place time.Now readings on Nanotime's scale.
var (
	baseTime = time.Now()
	baseNano = nanotime()
)

// Mono is t on Nanotime's scale, without reading the clock: t must come
// from time.Now (it holds a monotonic reading). It is off by the few
// nanoseconds between two clock readings at start.
func Mono(t time.Time) int64 { return baseNano + int64(t.Sub(baseTime)) }
