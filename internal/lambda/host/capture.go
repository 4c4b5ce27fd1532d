package host

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// maxCapture is the most output kept for one invocation; beyond it the
// oldest output is dropped.
const maxCapture = 4 << 20

// capture reads a worker's stdout and stderr (one pipe, so that their order
// is kept) and keeps what was not yet taken.
//
// sync makes sure that everything the process wrote before a moment (its
// Runtime API call) has been read: the reader is woken by a read deadline,
// asks the kernel how many bytes wait in the pipe and reads exactly those.
type capture struct {
	f    *os.File
	done chan struct{}

	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte
	dropped  int
	eof      bool
	gaveUp   bool // waitEOF's time ran out
	syncWant bool
	syncGen  uint64
}

func newCapture(f *os.File) *capture {
	c := &capture{f: f, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// loop reads until the pipe's end.
func (c *capture) loop() {
	defer close(c.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.f.Read(buf)
		c.mu.Lock()
		c.appendLocked(buf[:n])
		if c.syncWant {
			c.drainLocked(buf)
			c.syncWant = false
			c.syncGen++
			c.cond.Broadcast()
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = c.f.SetReadDeadline(time.Time{})
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			c.eof = true
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// drainLocked reads what waits in the pipe now.
func (c *capture) drainLocked(buf []byte) {
	_ = c.f.SetReadDeadline(time.Time{})
	avail := pipeAvailable(c.f)
	for avail > 0 {
		n, err := c.f.Read(buf[:min(len(buf), avail)])
		c.appendLocked(buf[:n])
		avail -= n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A sync's deadline came in late; the bytes are there.
			_ = c.f.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil {
			return
		}
	}
}

func (c *capture) appendLocked(p []byte) {
	if len(p) == 0 {
		return
	}
	c.buf = append(c.buf, p...)
	if over := len(c.buf) - maxCapture; over > 0 {
		c.buf = append(c.buf[:0], c.buf[over:]...)
		c.dropped += over
	}
}

// sync returns once all the output written before it was called is read.
func (c *capture) sync() {
	c.mu.Lock()
	if c.eof {
		c.mu.Unlock()
		return
	}
	c.syncWant = true
	gen := c.syncGen
	c.mu.Unlock()
	if err := c.f.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		// Not a pollable pipe: output is attributed as it is read.
		c.mu.Lock()
		c.syncWant = false
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	for c.syncGen == gen && !c.eof {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

// take returns the output read so far and not yet taken.
func (c *capture) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf
	c.buf = nil
	if c.dropped > 0 {
		b = append([]byte(fmt.Sprintf("[%d bytes of earlier output dropped]\n", c.dropped)), b...)
		c.dropped = 0
	}
	return b
}

// waitEOF waits for the pipe's end (every writer gone), at most d.
func (c *capture) waitEOF(d time.Duration) {
	t := time.AfterFunc(d, func() {
		c.mu.Lock()
		c.gaveUp = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer t.Stop()
	c.mu.Lock()
	for !c.eof && !c.gaveUp {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

// close ends the reader (a process that escaped its group may still hold
// the pipe's other end) and waits for it.
func (c *capture) close() {
	_ = c.f.Close()
	<-c.done
}
