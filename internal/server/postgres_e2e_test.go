package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/postgres"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
	"github.com/apigw/apigw/internal/store/sqlite"
)

func pgStore(url string) func(*server.Config) {
	return func(c *server.Config) { c.Store = url }
}

func pgKeyFile(path string) func(*server.Config) {
	return func(c *server.Config) { c.SecretKeyFile = path }
}

// pgHealth fetches a node's health answer.
func pgHealth(t *testing.T, in *apigwtest.Instance) (int, string) {
	t.Helper()
	resp, err := http.Get(in.AdminURL + "/_apigw/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pgServedWithin polls until in serves deployment dep on apiID/prod, and
// returns how long it took.
func pgServedWithin(t *testing.T, in *apigwtest.Instance, apiID, dep string, since time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st := in.Server.Gateway.Stage(apiID, "prod"); st != nil && st.Deployment.ID == dep {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s not served by the other node within 10s", dep)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPostgresNodes: two apigw nodes on one PostgreSQL store (and one data
// dir: the data dir's lock guards only the SQLite store) share the account,
// the root and IAM credentials, and APIs; a deployment made through one is
// served by the other, woken by NOTIFY (the delay is logged, p50/p99).
func TestPostgresNodes(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	a := apigwtest.StartIn(t, dir, pgStore(url))
	b := apigwtest.StartIn(t, dir, pgStore(url))
	ctx := t.Context()

	for _, in := range []*apigwtest.Instance{a, b} {
		if status, body := pgHealth(t, in); status != 200 || body != `{"status":"ok","store":{"type":"postgres","status":"ok"}}` {
			t.Fatalf("health = %d %s", status, body)
		}
	}
	if a.Server.AccountID != b.Server.AccountID {
		t.Fatalf("account ids differ: %s, %s", a.Server.AccountID, b.Server.AccountID)
	}

	apiID, rootID := mgNewAPI(t, a.Client, "shared")
	res := mgNewResource(t, a.Client, apiID, rootID, "hello")
	mgPutMock(t, a.Client, apiID, aws.ToString(res.Id), "GET", `{"hello":"cluster"}`)
	const rounds = 20
	delays := make([]time.Duration, 0, rounds)
	for i := range rounds {
		// From the call's start: node A answers once it serves the
		// deployment itself, and node B often serves it before that.
		start := time.Now()
		dep := mgMust(a.Client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{
			RestApiId: aws.String(apiID), StageName: aws.String("prod"), Description: aws.String(fmt.Sprint("round ", i)),
		}))(t)
		delays = append(delays, pgServedWithin(t, b, apiID, aws.ToString(dep.Id), start))
	}
	slices.Sort(delays)
	t.Logf("CreateDeployment sent to node A → served by node B: p50 %v, p99 %v (%d rounds)", delays[len(delays)/2], delays[len(delays)*99/100], rounds)
	if status, body := mgInvoke(t, b.InvokeURL(apiID, "prod", "/hello")); status != 200 || body != `{"hello":"cluster"}` {
		t.Fatalf("GET through node B = %d %q", status, body)
	}

	// A user made through A signs calls to B: its secret, sealed by A, opens on B.
	user := iaNewUser(t, iaIAM(a, iaRoot), "alice", "")
	id := iaMust(iaSTS(b, user).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	if arn := aws.ToString(id.Arn); arn != "arn:aws:iam::"+a.Server.AccountID+":user/alice" {
		t.Fatalf("caller on node B = %s", arn)
	}
}

// TestPostgresSecretKeyMismatch: a node whose secret key does not open the
// store's secrets refuses to start and says why; given the first node's
// key file, it starts.
func TestPostgresSecretKeyMismatch(t *testing.T) {
	url := pgtest.URL(t)
	a := apigwtest.Start(t, pgStore(url))
	a.Stop(t)

	_, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), Store: url, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		Out: io.Discard, RootAccessKeyID: apigwtest.AccessKeyID, RootSecretAccessKey: apigwtest.SecretAccessKey})
	var mismatch *server.SecretKeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("a node with another key: %v, want a SecretKeyMismatchError", err)
	}
	const want = "does not open this store's secrets: every node of a store needs the key it was created with (--secret-key-file or APIGW_MASTER_KEY)"
	if msg := err.Error(); !strings.Contains(msg, want) {
		t.Fatalf("error %q does not say %q", msg, want)
	}

	b := apigwtest.Start(t, pgStore(url), pgKeyFile(filepath.Join(a.DataDir, "master.key")))
	if b.Server.AccountID != a.Server.AccountID {
		t.Fatalf("account = %s, want %s", b.Server.AccountID, a.Server.AccountID)
	}
}

// pgProxy is a TCP proxy in front of PostgreSQL that a test can cut.
type pgProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	p := &pgProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: PostgreSQL is unreachable.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *pgProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// TestPostgresUnreachable: a node whose store does not answer says so on
// /_apigw/health with a 503 (for load balancers); when the store is back
// it answers 200 again, and hears changes made meanwhile.
func TestPostgresUnreachable(t *testing.T) {
	direct := pgtest.URL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, u.Host)
	u.Host = proxy.addr
	other := apigwtest.Start(t, pgStore(direct))
	in := apigwtest.Start(t, pgStore(u.String()), pgKeyFile(filepath.Join(other.DataDir, "master.key")))
	if status, _ := pgHealth(t, in); status != 200 {
		t.Fatalf("health before the cut = %d", status)
	}

	proxy.cut()
	if status, body := pgHealth(t, in); status != 503 || body != `{"status":"unavailable","store":{"type":"postgres","status":"unreachable"}}` {
		t.Fatalf("health with the store cut off = %d %s, want 503", status, body)
	}
	// Made while the node cannot hear anything.
	apiID, rootID := mgNewAPI(t, other.Client, "meanwhile")
	res := mgNewResource(t, other.Client, apiID, rootID, "hello")
	mgPutMock(t, other.Client, apiID, aws.ToString(res.Id), "GET", `{}`)
	dep := mgMust(other.Client.CreateDeployment(t.Context(), &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String("prod")}))(t)

	proxy.restore(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _ := pgHealth(t, in)
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %d 15s after the store came back", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pgServedWithin(t, in, apiID, aws.ToString(dep.Id), time.Now())
}

// storeRecords lists every record of s with its value.
func storeRecords(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	changes, _, err := s.Changes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range changes {
		if c.Deleted {
			continue
		}
		v, err := s.Get(ctx, c.Kind, c.Key)
		if err != nil {
			t.Fatalf("get %s %s: %v", c.Kind, c.Key, err)
		}
		out[c.Kind+" "+c.Key] = string(v)
	}
	return out
}

// TestMigrateSQLiteToPostgres: `apigw migrate` copies an embedded
// installation (APIs, deployments, keys, plans, IAM users, functions) into
// PostgreSQL record by record; a node started on the copy with the
// installation's key serves what it served, and its users' secrets open.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	ctx := t.Context()
	src := apigwtest.Start(t)
	c := src.Client
	apiID, rootID := mgNewAPI(t, c, "embedded")
	res := mgNewResource(t, c, apiID, rootID, "hello")
	mgPutMock(t, c, apiID, aws.ToString(res.Id), "GET", `{"hello":"moved"}`)
	dep := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String("prod")}))(t)
	key := mgMust(c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true}))(t)
	plan := mgMust(c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p")}))(t)
	mgMust(c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: key.Id, KeyType: aws.String("API_KEY")}))(t)
	user := iaNewUser(t, iaIAM(src, iaRoot), "bob", "")
	if _, err := lfClient(src).CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("fn"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("f.handler"),
		Role: aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code: &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"f.py": "def handler(e, c):\n    return 1\n"})},
	}); err != nil {
		t.Fatal(err)
	}
	// A deleted record is not copied.
	mgMust(c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: mgMust(c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("gone")}))(t).Id}))(t)
	src.Stop(t)

	url := pgtest.URL(t)
	from := "sqlite:" + src.DataDir
	if _, err := server.Migrate(ctx, from, url, nil); err != nil {
		t.Fatal(err)
	}

	lite, err := sqlite.Open(ctx, filepath.Join(src.DataDir, "apigw.db"))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		lite.Close()
		t.Fatal(err)
	}
	want, got := storeRecords(t, lite), storeRecords(t, pg)
	lite.Close()
	pg.Close()
	if len(want) < 10 {
		t.Fatalf("the installation has %d records: the test made too little", len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("record %s not copied", k)
		} else if g != v {
			t.Errorf("record %s: copied %d bytes differ from the %d of the source", k, len(g), len(v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("record %s is in the copy only", k)
		}
	}

	// Twice: the destination is not empty any more.
	if _, err := server.Migrate(ctx, from, url, nil); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("second migration: %v, want ErrNotEmpty", err)
	}

	dst := apigwtest.Start(t, pgStore(url), pgKeyFile(filepath.Join(src.DataDir, "master.key")))
	dst.WaitServing(t, apiID, "prod", aws.ToString(dep.Id))
	if status, body := mgInvoke(t, dst.InvokeURL(apiID, "prod", "/hello")); status != 200 || body != `{"hello":"moved"}` {
		t.Fatalf("GET after the migration = %d %q", status, body)
	}
	id := iaMust(iaSTS(dst, user).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	if !strings.HasSuffix(aws.ToString(id.Arn), ":user/bob") {
		t.Fatalf("caller = %s", aws.ToString(id.Arn))
	}
	if _, err := lfClient(dst).GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatalf("GetFunction after the migration: %v", err)
	}
}
