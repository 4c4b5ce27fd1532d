package server

import (
	"net"
	"testing"
)

func TestInvokeURL(t *testing.T) {
	addr := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, tc := range []struct {
		base string
		data net.Addr
		want string
	}{
		{"", addr("127.0.0.1:8080"), "http://127.0.0.1:8080/_aws/execute-api/abc/prod"},
		{"", addr("0.0.0.0:8080"), "http://127.0.0.1:8080/_aws/execute-api/abc/prod"},
		{"", addr("[::]:9000"), "http://127.0.0.1:9000/_aws/execute-api/abc/prod"},
		{"", addr("[::1]:9000"), "http://[::1]:9000/_aws/execute-api/abc/prod"},
		{"https://{apiId}.execute-api.example.com/", addr("127.0.0.1:1"), "https://abc.execute-api.example.com/prod"},
		{"https://gw.example.com/_aws/execute-api/{apiId}", addr("127.0.0.1:1"), "https://gw.example.com/_aws/execute-api/abc/prod"},
	} {
		if got := invokeURL(tc.base, tc.data)("abc", "prod"); got != tc.want {
			t.Errorf("invokeURL(%q, %v) = %q, want %q", tc.base, tc.data, got, tc.want)
		}
	}
}
