package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/store"
)

// CodePathPrefix is where the admin listener serves deployment packages:
// GetFunction's Code.Location is {CodePathPrefix}{name}/{sha}?X-Apigw-Expires=...&X-Apigw-Signature=...
// These URLs carry their own signature (like S3's presigned URLs): the
// admin listener must route them to Handler without SigV4 verification.
const CodePathPrefix = "/_apigw/lambda/code/"

// codeURLLifetime is how long a code URL works (AWS: 10 minutes).
const codeURLLifetime = 10 * time.Minute

// maxZipEntries bounds the number of entries of a deployment package.
const maxZipEntries = 100000

var (
	errBadZip      = errors.New("lambda: not a valid zip archive")
	errZipTooLarge = errors.New("lambda: unzipped size too large")
)

// urlSha turns a CodeSha256 (standard base64) into its base64url form,
// used in paths and keys.
func urlSha(sha string) string {
	b, err := base64.StdEncoding.DecodeString(sha)
	if err != nil {
		return base64.RawURLEncoding.EncodeToString([]byte(sha))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func codeKey(name, sha string) string { return name + "/" + urlSha(sha) }

func (s *Service) codeRoot() string { return filepath.Join(s.DataDir, "lambda") }

func (s *Service) codeDir(name, sha string) string {
	return filepath.Join(s.codeRoot(), name, urlSha(sha))
}

type unpacked struct {
	sha  string // base64 of the zip's SHA-256
	size int64
}

// unpackNew checks a new deployment package and unpacks it where the
// function's invocations will find it.
func (s *Service) unpackNew(name string, b []byte) (unpacked, error) {
	sum := sha256.Sum256(b)
	u := unpacked{sha: base64.StdEncoding.EncodeToString(sum[:]), size: int64(len(b))}
	if err := s.unpack(name, u.sha, b); err != nil {
		return u, err
	}
	return u, nil
}

// unpack extracts zip b into the code directory of (name, sha), unless it
// is there already. Extraction happens in a temporary directory renamed
// into place, so a directory that exists is complete.
func (s *Service) unpack(name, sha string, b []byte) error {
	if s.DataDir == "" {
		return errors.New("lambda: Service.DataDir is not set")
	}
	dir := s.codeDir(name, sha)
	mu := s.unpackLock(dir)
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".unpack-")
	if err != nil {
		return err
	}
	if err := extractZip(b, tmp, MaxUnzippedBytes); err != nil {
		os.RemoveAll(tmp)
		return zipError(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return nil
		}
		return err
	}
	return nil
}

// checkZip validates a deployment package without keeping it (DryRun).
func checkZip(b []byte, dataDir string) error {
	base := os.TempDir()
	if dataDir != "" {
		base = filepath.Join(dataDir, "lambda")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(base, ".check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return zipError(extractZip(b, tmp, MaxUnzippedBytes))
}

func zipError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errZipTooLarge):
		return errUnzippedSize
	case errors.Is(err, errBadZip):
		return errCouldNotUnzip
	}
	return err
}

func (s *Service) unpackLock(dir string) *sync.Mutex {
	s.unpackMu.Lock()
	defer s.unpackMu.Unlock()
	if s.unpacks == nil {
		s.unpacks = map[string]*sync.Mutex{}
	}
	mu := s.unpacks[dir]
	if mu == nil {
		mu = new(sync.Mutex)
		s.unpacks[dir] = mu
	}
	return mu
}

// ensureCode makes sure the code of (name, sha) is unpacked on this node,
// fetching the zip from the store when another node created the function.
func (s *Service) ensureCode(ctx context.Context, name, sha string) (string, error) {
	dir := s.codeDir(name, sha)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	b, err := s.Store.Get(ctx, KindCode, codeKey(name, sha))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("lambda: code %s of function %s is missing from the store", sha, name)
		}
		return "", err
	}
	if err := s.unpack(name, sha, b); err != nil {
		return "", err
	}
	return dir, nil
}

func (s *Service) removeCodeDir(name, sha string) {
	if s.DataDir != "" {
		os.RemoveAll(s.codeDir(name, sha))
	}
}

func (s *Service) removeFunctionDir(name string) {
	if s.DataDir != "" && validName(name, false) {
		os.RemoveAll(filepath.Join(s.codeRoot(), name))
	}
}

// extractZip unpacks the zip archive b into the existing directory dir,
// writing nothing outside it: entries with absolute paths or ".." are
// refused, symbolic links may only point inside dir and are created last,
// and every write goes through an os.Root. The unpacked size is bounded by
// limit (declared and actual sizes). Errors wrap errBadZip or
// errZipTooLarge when the archive is at fault.
func extractZip(b []byte, dir string, limit int64) error {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("%w: %v", errBadZip, err)
	}
	if len(zr.File) > maxZipEntries {
		return fmt.Errorf("%w: %d entries", errBadZip, len(zr.File))
	}
	var declared uint64
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if declared > uint64(limit) {
			return errZipTooLarge
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	type link struct{ name, target string }
	var links []link
	budget := limit
	for _, f := range zr.File {
		name, ok := entryName(f.Name)
		if !ok {
			return fmt.Errorf("%w: unsafe entry name %q", errBadZip, f.Name)
		}
		if name == "" {
			continue // the archive's root directory
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("%w: %v", errBadZip, err)
			}
		case mode&fs.ModeSymlink != 0:
			target, err := readEntry(f, 4096)
			if err != nil {
				return err
			}
			t := string(target)
			if t == "" || path.IsAbs(t) || !filepath.IsLocal(path.Join(path.Dir(name), t)) {
				return fmt.Errorf("%w: link %q points outside the package", errBadZip, f.Name)
			}
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("%w: %v", errBadZip, err)
				}
			}
			links = append(links, link{name, t})
		case mode.IsRegular():
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("%w: %v", errBadZip, err)
				}
			}
			perm := fs.FileMode(0o644)
			if mode&0o111 != 0 || name == "bootstrap" {
				perm = 0o755
			}
			n, err := writeEntry(root, name, perm, f, budget)
			if err != nil {
				return err
			}
			budget -= n
		default:
			return fmt.Errorf("%w: entry %q is not a file, directory or link", errBadZip, f.Name)
		}
	}
	var made []string
	unlink := func() {
		for i := len(made) - 1; i >= 0; i-- {
			root.Remove(made[i])
		}
	}
	for _, l := range links {
		if err := root.Symlink(l.target, l.name); err != nil {
			unlink()
			return fmt.Errorf("%w: %v", errBadZip, err)
		}
		made = append(made, l.name)
	}
	// A link may still leave the package through another link ("d" -> "."
	// then "d/x" -> "../y"): resolve every link inside the root, which
	// refuses to go out of it. Dangling links are kept.
	for _, l := range links {
		if _, err := root.Stat(l.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			unlink()
			return fmt.Errorf("%w: link %q points outside the package", errBadZip, l.name)
		}
	}
	return nil
}

// entryName cleans a zip entry name into a local slash path ("" for the
// root itself); ok is false for names that would leave the directory.
func entryName(n string) (string, bool) {
	if n == "" || path.IsAbs(n) || bytes.ContainsAny([]byte(n), "\\\x00") {
		return "", false
	}
	c := path.Clean(n)
	if c == "." {
		return "", true
	}
	if !filepath.IsLocal(c) {
		return "", false
	}
	return c, true
}

func readEntry(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadZip, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadZip, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: link target too long", errBadZip)
	}
	return b, nil
}

func writeEntry(root *os.Root, name string, perm fs.FileMode, f *zip.File, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errBadZip, err)
	}
	defer rc.Close()
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errBadZip, err)
	}
	n, err := io.Copy(w, io.LimitReader(rc, budget+1))
	if cerr := w.Close(); err == nil && cerr != nil {
		return n, cerr
	}
	if err != nil {
		return n, fmt.Errorf("%w: %v", errBadZip, err)
	}
	if n > budget {
		return n, errZipTooLarge
	}
	return n, nil
}

// codeURL is the download URL of a function's code, valid 10 minutes.
func (s *Service) codeURL(r *http.Request, name, sha string) string {
	s.init()
	base := s.CodeURLBase
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	exp := strconv.FormatInt(s.now().Add(codeURLLifetime).Unix(), 10)
	u := urlSha(sha)
	return base + CodePathPrefix + name + "/" + u + "?X-Apigw-Expires=" + exp + "&X-Apigw-Signature=" + s.codeSignature(name, u, exp)
}

func (s *Service) codeSignature(name, sha, exp string) string {
	m := hmac.New(sha256.New, s.urlKey)
	io.WriteString(m, name+"\n"+sha+"\n"+exp)
	return hex.EncodeToString(m.Sum(nil))
}

// serveCode answers a code download URL.
func (s *Service) serveCode(w http.ResponseWriter, r *http.Request) {
	name, sha := r.PathValue("name"), r.PathValue("sha")
	q := r.URL.Query()
	exp, sig := q.Get("X-Apigw-Expires"), q.Get("X-Apigw-Signature")
	if !hmac.Equal([]byte(sig), []byte(s.codeSignature(name, sha, exp))) {
		WriteError(w, newError(http.StatusForbidden, AccessDenied, "The request signature we calculated does not match the signature you provided."))
		return
	}
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() > t {
		WriteError(w, newError(http.StatusForbidden, AccessDenied, "Request has expired"))
		return
	}
	b, err := s.Store.Get(r.Context(), KindCode, name+"/"+sha)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, notFound("The specified key does not exist."))
		return
	}
	if err != nil {
		s.log().ErrorContext(r.Context(), "reading function code failed", "function", name, "err", err)
		WriteError(w, errInternal)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
