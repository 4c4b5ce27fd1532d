package iam

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeyEnv names the environment variable that, when set, holds the
// master key (32 bytes, base64) and takes precedence over the key file.
const MasterKeyEnv = "APIGW_MASTER_KEY"

// MasterKeyFile is the name of the key file in the data directory.
const MasterKeyFile = "master.key"

// KeySize is the size of the master key: AES-256.
const KeySize = 32

// LoadOrCreateKey returns the master key that encrypts secrets at rest
// (secret access keys, session secrets and tokens) with AES-256-GCM.
//
// The key is kept outside the database, so that a copy of the database
// alone (a backup, a stolen file, a PostgreSQL dump) reveals no secret:
//
//   - APIGW_MASTER_KEY, when set, is the key: 32 bytes in standard or URL
//     base64 (e.g. `head -c32 /dev/urandom | base64`). Use it when the data
//     directory is not private to apigw, and give every node sharing a store
//     the same key.
//   - Otherwise {dataDir}/master.key is read (32 raw bytes; a base64 text of
//     them is accepted too), or created with 32 random bytes and mode 0600 on
//     first start.
//
// Losing the key makes the stored secrets unreadable: every IAM access key
// and session must then be recreated.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	if v := strings.TrimSpace(os.Getenv(MasterKeyEnv)); v != "" {
		k, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", MasterKeyEnv, err)
		}
		return k, nil
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	for attempt := 0; attempt < 2; attempt++ {
		b, err := os.ReadFile(path)
		if err == nil {
			return parseKeyFile(path, b)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read master key: %w", err)
		}
		k := make([]byte, KeySize)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("generate master key: %w", err)
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create master key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // another process created it first: read theirs
		}
		if err != nil {
			return nil, fmt.Errorf("create master key: %w", err)
		}
		_, werr := f.Write(k)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("write master key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("master key %s: created and removed concurrently", path)
}

// ReadKeyFile reads a master key kept in a file: 32 raw bytes, or a base64
// text of them (a master.key of a data dir is such a file). The file must
// exist: a key given by name is never generated.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	return parseKeyFile(path, b)
}

func parseKeyFile(path string, b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return b, nil
	}
	k, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("master key is not valid base64")
}

// newAEAD builds the AES-256-GCM cipher of a master key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("iam: master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext, bound to aad (the record it belongs to, so that
// a ciphertext moved to another record does not decrypt). The result is
// nonce || ciphertext || tag.
func seal(aead cipher.AEAD, plaintext, aad string) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad)), nil
}

func open(aead cipher.AEAD, sealed []byte, aad string) (string, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return "", errors.New("iam: sealed secret too short")
	}
	p, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return "", errors.New("iam: cannot decrypt a stored secret (wrong master key?)")
	}
	return string(p), nil
}

// SealSecret encrypts a secret under a master key (AES-256-GCM), bound to
// aad — a name for the record holding it, so that a ciphertext moved to
// another record does not open. For secrets kept outside this package (the
// root credentials, say).
func SealSecret(key []byte, plaintext, aad string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return seal(aead, plaintext, aad)
}

// OpenSecret decrypts what SealSecret returned, with the same key and aad.
func OpenSecret(key, sealed []byte, aad string) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	return open(aead, sealed, aad)
}
