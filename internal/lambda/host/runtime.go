package host

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The runtime loops for the managed runtimes, written under the work
// directory's runtime/ folder (LAMBDA_RUNTIME_DIR).
var (
	//go:embed runtime/python/bootstrap.py
	pythonBootstrap []byte
	//go:embed runtime/nodejs/bootstrap.cjs
	nodeBootstrap []byte
)

// ensureRuntimeFiles writes the runtime loops once.
func (h *Host) ensureRuntimeFiles() error {
	h.rtOnce.Do(func() {
		dir := h.workDir
		if dir == "" {
			d, err := os.MkdirTemp("", "apigw-lambda-host-")
			if err != nil {
				h.rtErr = fmt.Errorf("lambda host: work directory: %w", err)
				return
			}
			h.mu.Lock()
			h.workDir, h.ownWorkDir = d, true
			h.mu.Unlock()
			dir = d
		}
		rt := filepath.Join(dir, "runtime")
		for _, f := range []struct {
			rel  string
			data []byte
		}{
			{"python/bootstrap.py", pythonBootstrap},
			{"nodejs/bootstrap.cjs", nodeBootstrap},
		} {
			if err := writeFileAtomic(filepath.Join(rt, filepath.FromSlash(f.rel)), f.data); err != nil {
				h.rtErr = fmt.Errorf("lambda host: runtime files: %w", err)
				return
			}
		}
		h.mu.Lock()
		h.rtDir = rt
		h.mu.Unlock()
	})
	return h.rtErr
}

// writeFileAtomic writes data to path unless it already holds exactly data.
func writeFileAtomic(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// environment is a worker's environment: Lambda's variables, the function's
// own, and the few of the host's a process needs (PATH for the runtimes).
// As on Lambda, the function may override LANG, PATH, LD_LIBRARY_PATH,
// NODE_PATH, PYTHONPATH and TZ, not the reserved variables.
func (h *Host) environment(fn *Function, spec *launchSpec, runtimeAPI, stream string, memMB int) []string {
	env := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin",
		"LANG": "en_US.UTF-8",
		"TZ":   ":UTC",
	}
	if p := os.Getenv("PATH"); p != "" {
		env["PATH"] = p
	}
	ld := fn.CodeDir + ":" + filepath.Join(fn.CodeDir, "lib")
	if p := os.Getenv("LD_LIBRARY_PATH"); p != "" {
		ld += ":" + p
	}
	env["LD_LIBRARY_PATH"] = ld
	switch spec.kind {
	case "python":
		env["PYTHONPATH"] = fn.CodeDir
		// Compiled modules go under the work directory, not into the
		// package (read-only, as /var/task is on Lambda).
		env["PYTHONPYCACHEPREFIX"] = filepath.Join(filepath.Dir(h.rtDir), "pycache")
	case "node":
		env["NODE_PATH"] = filepath.Join(fn.CodeDir, "node_modules") + ":" + fn.CodeDir
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	reserved := map[string]string{
		"_HANDLER":                        fn.Handler,
		"AWS_REGION":                      h.region(),
		"AWS_DEFAULT_REGION":              h.region(),
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memMB),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      stream,
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"LAMBDA_TASK_ROOT":                fn.CodeDir,
		"LAMBDA_RUNTIME_DIR":              h.rtDir,
	}
	// Lambda sets AWS_EXECUTION_ENV for its managed runtimes (and go1.x),
	// not for the OS-only provided runtimes.
	if spec.kind != "custom" || fn.Runtime == "go1.x" {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.Runtime
	} else {
		delete(env, "AWS_EXECUTION_ENV")
	}
	for k, v := range reserved {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// decodeClientContext turns the Invoke API's ClientContext (base64 JSON)
// into the JSON the runtime receives in Lambda-Runtime-Client-Context.
func decodeClientContext(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	raw := []byte(s)
	if dec, err := base64.StdEncoding.DecodeString(s); err == nil && json.Valid(dec) {
		raw = dec
	}
	if json.Valid(raw) {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err == nil {
			return b.String()
		}
	}
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}
