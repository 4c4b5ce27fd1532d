package lambda

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExtractZip(t *testing.T) {
	big := strings.Repeat("0", 1<<20)
	tests := []struct {
		name    string
		zip     func(t testing.TB) []byte
		limit   int64
		wantErr error
		files   []string // what the directory holds afterwards, on success
	}{
		{"files and dirs", func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "a.py", body: "x"}, zipEntry{name: "pkg/", mode: fs.ModeDir | 0o755},
				zipEntry{name: "pkg/m.py", body: "y"}, zipEntry{name: "./deep/er/f", body: "z"})
		}, 1 << 20, nil, []string{"a.py", "deep", "deep/er", "deep/er/f", "pkg", "pkg/m.py"}},
		{"link inside", func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "real.txt", body: "r"}, zipEntry{name: "bin/link", body: "../real.txt", mode: fs.ModeSymlink | 0o777})
		}, 1 << 20, nil, []string{"bin", "bin/link", "real.txt"}},
		{"parent escape", func(t testing.TB) []byte { return makeZip(t, zipEntry{name: "../evil", body: "x"}) }, 1 << 20, errBadZip, nil},
		{"nested escape", func(t testing.TB) []byte { return makeZip(t, zipEntry{name: "a/../../evil", body: "x"}) }, 1 << 20, errBadZip, nil},
		{"absolute", func(t testing.TB) []byte { return makeZip(t, zipEntry{name: "/tmp/evil", body: "x"}) }, 1 << 20, errBadZip, nil},
		{"backslash", func(t testing.TB) []byte { return makeZip(t, zipEntry{name: "..\\evil", body: "x"}) }, 1 << 20, errBadZip, nil},
		{"absolute link", func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "l", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777})
		}, 1 << 20, errBadZip, nil},
		{"escaping link", func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "l", body: "../../outside", mode: fs.ModeSymlink | 0o777})
		}, 1 << 20, errBadZip, nil},
		{"link through a link", func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "d", body: ".", mode: fs.ModeSymlink | 0o777},
				zipEntry{name: "d/x", body: "../y", mode: fs.ModeSymlink | 0o777})
		}, 1 << 20, errBadZip, nil},
		{"write through a link", func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "d", body: "..", mode: fs.ModeSymlink | 0o777}, zipEntry{name: "d/evil", body: "x"})
		}, 1 << 20, errBadZip, nil},
		{"declared too large", func(t testing.TB) []byte { return makeZip(t, zipEntry{name: "big", body: big}) }, 1000, errZipTooLarge, nil},
		{"not a zip", func(t testing.TB) []byte { return []byte("PK\x03\x04 nope") }, 1 << 20, errBadZip, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			os.Mkdir(dir, 0o755)
			err := extractZip(tt.zip(t), dir, tt.limit)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if top := listFiles(t, parent); !contains(top, "out") || len(filter(top, "out")) != 0 {
				t.Errorf("something was written outside the target: %v", top)
			}
			if tt.wantErr == nil {
				if got := listFiles(t, dir); !reflect.DeepEqual(got, tt.files) {
					t.Errorf("files %v, want %v", got, tt.files)
				}
			}
		})
	}
}

// filter returns the paths not under prefix.
func filter(paths []string, prefix string) []string {
	var out []string
	for _, p := range paths {
		if p != prefix && !strings.HasPrefix(p, prefix+"/") {
			out = append(out, p)
		}
	}
	return out
}

func TestExtractZipLyingSizes(t *testing.T) {
	// An entry whose header understates its size is cut at the limit.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateRaw(&zip.FileHeader{Name: "bomb", Method: zip.Store, CompressedSize64: 5000, UncompressedSize64: 10, CRC32: 0})
	w.Write(bytes.Repeat([]byte("A"), 5000))
	zw.Close()
	err := extractZip(buf.Bytes(), t.TempDir(), 1000)
	if err == nil {
		t.Fatal("an entry larger than the limit was extracted")
	}
}

func TestExecutableBits(t *testing.T) {
	dir := t.TempDir()
	z := makeZip(t, zipEntry{name: "bootstrap", body: "#!/bin/sh"}, zipEntry{name: "tool", body: "x", mode: 0o755}, zipEntry{name: "data", body: "d", mode: 0o600})
	if err := extractZip(z, dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"bootstrap": 0o755, "tool": 0o755, "data": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm()&^0o022 != want&^0o022 {
			t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode(), err, want)
		}
	}
}
