package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ports prints n distinct free TCP ports on 127.0.0.1, space-separated.
// They are free when printed; the script binds them right after.
func ports(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: harness ports N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 64 {
		return fmt.Errorf("bad count %q", args[0])
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		out = append(out, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}

// wait polls a URL until it answers with any HTTP status.
func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	url := fs.String("url", "", "URL to poll")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	fs.Parse(args)
	if *url == "" {
		return errors.New("-url is required")
	}
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(*timeout)
	for {
		resp, err := c.Get(*url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s: %v", *url, *timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
