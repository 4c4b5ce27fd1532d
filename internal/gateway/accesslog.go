package gateway

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AccessLog writes one line per request, off the request's path: lines go
// through a buffered channel to a single writer goroutine, and when the
// writer falls behind, lines are dropped and counted rather than slowing
// requests down.
type AccessLog struct {
	ch      chan []byte
	dropped atomic.Uint64
	done    chan struct{}
	once    sync.Once
}

// NewAccessLog starts writing lines to w until Close.
func NewAccessLog(w io.Writer) *AccessLog {
	l := &AccessLog{ch: make(chan []byte, 8192), done: make(chan struct{})}
	go l.run(w)
	return l
}

func (l *AccessLog) run(w io.Writer) {
	defer close(l.done)
	bw := bufio.NewWriterSize(w, 64<<10)
	for line := range l.ch {
		bw.Write(line)
		// Flush when nothing else is waiting, so lines are not held back.
		if len(l.ch) == 0 {
			bw.Flush()
		}
	}
	bw.Flush()
}

// Dropped is the number of lines dropped because the writer fell behind.
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

func (l *AccessLog) write(line []byte) {
	select {
	case l.ch <- line:
	default:
		l.dropped.Add(1)
	}
}

// Close writes what is queued and stops. Requests must be over.
func (l *AccessLog) Close() {
	l.once.Do(func() { close(l.ch) })
	<-l.done
}

// DefaultAccessLogFormat is used for stages without accessLogSettings.format.
const DefaultAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",` +
	`"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status",` +
	`"protocol":"$context.protocol","responseLength":"$context.responseLength","apiId":"$context.apiId","stage":"$context.stage",` +
	`"responseLatency":"$context.responseLatency"}`

// logFormat is an access log format compiled into literal text and
// $context variables.
type logFormat []logPart

type logPart struct {
	text  string
	isVar bool
}

func compileLogFormat(f string) logFormat {
	var parts logFormat
	for f != "" {
		i := strings.Index(f, "$context.")
		if i < 0 {
			parts = append(parts, logPart{text: f})
			break
		}
		if i > 0 {
			parts = append(parts, logPart{text: f[:i]})
		}
		f = f[i+len("$context."):]
		j := 0
		for j < len(f) && (isVarChar(f[j]) || f[j] == '.' && j+1 < len(f) && isVarChar(f[j+1])) {
			j++
		}
		parts = append(parts, logPart{text: f[:j], isVar: true})
		f = f[j:]
	}
	return parts
}

func isVarChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// logRecorder notes what the access log needs of the response.
type logRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *logRecorder) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *logRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *logRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logEntry is what one request's line is made of.
type logEntry struct {
	rq        *request
	start     time.Time
	status    int
	bytes     int64
	errorText string
}

var defaultLogFormat = compileLogFormat(DefaultAccessLogFormat)

// format is the stage's access log format, or the default one.
func (e *logEntry) format() logFormat {
	if st := e.rq.stage; st != nil && st.logFormat != nil {
		return st.logFormat
	}
	return defaultLogFormat
}

func (e *logEntry) value(name string) string {
	rq := e.rq
	switch name {
	case "requestId":
		return rq.ids[0]
	case "extendedRequestId":
		return rq.ids[1]
	case "xrayTraceId":
		return rq.ids[2]
	case "identity.sourceIp":
		return rq.SourceIP
	case "identity.userAgent":
		return rq.Header.Get("User-Agent")
	case "identity.apiKeyId":
		return rq.APIKeyID
	case "requestTime":
		return e.start.UTC().Format("02/Jan/2006:15:04:05 -0700")
	case "requestTimeEpoch":
		return strconv.FormatInt(e.start.UnixMilli(), 10)
	case "httpMethod":
		return rq.HTTPMethod
	case "resourcePath":
		return rq.ResourcePath
	case "path":
		return decodedPath(rq.rawPath)
	case "status":
		return strconv.Itoa(e.status)
	case "protocol":
		return rq.Proto
	case "responseLength":
		return strconv.FormatInt(e.bytes, 10)
	case "responseLatency":
		return strconv.FormatInt(time.Since(e.start).Milliseconds(), 10)
	case "apiId":
		return rq.APIID
	case "stage":
		return rq.Stage
	case "isCanaryRequest":
		if rq.stage != nil && (rq.stage.isCanary || rq.stage.canary != nil) {
			return strconv.FormatBool(rq.IsCanary)
		}
	case "domainName":
		return rq.Host
	case "error.message", "error.messageString":
		return e.errorText
	}
	if strings.HasPrefix(name, "identity.clientCert.") {
		if v := rq.ContextValue(name); v != "" {
			return v
		}
	}
	return "-"
}

func (f logFormat) render(e *logEntry) []byte {
	b := make([]byte, 0, 256)
	for _, p := range f {
		if p.isVar {
			b = appendJSONSafe(b, e.value(p.text))
		} else {
			b = append(b, p.text...)
		}
	}
	return append(b, '\n')
}

// appendJSONSafe appends s with the characters that would break a JSON
// string or a line escaped.
func appendJSONSafe(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}
