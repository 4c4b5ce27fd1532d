package server_test

import (
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// TestSecretKeyCheck: the store keeps a key-check record; a start with
// another secret key is refused with a clear error (on the embedded store as
// on PostgreSQL), a missing key file too; the right key file starts.
func TestSecretKeyCheck(t *testing.T) {
	in := apigwtest.Start(t)
	in.Stop(t)
	other := filepath.Join(t.TempDir(), "other.key")
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.WriteFile(other, k, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(keyFile string) error {
		_, err := server.New(t.Context(), server.Config{DataDir: in.DataDir, SecretKeyFile: keyFile, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
			Out: io.Discard, RootAccessKeyID: apigwtest.AccessKeyID, RootSecretAccessKey: apigwtest.SecretAccessKey})
		if err == nil {
			t.Fatal("started; want a refusal")
		}
		return err
	}
	err := start(other)
	var mismatch *server.SecretKeyMismatchError
	if !errors.As(err, &mismatch) || !strings.HasPrefix(err.Error(), "the secret key (from "+other+") does not open this store's secrets") {
		t.Fatalf("another key: %v, want a SecretKeyMismatchError naming %s", err, other)
	}
	if err := start(filepath.Join(t.TempDir(), "missing.key")); err == nil || !strings.Contains(err.Error(), "read secret key") {
		t.Fatalf("a missing key file: %v", err)
	}
	apigwtest.StartIn(t, in.DataDir, func(c *server.Config) { c.SecretKeyFile = filepath.Join(in.DataDir, "master.key") })
}
