package server_test

import (
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw/apigw/internal/apigwtest"
)

// End-to-end tests of what the admin listener reads before it knows who
// is calling: nothing for a caller it can refuse without the body, and a
// bounded total for the others.

// gatedBody is a request body of n zero bytes that sends nothing until open
// is closed, and counts what it sent.
type gatedBody struct {
	n    int64
	open <-chan struct{}
	sent *atomic.Int64
}

var zeros = make([]byte, 32<<10)

func (g *gatedBody) Read(p []byte) (int, error) {
	<-g.open
	if g.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), g.n, int64(len(zeros)))
	copy(p, zeros[:k])
	g.n -= k
	g.sent.Add(k)
	return int(k), nil
}

// fakeSigned is a POST to the admin listener of size bytes, signed for
// service with creds whose secret is made up, its body held until open.
func fakeSigned(t *testing.T, in *apigwtest.Instance, service, path string, c aws.Credentials, size int64, open <-chan struct{}, sent *atomic.Int64) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, in.AdminURL+path, &gatedBody{n: size, open: open, sent: sent})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/json")
	c.SecretAccessKey = "made-up-secret-made-up-secret-made-up-secr"
	if err := iaSigner().SignHTTP(t.Context(), c, req, iaEmptySHA, service, iaRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

type adminAnswer struct {
	status    int
	errorType string
	body      string
}

func sendAdmin(req *http.Request) (adminAnswer, error) {
	resp, err := iaHTTP.Do(req)
	if err != nil {
		return adminAnswer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return adminAnswer{resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), string(b)}, nil
}

// TestAdminRefusesBeforeTheBody: a request that can be refused from its
// headers (unknown key, wrong region, expired, too large) is answered with
// none of its body read.
func TestAdminRefusesBeforeTheBody(t *testing.T) {
	in := apigwtest.Start(t)
	const size = 60 << 20
	tests := []struct {
		name, service, path string
		creds               aws.Credentials
		size                int64
		adjust              func(*http.Request)
		status              int
		errorType           string
	}{
		{"unknown-key", "apigateway", "/restapis", aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00"}, size, nil, 403, "UnrecognizedClientException"},
		{"wrong-region", "lambda", "/2015-03-31/functions", iaRoot, size, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/eu-west-1/", 1))
		}, 403, "InvalidSignatureException"},
		{"expired", "apigateway", "/restapis", iaRoot, size, func(r *http.Request) {
			r.Header.Set("X-Amz-Date", time.Now().Add(-time.Hour).UTC().Format("20060102T150405Z"))
		}, 403, "InvalidSignatureException"},
		{"larger-than-the-service-takes", "apigateway", "/restapis", iaRoot, 11 << 20, nil, 413, "RequestEntityTooLargeException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := make(chan struct{})
			var sent atomic.Int64
			req := fakeSigned(t, in, tc.service, tc.path, tc.creds, tc.size, open, &sent)
			if tc.adjust != nil {
				tc.adjust(req)
			}
			type result struct {
				a   adminAnswer
				err error
			}
			done := make(chan result, 1)
			go func() { a, err := sendAdmin(req); done <- result{a, err} }()
			var got result
			select {
			case got = <-done:
			case <-time.After(20 * time.Second):
				// The server waits for the body: let it come, and fail below.
				close(open)
				got = <-done
				t.Errorf("no answer before the body was sent")
			}
			if got.err != nil {
				t.Fatalf("request failed: %v", got.err)
			}
			if got.a.status != tc.status || got.a.errorType != tc.errorType {
				t.Errorf("got %d %s %s, want %d %s", got.a.status, got.a.errorType, got.a.body, tc.status, tc.errorType)
			}
			if n := sent.Load(); n != 0 {
				t.Errorf("%d bytes of body were sent before the answer", n)
			}
			select {
			case <-open:
			default:
				close(open)
			}
		})
	}
}

// heapBytes is the Go heap held by objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestAdminUnverifiedBodiesBounded: twelve parallel 60 MB uploads with a
// real access key and a made-up signature hold less than 100 MB of heap
// above idle; each is answered as AWS would (403 for the signature, or the
// service's throttling answer for those refused before their body).
func TestAdminUnverifiedBodiesBounded(t *testing.T) {
	in := apigwtest.Start(t)
	const (
		uploads = 12
		size    = 60 << 20
		bound   = 100 << 20
	)
	runtime.GC()
	idle := heapBytes()

	stop := make(chan struct{})
	var peak atomic.Uint64
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	// The bodies are held until every upload the server will not read has
	// been answered, so that all twelve are in flight at once.
	open := make(chan struct{})
	var sent atomic.Int64
	answers := make(chan adminAnswer, uploads)
	var wg sync.WaitGroup
	for i := 0; i < uploads; i++ {
		req := fakeSigned(t, in, "lambda", "/2015-03-31/functions", iaRoot, size, open, &sent)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := sendAdmin(req)
			if err != nil {
				t.Errorf("upload: %v", err)
				a = adminAnswer{status: -1}
			}
			answers <- a
		}()
	}
	var got []adminAnswer
	deadline := time.After(20 * time.Second)
wait:
	for len(got) < uploads-1 {
		select {
		case a := <-answers:
			got = append(got, a)
		case <-deadline:
			break wait
		}
	}
	close(open)
	wg.Wait()
	close(answers)
	for a := range answers {
		got = append(got, a)
	}
	close(stop)
	sampler.Wait()

	var refused, throttled int
	for _, a := range got {
		switch {
		case a.status == 403 && a.errorType == "InvalidSignatureException":
			refused++
		case a.status == 429 && a.errorType == "TooManyRequestsException" && a.body == `{"message":"Rate Exceeded."}`:
			throttled++
		default:
			t.Errorf("unexpected answer %d %s %s", a.status, a.errorType, a.body)
		}
	}
	grew := int64(peak.Load()) - int64(idle)
	t.Logf("heap idle %.1f MB, peak %.1f MB (+%.1f MB); %d refused after their body, %d throttled before it; %.1f MB of body sent",
		float64(idle)/1e6, float64(peak.Load())/1e6, float64(grew)/1e6, refused, throttled, float64(sent.Load())/1e6)
	if grew >= bound {
		t.Errorf("heap grew by %.1f MB under %d parallel unverified uploads of %d MB, want under %d MB",
			float64(grew)/1e6, uploads, size>>20, bound>>20)
	}
	if refused < 1 {
		t.Errorf("no upload was read and refused for its signature")
	}
}
