package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apigw/apigw/internal/lambda"
)

// Runtime states, named as the Runtime API names them in its
// InvalidStateTransition errors.
const (
	stateStarted      = "Started"
	stateReady        = "Ready"
	stateRunning      = "Running"
	stateInitError    = "InitError"
	stateResponseSent = "RuntimeResponseSentState"
)

// worker is one process running a function, with its own Runtime API server.
type worker struct {
	h       *Host
	pool    *pool
	arn     string
	name    string
	version string
	gen     int
	memMB   int
	pid     int
	cmd     *exec.Cmd
	srv     *http.Server
	out     *capture
	started time.Time

	invCh      chan *invocation // the invocation given to this worker, taken by next
	initFailed chan struct{}    // closed when the runtime posts /init/error
	exited     chan struct{}    // closed when the process has exited
	gone       chan struct{}    // closed when the process, its server and its output are done
	quit       chan struct{}    // closed when the server stops
	serveDone  chan struct{}

	idleTimer *time.Timer // guarded by h.mu
	idleSince time.Time   // guarded by h.mu

	mu          sync.Mutex
	state       string
	cur         *invocation
	initDur     time.Duration // from start to the first next
	coldPending bool          // the next invocation delivered is the worker's first
	initErr     []byte
	initErrType string
	exitErr     error
	maxRSSMB    int
	stopping    bool
	handlers    sync.WaitGroup
	initOnce    sync.Once
	stopOnce    sync.Once
}

// startError is a worker that could not be started: Lambda answers it with
// Runtime.InvalidEntrypoint.
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

// startWorker starts a worker process for fn in a slot reserved in p, and
// makes it one of p's workers. The caller has done h.wg.Add(1) for it; the
// worker calls h.wg.Done when it is gone.
func (h *Host) startWorker(fn *Function, spec *launchSpec, p *pool, gen int) (*worker, error) {
	path, args, err := spec.command(fn, h.rtDir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambda host: runtime API listener: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("lambda host: output pipe: %w", err)
	}
	mem := fn.MemoryMB
	if mem <= 0 {
		mem = DefaultMemoryMB
	}
	w := &worker{
		h:           h,
		pool:        p,
		arn:         fn.ARN,
		name:        fn.Name,
		version:     fn.Version,
		gen:         gen,
		memMB:       mem,
		invCh:       make(chan *invocation, 1),
		initFailed:  make(chan struct{}),
		exited:      make(chan struct{}),
		gone:        make(chan struct{}),
		quit:        make(chan struct{}),
		serveDone:   make(chan struct{}),
		state:       stateStarted,
		coldPending: true,
	}
	stream := time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(32)
	cmd := exec.Command(path, args...)
	cmd.Dir = fn.CodeDir
	cmd.Env = h.environment(fn, spec, ln.Addr().String(), stream, mem)
	cmd.Stdout = pw
	cmd.Stderr = pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w.started = time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		ln.Close()
		return nil, &startError{msg: startErrorText(path, err)}
	}
	pw.Close()
	w.cmd = cmd
	w.pid = cmd.Process.Pid
	h.mu.Lock()
	if h.trackPIDs {
		h.pids = append(h.pids, w.pid)
	}
	// Before the process can be reaped: workerGone frees this slot.
	h.registerLocked(w, p)
	h.mu.Unlock()
	w.out = newCapture(pr)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", w.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", w.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", w.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", w.handleInitError)
	w.srv = &http.Server{Handler: w.guard(mux), ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)}

	go func() {
		defer close(w.serveDone)
		_ = w.srv.Serve(ln)
	}()
	go w.out.loop()
	go w.wait()
	h.log.Debug("lambda host: worker started", "function", fn.Name, "pid", w.pid, "runtimeApi", ln.Addr().String())
	return w, nil
}

// wait reaps the process, then stops the server and the output capture.
func (w *worker) wait() {
	err := w.cmd.Wait()
	w.mu.Lock()
	w.exitErr = err
	w.mu.Unlock()
	close(w.exited)
	// Whatever the process left behind in its group goes with it.
	_ = syscall.Kill(-w.pid, syscall.SIGKILL)
	w.stopServer()
	w.out.waitEOF(2 * time.Second)
	w.out.close()
	w.h.log.Debug("lambda host: worker exited", "function", w.name, "pid", w.pid, "status", fmt.Sprint(err))
	w.h.workerGone(w)
	close(w.gone)
	w.h.wg.Done()
}

// kill kills the worker's process group. It does not wait: <-w.gone does.
func (w *worker) kill() {
	if w.isExited() {
		return
	}
	_ = syscall.Kill(-w.pid, syscall.SIGKILL)
}

func (w *worker) isExited() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

func (w *worker) stopIdleTimer() {
	if w.idleTimer != nil {
		w.idleTimer.Stop()
		w.idleTimer = nil
	}
}

func (w *worker) stopServer() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.stopping = true
		w.mu.Unlock()
		close(w.quit)
		_ = w.srv.Close()
		w.handlers.Wait()
		<-w.serveDone
	})
}

// guard counts the handlers under way so that stopServer can wait for them.
func (w *worker) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		if w.stopping {
			w.mu.Unlock()
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.handlers.Add(1)
		w.mu.Unlock()
		defer w.handlers.Done()
		next.ServeHTTP(rw, r)
	})
}

// recordMemory reads the process's peak resident set size, for REPORT.
func (w *worker) recordMemory() {
	f, err := os.Open("/proc/" + strconv.Itoa(w.pid) + "/status")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			if kb, err := strconv.Atoi(fields[1]); err == nil {
				mb := (kb + 1023) / 1024
				w.mu.Lock()
				if mb > w.maxRSSMB {
					w.maxRSSMB = mb
				}
				w.mu.Unlock()
			}
		}
		return
	}
}

// ---- Runtime API ----

type statusResponse struct {
	Status string `json:"status"`
}

type errorResponse struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func invalidTransition(rw http.ResponseWriter, from, to string) {
	writeJSON(rw, http.StatusForbidden, errorResponse{
		ErrorType:    "InvalidStateTransition",
		ErrorMessage: fmt.Sprintf("State transition from %s to %s failed for runtime. Error: State transition is not allowed", from, to),
	})
}

func invalidRequestID(rw http.ResponseWriter) {
	writeJSON(rw, http.StatusBadRequest, errorResponse{ErrorType: "InvalidRequestID", ErrorMessage: "Invalid request ID"})
}

// handleNext blocks until the worker is given an invocation, then answers
// the event with the invocation's headers.
func (w *worker) handleNext(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	if w.state == stateRunning || w.state == stateInitError {
		from := w.state
		w.mu.Unlock()
		invalidTransition(rw, from, stateReady)
		return
	}
	if w.state == stateStarted && w.initDur == 0 {
		w.initDur = time.Since(w.started)
	}
	w.state = stateReady
	w.mu.Unlock()

	var inv *invocation
	select {
	case inv = <-w.invCh:
	case <-w.quit:
		return
	case <-r.Context().Done():
		return
	}
	// Everything the runtime wrote before asking for this event belongs
	// before its START line.
	w.out.sync()
	pre := w.out.take()
	now := time.Now()
	w.mu.Lock()
	w.cur = inv
	w.state = stateRunning
	var initD time.Duration
	if w.coldPending {
		w.coldPending = false
		initD = w.initDur
	}
	w.mu.Unlock()
	deadline := inv.deliver(now, pre, initD)

	hd := rw.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	hd.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
	hd.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
	hd.Set("Lambda-Runtime-Trace-Id", inv.traceID)
	if inv.clientContext != "" {
		hd.Set("Lambda-Runtime-Client-Context", inv.clientContext)
	}
	hd.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(inv.payload)
}

// current checks that the runtime may answer invocation id now, and
// returns it.
func (w *worker) current(rw http.ResponseWriter, id, to string) *invocation {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateRunning {
		invalidTransition(rw, w.state, to)
		return nil
	}
	if w.cur == nil || w.cur.id != id {
		invalidRequestID(rw)
		return nil
	}
	return w.cur
}

// answered moves the worker out of Running once invocation cur is answered;
// false when cur is no longer the current invocation.
func (w *worker) answered(cur *invocation) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur != cur {
		return false
	}
	w.cur = nil
	w.state = stateResponseSent
	return true
}

func (w *worker) handleResponse(rw http.ResponseWriter, r *http.Request) {
	w.answer(rw, r, false)
}

func (w *worker) handleError(rw http.ResponseWriter, r *http.Request) {
	w.answer(rw, r, true)
}

func (w *worker) answer(rw http.ResponseWriter, r *http.Request, isErr bool) {
	to := "InvocationResponse"
	if isErr {
		to = "InvocationErrorResponse"
	}
	cur := w.current(rw, r.PathValue("id"), to)
	if cur == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize+1))
	if err != nil {
		writeJSON(rw, http.StatusBadRequest, errorResponse{ErrorType: "InvalidRequestFormat", ErrorMessage: err.Error()})
		return
	}
	tooLarge := len(body) > MaxResponseSize
	if tooLarge {
		// Read the rest so that the runtime gets the 413, not a reset.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	}
	// The output written before the answer belongs to this invocation.
	w.out.sync()
	log := w.out.take()
	w.recordMemory()
	if !w.answered(cur) {
		invalidRequestID(rw)
		return
	}
	switch {
	case tooLarge:
		cur.complete(errorDocument("Function.ResponseSizeTooLarge",
			fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseSize)), true, log)
		writeJSON(rw, http.StatusRequestEntityTooLarge, errorResponse{
			ErrorType:    "RequestEntityTooLarge",
			ErrorMessage: fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponseSize),
		})
		return
	case isErr:
		if len(bytes.TrimSpace(body)) == 0 {
			body = errorDocument(r.Header.Get("Lambda-Runtime-Function-Error-Type"), "")
		}
		cur.complete(body, true, log)
	default:
		cur.complete(body, false, log)
	}
	writeJSON(rw, http.StatusAccepted, statusResponse{Status: "OK"})
}

func (w *worker) handleInitError(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	if w.state != stateStarted {
		from := w.state
		w.mu.Unlock()
		invalidTransition(rw, from, stateInitError)
		return
	}
	w.state = stateInitError
	w.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize))
	errType := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	if len(bytes.TrimSpace(body)) == 0 {
		body = errorDocument(errType, "")
	}
	w.mu.Lock()
	w.initErr = body
	w.initErrType = errType
	w.mu.Unlock()
	w.initOnce.Do(func() { close(w.initFailed) })
	writeJSON(rw, http.StatusAccepted, statusResponse{Status: "OK"})
}

// ---- outcomes ----

// finish builds the Result of an invocation the runtime answered.
func (w *worker) finish(inv *invocation) *Result {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	res := &Result{Payload: inv.payloadR, Duration: inv.finished.Sub(inv.delivered)}
	if inv.funcErr {
		res.FunctionError = "Unhandled"
	}
	w.mu.Lock()
	maxUsed := w.maxRSSMB
	w.mu.Unlock()
	res.Log = frame(inv.pre, inv.id, inv.log, nil, inv.finished.Sub(inv.delivered), inv.initDur, w.memMB, maxUsed, "")
	return res
}

// failed builds the Result of an invocation the worker did not answer: it
// timed out, the process exited, or the runtime failed to initialise. The
// worker is gone: all its output has been read.
func (w *worker) failed(inv *invocation, failure string) *Result {
	rest := w.out.take()
	now := time.Now()
	inv.mu.Lock()
	delivered, deadline, pre, initD := inv.delivered, inv.deadline, inv.pre, inv.initDur
	inv.mu.Unlock()
	w.mu.Lock()
	exitErr, initErr, initErrType, initDur, maxUsed := w.exitErr, w.initErr, w.initErrType, w.initDur, w.maxRSSMB
	w.mu.Unlock()
	if failure == "exit" && len(initErr) > 0 {
		failure = "init"
	}
	var body []byte
	began := delivered
	if delivered.IsZero() {
		// Never reached the handler: everything is initialisation output.
		pre = append(pre, rest...)
		began = inv.start
		if initD == 0 {
			initD = now.Sub(w.started)
		}
	} else {
		body = rest
	}

	var payload []byte
	var extra []string
	var status string
	switch failure {
	case "timeout":
		secs := inv.timeout.Seconds()
		if !delivered.IsZero() {
			secs = deadline.Sub(delivered).Seconds()
		} else if !inv.limit.IsZero() {
			secs = inv.limit.Sub(inv.start).Seconds()
		}
		payload = errorDocument("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, secs))
		extra = []string{fmt.Sprintf("%s %s Task timed out after %.2f seconds", now.UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, secs)}
		status = "Status: timeout"
	case "init":
		payload = initErr
		if initErrType == "" {
			var doc struct {
				ErrorType string `json:"errorType"`
			}
			_ = json.Unmarshal(initErr, &doc)
			initErrType = doc.ErrorType
		}
		if initDur == 0 {
			initDur = now.Sub(w.started)
		}
		if len(pre) > 0 && pre[len(pre)-1] != '\n' {
			pre = append(pre, '\n')
		}
		pre = append(pre, fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s\n",
			float64(initDur)/float64(time.Millisecond), initErrType)...)
		initD = 0
		status = "Status: error\tError Type: " + initErrType
	default: // "exit"
		reason := "Runtime exited without providing a reason"
		var ee *exec.ExitError
		if errors.As(exitErr, &ee) && !(ee.Exited() && ee.ExitCode() == 0) {
			reason = "Runtime exited with error: " + ee.Error()
		}
		msg := fmt.Sprintf("RequestId: %s Error: %s", inv.id, reason)
		payload = errorDocument("Runtime.ExitError", msg)
		extra = []string{msg, "Runtime.ExitError"}
		status = "Status: error\tError Type: Runtime.ExitError"
	}
	res := &Result{
		Payload:       payload,
		FunctionError: "Unhandled",
		Log:           frame(pre, inv.id, body, extra, now.Sub(began), initD, w.memMB, maxUsed, status),
	}
	if !delivered.IsZero() {
		res.Duration = now.Sub(delivered)
	}
	return res
}

// entrypointFailure is the Result of an invocation whose worker could not be
// started at all.
func (h *Host) entrypointFailure(fn *Function, inv *invocation, se *startError) *Result {
	msg := fmt.Sprintf("RequestId: %s Error: %s", inv.id, se.msg)
	mem := fn.MemoryMB
	if mem <= 0 {
		mem = DefaultMemoryMB
	}
	return &Result{
		Payload:       errorDocument("Runtime.InvalidEntrypoint", msg),
		FunctionError: "Unhandled",
		Log: frame(nil, inv.id, nil, []string{msg, "Runtime.InvalidEntrypoint"}, time.Since(inv.start), 0, mem, 0,
			"Status: error\tError Type: Runtime.InvalidEntrypoint"),
	}
}

func startErrorText(path string, err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("Couldn't find valid bootstrap(s): [%s]", path)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("fork/exec %s: %v", path, pe.Err)
	}
	return err.Error()
}

// errorDocument is a Lambda error document: {"errorType","errorMessage"}.
func errorDocument(errType, msg string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{errType, msg})
	return bytes.TrimRight(b.Bytes(), "\n")
}

// ---- launching ----

// launchSpec says how a runtime's worker is started.
type launchSpec struct {
	kind string // "python", "node" or "custom"
	exe  string // interpreter looked up in PATH (python, node)
}

func (h *Host) launchSpec(fn *Function) (*launchSpec, error) {
	rt := fn.Runtime
	switch {
	case strings.HasPrefix(rt, "python3"):
		return &launchSpec{kind: "python", exe: "python3"}, nil
	case strings.HasPrefix(rt, "nodejs"):
		return &launchSpec{kind: "node", exe: "node"}, nil
	case rt == "provided.al2023" || rt == "provided.al2" || rt == "provided" || rt == "go1.x":
		return &launchSpec{kind: "custom"}, nil
	}
	return nil, &lambda.Error{Status: http.StatusBadGateway, Type: "InvalidRuntimeException",
		Message: fmt.Sprintf("The runtime parameter of %s is not supported by this host.", rt)}
}

// command is the worker's program and arguments.
func (s *launchSpec) command(fn *Function, rtDir string) (string, []string, error) {
	var path string
	var args []string
	switch s.kind {
	case "custom":
		name := "bootstrap"
		if fn.Runtime == "go1.x" && fn.Handler != "" {
			name = fn.Handler
		}
		path = filepath.Join(fn.CodeDir, filepath.FromSlash(name))
		if _, err := os.Stat(path); err != nil {
			return "", nil, &startError{msg: fmt.Sprintf("Couldn't find valid bootstrap(s): [%s]", path)}
		}
		return path, nil, nil
	case "python":
		args = []string{"-u", filepath.Join(rtDir, "python", "bootstrap.py")}
	case "node":
		args = []string{filepath.Join(rtDir, "nodejs", "bootstrap.cjs")}
	}
	exe, err := exec.LookPath(s.exe)
	if err != nil {
		return "", nil, &startError{msg: err.Error()}
	}
	path = exe
	if wrapper := fn.Env["AWS_LAMBDA_EXEC_WRAPPER"]; wrapper != "" {
		args = append([]string{path}, args...)
		path = wrapper
	}
	return path, args, nil
}
