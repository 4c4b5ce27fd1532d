//go:build unix

package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDataDir takes the exclusive lock of dir, {dir}/apigw.lock, for the
// life of the returned file: two processes on one data dir would each admit
// a whole quota and overwrite each other's counts at shutdown. The lock is
// flock(2), so it dies with its process: a lock file left by a crash does
// not block the next start. The file holds the holder's pid, for the error.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "apigw.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 32))
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &DataDirInUseError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	// Written after the lock is held: a refused process reads, never writes.
	if err = f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	return f, nil
}
