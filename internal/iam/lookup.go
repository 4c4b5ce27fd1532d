package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store"
)

// Lookup is a sigv4.Lookup: it finds the secret of an access key id — the
// root key, an active IAM user key (AKIA...), or STS temporary credentials
// (ASIA..., with their session token). Unknown and inactive keys give
// sigv4.ErrUnknownKey, expired temporary credentials sigv4.ErrExpiredToken.
// Credential.Principal is a *Principal.
//
// Decrypted credentials are cached in memory by access key id. A change
// made through s (a key deactivated or deleted) takes effect at once; changes
// made by other processes sharing the store take effect when Run sees them
// (within about a second).
func (s *Service) Lookup(ctx context.Context, accessKeyID string) (sigv4.Credential, error) {
	s.init()
	if s.RootAccessKeyID != "" && accessKeyID == s.RootAccessKeyID {
		return sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: s.RootSecret, Principal: s.root}, nil
	}
	now := s.now()
	s.mu.RLock()
	e, ok := s.creds[accessKeyID]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			return sigv4.Credential{}, sigv4.ErrExpiredToken
		}
		return e.cred, nil
	}

	var entry *credEntry
	var err error
	switch {
	case len(accessKeyID) == 20 && strings.HasPrefix(accessKeyID, "AKIA"):
		entry, err = s.loadAccessKey(ctx, accessKeyID)
	case len(accessKeyID) == 20 && strings.HasPrefix(accessKeyID, "ASIA"):
		entry, err = s.loadSession(ctx, accessKeyID)
	default:
		return sigv4.Credential{}, sigv4.ErrUnknownKey
	}
	if err != nil {
		return sigv4.Credential{}, err
	}
	if !entry.expires.IsZero() && !now.Before(entry.expires) {
		return sigv4.Credential{}, sigv4.ErrExpiredToken
	}
	s.mu.Lock()
	// An invalidation since we read the store may concern this key: then
	// what we read may be stale, and is used for this request only.
	if s.gen == gen {
		if len(s.creds) >= maxCached {
			clear(s.creds)
		}
		s.creds[accessKeyID] = entry
	}
	s.mu.Unlock()
	return entry.cred, nil
}

func (s *Service) loadAccessKey(ctx context.Context, id string) (*credEntry, error) {
	var k accessKeyRec
	if err := getJSON(ctx, s.Store, KindAccessKey, id, &k); err != nil {
		if isNotFound(err) {
			return nil, sigv4.ErrUnknownKey
		}
		return nil, err
	}
	if k.Status != statusActive {
		return nil, sigv4.ErrUnknownKey
	}
	aead, err := s.cipher()
	if err != nil {
		return nil, err
	}
	secret, err := open(aead, k.Secret, KindAccessKey+"/"+id)
	if err != nil {
		return nil, err
	}
	p := &Principal{
		Kind:        PrincipalUser,
		ARN:         k.UserARN,
		UserID:      k.UserID,
		Name:        k.UserName,
		AccountID:   s.AccountID,
		AccessKeyID: id,
	}
	p.pp = p.policyPrincipal()
	return &credEntry{cred: sigv4.Credential{AccessKeyID: id, SecretAccessKey: secret, Principal: p}}, nil
}

func (s *Service) loadSession(ctx context.Context, id string) (*credEntry, error) {
	var r sessionRec
	if err := getJSON(ctx, s.Store, KindSession, id, &r); err != nil {
		if isNotFound(err) {
			return nil, sigv4.ErrUnknownKey
		}
		return nil, err
	}
	if !s.now().Before(r.Expires) {
		return nil, sigv4.ErrExpiredToken
	}
	aead, err := s.cipher()
	if err != nil {
		return nil, err
	}
	secret, err := open(aead, r.Secret, KindSession+"/"+id+"/secret")
	if err != nil {
		return nil, err
	}
	token, err := open(aead, r.Token, KindSession+"/"+id+"/token")
	if err != nil {
		return nil, err
	}
	p := &Principal{
		Kind:        r.Kind,
		AccountID:   s.AccountID,
		AccessKeyID: id,
		Temporary:   true,
		IssuedAt:    r.Issued,
		Expires:     r.Expires,
	}
	switch r.Kind {
	case PrincipalRoot:
		p.ARN, p.UserID, p.Name = "arn:aws:iam::"+s.AccountID+":root", s.AccountID, "root"
	case PrincipalUser:
		p.ARN, p.UserID, p.Name = r.UserARN, r.UserID, r.UserName
	case PrincipalAssumedRole:
		p.ARN = assumedRoleARN(s.AccountID, r.RoleName, r.SessionName)
		p.UserID = r.RoleID + ":" + r.SessionName
		p.Name = r.RoleName
		p.RoleARN, p.RoleID, p.SessionName = r.RoleARN, r.RoleID, r.SessionName
		p.SessionPolicies = r.SessionPolicies
		for _, d := range r.SessionPolicies {
			doc, err := parseIdentity(d)
			if err != nil {
				return nil, fmt.Errorf("iam: session %s: stored session policy: %w", id, err)
			}
			p.sessionDocs = append(p.sessionDocs, doc)
		}
	default:
		return nil, fmt.Errorf("iam: session %s: unknown kind %q", id, r.Kind)
	}
	p.pp = p.policyPrincipal()
	return &credEntry{
		cred:    sigv4.Credential{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Principal: p},
		expires: r.Expires,
	}, nil
}

func assumedRoleARN(account, role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

// PollInterval is how often Run looks for changes made by other processes.
const PollInterval = time.Second

// sessionRetention is how long expired sessions are kept (and answered as
// expired) before Run deletes them.
const sessionRetention = 24 * time.Hour

// Run keeps the caches of s in step with changes made by other processes
// sharing the store: it follows Store.Changed and polls Store.Changes every
// second, forgetting the cached credentials and policies that changed. It
// also deletes sessions expired for more than a day, hourly. It returns when
// ctx ends.
func (s *Service) Run(ctx context.Context) error {
	s.init()
	// The current revision; what was cached before it is dropped, since
	// changes before it are not followed.
	_, since, err := s.Store.Changes(ctx, math.MaxInt64)
	for err != nil {
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(PollInterval):
		}
		_, since, err = s.Store.Changes(ctx, math.MaxInt64)
	}
	s.invalidateAll()
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	lastPurge := time.Time{}
	for {
		changed := s.Store.Changed()
		changes, rev, err := s.Store.Changes(ctx, since)
		if err == nil {
			s.apply(changes)
			since = rev
		}
		if now := time.Now(); now.Sub(lastPurge) >= time.Hour {
			lastPurge = now
			s.purgeSessions(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// apply forgets what the changes make stale.
func (s *Service) apply(changes []store.Change) {
	var keys []string
	policies := false
	for _, c := range changes {
		switch c.Kind {
		case KindAccessKey, KindSession:
			keys = append(keys, c.Key)
		case KindUser, KindUserPolicy, KindPolicy, KindPolicyVersion, KindRole, KindRolePolicy, KindAttachment:
			policies = true
		}
	}
	if len(keys) > 0 {
		s.invalidateCreds(keys...)
	}
	if policies {
		s.invalidatePolicies()
	}
}

func (s *Service) purgeSessions(ctx context.Context) {
	items, err := s.Store.List(ctx, KindSession, "")
	if err != nil {
		return
	}
	cutoff := s.now().Add(-sessionRetention)
	var old []string
	for _, it := range items {
		var r struct {
			Expires time.Time `json:"expires"`
		}
		if json.Unmarshal(it.Value, &r) == nil && r.Expires.Before(cutoff) {
			old = append(old, it.Key)
		}
	}
	for len(old) > 0 && ctx.Err() == nil {
		n := min(len(old), 500)
		batch := old[:n]
		old = old[n:]
		s.Store.Update(ctx, func(tx store.Tx) error {
			for _, k := range batch {
				if err := tx.Delete(ctx, KindSession, k); err != nil && !isNotFound(err) {
					return err
				}
			}
			return nil
		})
		s.invalidateCreds(batch...)
	}
}
