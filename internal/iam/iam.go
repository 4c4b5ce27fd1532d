// Package iam provides apigw's identities: IAM users with access keys,
// managed and inline policies, roles with trust policies, and STS temporary
// credentials; the lookup of signing keys for SigV4 verification (cached for
// the data plane); the authorization of a principal's requests by its
// identity policies; and the IAM and STS Query APIs, so that the AWS CLI and
// SDKs manage them against apigw's admin listener.
//
// Every record lives in the store (kinds below). Secrets — secret access
// keys, session secrets and session tokens — are stored encrypted with
// AES-256-GCM under a master key kept outside the store (see
// LoadOrCreateKey).
package iam

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store"
)

// Record kinds in the store, with their keys. Names are keyed in lower case:
// IAM names are unique regardless of case.
const (
	KindUser          = "iam.user"          // key: lower(userName)
	KindAccessKey     = "iam.accesskey"     // key: accessKeyID
	KindUserKey       = "iam.userkey"       // key: lower(userName)/accessKeyID (index of a user's keys)
	KindUserPolicy    = "iam.userpolicy"    // key: lower(userName)/lower(policyName)
	KindPolicy        = "iam.policy"        // key: lower(policyName)
	KindPolicyVersion = "iam.policyversion" // key: lower(policyName)/versionID
	KindRole          = "iam.role"          // key: lower(roleName)
	KindRolePolicy    = "iam.rolepolicy"    // key: lower(roleName)/lower(policyName)
	KindAttachment    = "iam.attachment"    // key: user|role/lower(name)/lower(policyName)
	KindSession       = "sts.session"       // key: temporary accessKeyID (ASIA...)
)

// Service holds the identities of one account. Set the exported fields, then
// use it; it must not be copied after first use.
type Service struct {
	Store     store.Store
	AccountID string
	Region    string
	// Key is the 32-byte master key encrypting secrets at rest.
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RootAccessKeyID and RootSecret are the root principal's access key,
	// which may do anything.
	RootAccessKeyID, RootSecret string
	// Log receives internal failures of the API handlers; nil for none.
	Log *slog.Logger

	once  sync.Once
	aead  cipher.AEAD
	aeErr error

	mu       sync.RWMutex
	gen      uint64 // grows on every invalidation
	creds    map[string]*credEntry
	policies map[string]*policySet
	root     *Principal
}

type credEntry struct {
	cred    sigv4.Credential
	expires time.Time // zero for long-term keys
}

// policySet is the parsed identity policies of a user or role.
type policySet struct {
	docs []*policy.Document
}

// maxCached bounds each cache; past it the cache starts over.
const maxCached = 1 << 16

func (s *Service) init() {
	s.once.Do(func() {
		s.aead, s.aeErr = newAEAD(s.Key)
		s.mu.Lock()
		s.creds = map[string]*credEntry{}
		s.policies = map[string]*policySet{}
		s.root = &Principal{
			Kind:        PrincipalRoot,
			ARN:         "arn:aws:iam::" + s.AccountID + ":root",
			UserID:      s.AccountID,
			Name:        "root",
			AccountID:   s.AccountID,
			AccessKeyID: s.RootAccessKeyID,
		}
		s.root.pp = s.root.policyPrincipal()
		s.mu.Unlock()
	})
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) cipher() (cipher.AEAD, error) {
	s.init()
	return s.aead, s.aeErr
}

// invalidateCreds forgets the cached credentials of the given access keys.
func (s *Service) invalidateCreds(ids ...string) {
	s.mu.Lock()
	s.gen++
	for _, id := range ids {
		delete(s.creds, id)
	}
	s.mu.Unlock()
}

// invalidatePolicies forgets every cached policy set.
func (s *Service) invalidatePolicies() {
	s.mu.Lock()
	s.gen++
	clear(s.policies)
	s.mu.Unlock()
}

// invalidateAll forgets everything cached.
func (s *Service) invalidateAll() {
	s.mu.Lock()
	s.gen++
	clear(s.creds)
	clear(s.policies)
	s.mu.Unlock()
}

// Records.

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type userRec struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`
	Tags    []tag     `json:"tags,omitempty"`
}

type accessKeyRec struct {
	ID       string    `json:"id"`
	UserName string    `json:"userName"`
	UserID   string    `json:"userId"`
	UserARN  string    `json:"userArn"`
	Status   string    `json:"status"` // Active | Inactive
	Created  time.Time `json:"created"`
	Secret   []byte    `json:"secret"` // sealed
}

type inlinePolicyRec struct {
	Name     string `json:"name"`
	Document string `json:"document"`
}

type managedPolicyRec struct {
	Name           string    `json:"name"`
	ID             string    `json:"id"`
	Path           string    `json:"path"`
	ARN            string    `json:"arn"`
	Description    string    `json:"description,omitempty"`
	DefaultVersion string    `json:"defaultVersion"`
	NextVersion    int       `json:"nextVersion"`
	Attachments    int       `json:"attachments"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
	Tags           []tag     `json:"tags,omitempty"`
}

type policyVersionRec struct {
	ID       string    `json:"id"`
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

type attachmentRec struct {
	PolicyName string `json:"policyName"`
	PolicyARN  string `json:"policyArn"`
}

type roleRec struct {
	Name               string    `json:"name"`
	ID                 string    `json:"id"`
	Path               string    `json:"path"`
	ARN                string    `json:"arn"`
	TrustPolicy        string    `json:"trustPolicy"`
	Description        string    `json:"description,omitempty"`
	MaxSessionDuration int       `json:"maxSessionDuration"`
	Created            time.Time `json:"created"`
	Tags               []tag     `json:"tags,omitempty"`
}

// sessionRec is a set of temporary credentials.
type sessionRec struct {
	ID      string        `json:"id"`
	Secret  []byte        `json:"secret"` // sealed
	Token   []byte        `json:"token"`  // sealed
	Issued  time.Time     `json:"issued"`
	Expires time.Time     `json:"expires"`
	Kind    PrincipalKind `json:"kind"` // root, user (GetSessionToken) or assumed-role
	// The IAM user of a GetSessionToken session.
	UserName string `json:"userName,omitempty"`
	UserID   string `json:"userId,omitempty"`
	UserARN  string `json:"userArn,omitempty"`
	// The role of an AssumeRole session.
	RoleName    string `json:"roleName,omitempty"`
	RoleID      string `json:"roleId,omitempty"`
	RoleARN     string `json:"roleArn,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	// SessionPolicies are the session policy documents (inline Policy and the
	// default versions of PolicyArns at the time of AssumeRole).
	SessionPolicies []string `json:"sessionPolicies,omitempty"`
	// SourceAccessKeyID is the key that asked for the session.
	SourceAccessKeyID string `json:"sourceAccessKeyId,omitempty"`
	SourceIdentity    string `json:"sourceIdentity,omitempty"`
}

func getJSON(ctx context.Context, r store.Reader, kind, key string, v any) error {
	b, err := r.Get(ctx, kind, key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func putJSON(ctx context.Context, tx store.Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(ctx, kind, key, b)
}

func createJSON(ctx context.Context, tx store.Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Create(ctx, kind, key, b)
}

func listJSON[T any](ctx context.Context, r store.Reader, kind, prefix string) ([]T, error) {
	items, err := r.List(ctx, kind, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		var v T
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func lower(s string) string { return strings.ToLower(s) }

// Identifiers.

const (
	idChars     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomFrom(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// Unique ids as AWS shapes them: a 4-letter prefix telling the kind, then
// upper-case letters and digits (21 characters in all; access keys 20).
func newUserID() string      { return "AIDA" + randomFrom(17, idChars) }
func newRoleID() string      { return "AROA" + randomFrom(17, idChars) }
func newPolicyID() string    { return "ANPA" + randomFrom(17, idChars) }
func newAccessKeyID() string { return "AKIA" + randomFrom(16, idChars) }
func newSessionKeyID() string {
	return "ASIA" + randomFrom(16, idChars)
}
func newSecret() string { return randomFrom(40, secretChars) }

// newSessionToken returns an opaque bearer token for temporary credentials.
func newSessionToken() string {
	return randomFrom(256, secretChars)
}
