package iam_test

import (
	"context"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/iam"
)

// The data plane's cost per AWS_IAM request once caches are warm: the key
// lookup for SigV4, then the identity policy decision.
func BenchmarkLookupCached(b *testing.B) {
	e := newEnv(b)
	u := e.user("bench", allow("execute-api:Invoke", "*"))
	ctx := context.Background()
	if _, err := e.svc.Lookup(ctx, u.id); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.svc.Lookup(ctx, u.id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeCached(b *testing.B) {
	e := newEnv(b)
	u := e.user("bench", allow("execute-api:Invoke", "arn:aws:execute-api:us-east-1:"+account+":a1b2c3d4e5/*/GET/*"))
	ctx := context.Background()
	cred, err := e.svc.Lookup(ctx, u.id)
	if err != nil {
		b.Fatal(err)
	}
	p := cred.Principal.(*iam.Principal)
	res := "arn:aws:execute-api:us-east-1:" + account + ":a1b2c3d4e5/dev/GET/pets/1"
	rc := iam.RequestContext(p, "192.0.2.1", false, time.Now(), nil)
	if err := e.svc.Authorize(ctx, p, "execute-api:Invoke", res, rc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.svc.Authorize(ctx, p, "execute-api:Invoke", res, rc); err != nil {
			b.Fatal(err)
		}
	}
}
