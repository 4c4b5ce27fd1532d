package lambda

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractZip: arbitrary bytes never make extraction panic, and nothing
// is ever written outside the target directory.
func FuzzExtractZip(f *testing.F) {
	f.Add(pythonZip(f))
	f.Add(makeZip(f, zipEntry{name: "../evil", body: "x"}))
	f.Add(makeZip(f, zipEntry{name: "d", body: ".", mode: fs.ModeSymlink | 0o777}, zipEntry{name: "d/x", body: "../y", mode: fs.ModeSymlink | 0o777}))
	f.Add(makeZip(f, zipEntry{name: "d", body: "..", mode: fs.ModeSymlink | 0o777}, zipEntry{name: "d/evil", body: "x"}))
	f.Add(makeZip(f, zipEntry{name: "a/", mode: fs.ModeDir | 0o755}, zipEntry{name: "a/b/c.txt", body: strings.Repeat("c", 3000)}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		extractZip(data, dir, 1<<16)
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "out" || !entries[0].IsDir() {
			t.Fatalf("extraction wrote outside its directory: %v", entries)
		}
		// Every link left inside stays inside.
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			if _, err := root.Stat(rel); err != nil && !os.IsNotExist(err) {
				t.Errorf("link %s leads out of the directory: %v", rel, err)
			}
			return nil
		})
	})
}
