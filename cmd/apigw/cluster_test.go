package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/redis/go-redis/v9"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
)

// clusterHAProxyConfig is the README's HAProxy configuration ("Running a
// cluster"), with the ports of the test: {{data}} and {{admin}} are the
// frontends, {{sock}} the stats socket, {{nodes}} and {{admins}} the
// server lines.
const clusterHAProxyConfig = `global
    maxconn 2000
    stats socket {{sock}} level admin

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # A connection refused, or a keep-alive connection closed by a node
    # that stops, is retried on another node.
    retries 3
    option redispatch
    retry-on conn-failure empty-response

frontend data
    bind {{data}}
    default_backend apigw

frontend admin
    bind {{admin}}
    default_backend apigw_admin

backend apigw
    balance roundrobin
    option httpchk GET /_apigw/health
    http-check expect status 200
    default-server check inter 100ms fall 2 rise 2
{{nodes}}
backend apigw_admin
    balance roundrobin
    option httpchk GET /_apigw/health
    http-check expect status 200
    default-server check inter 100ms fall 2 rise 2
{{admins}}`

// clusterNode is one apigw serve process of the cluster.
type clusterNode struct {
	name        string
	data, admin string // host:port
	dir         string
	extra       []string // flags of this node only
	cmd         *exec.Cmd
	out         *syncBuffer
	exited      chan error
}

type cluster struct {
	t      *testing.T
	bin    string
	args   []string // common to every node
	env    []string
	nodes  []*clusterNode
	data   string // HAProxy's data frontend
	admin  string // HAProxy's admin frontend
	sock   string
	client *http.Client  // for the load, through HAProxy
	redis  *clusterRedis // the cluster's own redis-server; nil on APIGW_TEST_REDIS
}

// clusterRedis is a redis-server of the test's own on a free port, which
// the test may kill and restart (the machine's Redis, APIGW_TEST_REDIS, it
// must not). It has no persistence: it restarts empty.
type clusterRedis struct {
	bin, addr string
	cmd       *exec.Cmd
	out       syncBuffer
}

// start starts redis-server and waits until it answers PING.
func (r *clusterRedis) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); rdb.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s does not answer within 10 s\n%s", r.addr, r.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill stops redis-server with SIGKILL, as a crash would.
func (r *clusterRedis) kill() {
	if r.cmd != nil && r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// start starts n's process and waits until its health answers 200.
func (c *cluster) start(n *clusterNode) {
	t := c.t
	t.Helper()
	n.out = &syncBuffer{}
	args := append(slices.Clone(c.args), "--listen", n.data, "--admin-listen", n.admin, "--data-dir", n.dir)
	n.cmd = exec.Command(c.bin, append(args, n.extra...)...)
	n.cmd.Env = c.env
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(n.cmd, n.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-n.exited:
			t.Fatalf("%s exited at start: %v\n%s", n.name, err, n.out)
		default:
		}
		if resp, err := http.Get("http://" + n.admin + "/_apigw/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy within 30 s\n%s", n.name, n.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig to n and waits for it to exit.
func (c *cluster) stop(n *clusterNode, sig syscall.Signal) error {
	c.t.Helper()
	n.cmd.Process.Signal(sig)
	select {
	case err := <-n.exited:
		n.exited <- err
		return err
	case <-time.After(40 * time.Second):
		c.t.Fatalf("%s did not exit within 40 s of %v", n.name, sig)
		return nil
	}
}

// haproxyStates reads the servers' states (UP, DOWN, ...) of a backend
// from HAProxy's stats socket.
func (c *cluster) haproxyStates(backend string) (map[string]string, error) {
	conn, err := net.Dial("unix", c.sock)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(conn)
	var status int = -1
	out := map[string]string{}
	for sc.Scan() {
		f := strings.Split(strings.TrimPrefix(sc.Text(), "# "), ",")
		if status < 0 {
			status = slices.Index(f, "status")
			if status < 0 {
				return nil, fmt.Errorf("show stat: no status column in %q", sc.Text())
			}
			continue
		}
		if len(f) > status && f[0] == backend && f[1] != "BACKEND" && f[1] != "FRONTEND" {
			out[f[1]] = f[status]
		}
	}
	return out, sc.Err()
}

// waitHAProxy waits until HAProxy sees node n in state (UP or DOWN) in
// both backends.
func (c *cluster) waitHAProxy(n *clusterNode, state string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err := c.haproxyStates("apigw")
		b, err2 := c.haproxyStates("apigw_admin")
		if err == nil && err2 == nil && strings.HasPrefix(a[n.name], state) && strings.HasPrefix(b[n.name], state) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("HAProxy does not see %s %s within 20 s: %v %v (%v %v)", n.name, state, a, b, err, err2)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mgmt is a management client on addr (a node's admin listener or
// HAProxy's admin frontend).
func mgmt(addr string) *apigateway.Client {
	return apigateway.New(apigateway.Options{
		Region:           apigwtest.Region,
		BaseEndpoint:     aws.String("http://" + addr),
		Credentials:      credentials.NewStaticCredentialsProvider(apigwtest.AccessKeyID, apigwtest.SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
}

// get sends GET addr/_aws/execute-api/{api}/prod{path} with key (if any)
// and returns the status and body; status 0 is a transport error.
func get(client *http.Client, addr, api, path, key string) (int, string, error) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/_aws/execute-api/"+api+"/prod"+path, nil)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(b), nil
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("APIGW_TEST_POSTGRES") == "" || os.Getenv("APIGW_TEST_REDIS") == "" {
		t.Skip("APIGW_TEST_POSTGRES and APIGW_TEST_REDIS must both be set (as .ci/run does): skipping the cluster test")
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (Debian package haproxy): skipping the cluster test")
	}
	pgURL := pgtest.URL(t)
	redisURL := os.Getenv("APIGW_TEST_REDIS")
	// Ports for Redis, 3 nodes and HAProxy, distinct (freePort alone may
	// give one twice).
	ports := freePorts(t, 9)
	// A redis-server of the test's own, when installed, so that a subtest
	// can restart it.
	var own *clusterRedis
	if bin, err := exec.LookPath("redis-server"); err == nil {
		own = &clusterRedis{bin: bin, addr: ports[8]}
		own.start(t)
		t.Cleanup(func() {
			own.kill()
			if t.Failed() {
				t.Logf("redis-server's output:\n%s", own.out.String())
			}
		})
		redisURL = "redis://" + own.addr + "/0"
	}
	var rb [4]byte
	rand.Read(rb[:])
	prefix := "apigwtest:cluster:" + hex.EncodeToString(rb[:]) + ":"
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatalf("APIGW_TEST_REDIS: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() {
		ctx := context.Background()
		for k := range rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator().Vals(ctx) {
			rdb.Del(ctx, k)
		}
		rdb.Close()
	})

	dir := t.TempDir()
	c := &cluster{t: t, bin: filepath.Join(dir, "apigw"), sock: filepath.Join(dir, "haproxy.sock"), redis: own}
	build(t, "./cmd/apigw", c.bin)
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.args = []string{"serve", "--store", pgURL, "--redis", redisURL, "--redis-prefix", prefix, "--secret-key-file", keyFile, "--metrics-public"}
	c.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"APIGW_ROOT_ACCESS_KEY_ID=" + apigwtest.AccessKeyID, "APIGW_ROOT_SECRET_ACCESS_KEY=" + apigwtest.SecretAccessKey}
	var nodes, admins strings.Builder
	for i := range 3 {
		n := &clusterNode{name: fmt.Sprintf("n%d", i), data: ports[2*i], admin: ports[2*i+1], dir: filepath.Join(dir, fmt.Sprintf("node%d", i))}
		c.nodes = append(c.nodes, n)
		fmt.Fprintf(&nodes, "    server %s %s port %s\n", n.name, n.data, n.admin[strings.LastIndexByte(n.admin, ':')+1:])
		fmt.Fprintf(&admins, "    server %s %s\n", n.name, n.admin)
	}
	// The first node creates the schema and the key check; the others join.
	for _, n := range c.nodes {
		c.start(n)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.cmd.Process.Kill()
			<-n.exited
			if t.Failed() {
				t.Logf("%s's output:\n%s", n.name, n.out)
			}
		}
	})

	c.data, c.admin = ports[6], ports[7]
	conf := strings.NewReplacer("{{data}}", c.data, "{{admin}}", c.admin, "{{sock}}", c.sock,
		"{{nodes}}", nodes.String(), "{{admins}}", admins.String()).Replace(clusterHAProxyConfig)
	confFile := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var hout syncBuffer
	hp := exec.Command(haproxy, "-db", "-f", confFile)
	hp.Stdout, hp.Stderr = &hout, &hout
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hp.Process.Kill()
		hp.Wait()
		if t.Failed() {
			t.Logf("haproxy's output:\n%s", hout.String())
		}
	})
	for _, n := range c.nodes {
		c.waitHAProxy(n, "UP")
	}
	c.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}, Timeout: 30 * time.Second}
	t.Cleanup(c.client.CloseIdleConnections)
	return c
}

// clusterAPI makes the test's API through HAProxy's admin frontend: GET
// /q and /k need an API key and answer "q"; GET /v needs none and answers
// "v0". It returns the API's id and /v's resource id.
func clusterAPI(t *testing.T, c *apigateway.Client) (apiID, vID string) {
	t.Helper()
	ctx := context.Background()
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("cluster")})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		path string
		key  bool
	}{{"q", true}, {"v", false}} {
		res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String(r.path)})
		if err != nil {
			t.Fatal(err)
		}
		if r.path == "v" {
			vID = *res.Id
		}
		if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			AuthorizationType: aws.String("NONE"), ApiKeyRequired: r.key}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
			t.Fatal(err)
		}
		body := r.path
		if r.path == "v" {
			body = "v0"
		}
		if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": body}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	return *api.Id, vID
}

// clusterPlan makes a usage plan on the API's prod stage and a key in it.
func clusterPlan(t *testing.T, c *apigateway.Client, apiID, name string, quota int32, rate float64, burst int32) (planID, keyID, key string) {
	t.Helper()
	ctx := context.Background()
	in := &apigateway.CreateUsagePlanInput{Name: aws.String(name),
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("prod")}},
		Throttle:  &types.ThrottleSettings{RateLimit: rate, BurstLimit: burst}}
	if quota > 0 {
		in.Quota = &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeDay}
	}
	plan, err := c.CreateUsagePlan(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String(name), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	return *plan.Id, *k.Id, *k.Value
}

// seenBy polls every node directly until ok(status, body) holds on each,
// and returns each node's delay since t0.
func (c *cluster) seenBy(t *testing.T, t0 time.Time, apiID, path, key string, ok func(int, string) bool) []time.Duration {
	t.Helper()
	return seenBy(t, c.nodes, c.client, t0, apiID, path, key, ok)
}

// seenBy is cluster.seenBy on the given nodes.
func seenBy(t *testing.T, nodes []*clusterNode, client *http.Client, t0 time.Time, apiID, path, key string, ok func(int, string) bool) []time.Duration {
	t.Helper()
	delays := make([]time.Duration, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			deadline := t0.Add(10 * time.Second)
			for {
				status, body, _ := get(client, n.data, apiID, path, key)
				if ok(status, body) {
					delays[i] = time.Since(t0)
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: not seen within 10 s (last answer %d %s)", n.name, status, body)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	return delays
}

// reportDelays logs the p50, p99 and max of a change's delays until every
// node served it.
func reportDelays(t *testing.T, what string, delays []time.Duration) {
	t.Helper()
	if len(delays) == 0 {
		return
	}
	slices.Sort(delays)
	t.Logf("%s (%d samples, from the call's start): p50 %v, p99 %v, max %v", what, len(delays),
		delays[len(delays)/2].Round(100*time.Microsecond), delays[len(delays)*99/100].Round(100*time.Microsecond), delays[len(delays)-1].Round(100*time.Microsecond))
}

// mgmtLambda is a Lambda API client on addr.
func mgmtLambda(addr string) *awslambda.Client {
	return awslambda.New(awslambda.Options{
		Region:           apigwtest.Region,
		BaseEndpoint:     aws.String("http://" + addr),
		Credentials:      credentials.NewStaticCredentialsProvider(apigwtest.AccessKeyID, apigwtest.SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
}

// echoFunction is a Python handler answering body.
func echoFunction(body string) string {
	return "def handler(event, context):\n    return {\"statusCode\": 200, \"body\": \"" + body + "\"}\n"
}

// countingAuthorizer is a TOKEN authorizer that appends each token it is
// called with to the file $CALLS (one file for the nodes' workers) and
// allows the method.
const countingAuthorizer = `import os

def handler(event, context):
    with open(os.environ["CALLS"], "a") as f:
        f.write(event["authorizationToken"] + "\n")
    return {"principalId": "user", "policyDocument": {"Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]}}
`

// pyZip is a deployment package of one file, fn.py.
func pyZip(t *testing.T, code string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("fn.py")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, code)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// clusterFunctionAPI makes an API with two Python functions: GET /fn
// calls "echo" (AWS_PROXY, answering "code0"), GET /auth is a MOCK
// answering "authorized" behind "auth", a TOKEN authorizer on the
// Authorization header whose results are cached for 300 s. It returns the
// API's id, deployed to prod.
func clusterFunctionAPI(t *testing.T, c *apigateway.Client, lc *awslambda.Client, calls string) string {
	t.Helper()
	ctx := context.Background()
	arns := map[string]string{}
	for name, code := range map[string]string{"echo": echoFunction("code0"), "auth": countingAuthorizer} {
		fn, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: lambdatypes.RuntimePython312,
			Handler: aws.String("fn.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda"),
			Code:        &lambdatypes.FunctionCode{ZipFile: pyZip(t, code)},
			Environment: &lambdatypes.Environment{Variables: map[string]string{"CALLS": calls}}})
		if err != nil {
			t.Fatal(err)
		}
		arns[name] = *fn.FunctionArn
	}
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("functions")})
	if err != nil {
		t.Fatal(err)
	}
	account := strings.Split(arns["echo"], ":")[4]
	for name, arn := range arns {
		if _, err := lc.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String(arn), StatementId: aws.String("apigw"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
			SourceArn: aws.String("arn:aws:execute-api:" + apigwtest.Region + ":" + account + ":" + *api.Id + "/*")}); err != nil {
			t.Fatalf("AddPermission %s: %v", name, err)
		}
	}
	uri := func(arn string) *string {
		return aws.String("arn:aws:apigateway:" + apigwtest.Region + ":lambda:path/2015-03-31/functions/" + arn + "/invocations")
	}
	au, err := c.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: api.Id, Name: aws.String("auth"), Type: types.AuthorizerTypeToken,
		AuthorizerUri: uri(arns["auth"]), IdentitySource: aws.String("method.request.header.Authorization"), AuthorizerResultTtlInSeconds: aws.Int32(300)})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"fn", "auth"} {
		res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String(path)})
		if err != nil {
			t.Fatal(err)
		}
		m := &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}
		in := &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: uri(arns["echo"])}
		if path == "auth" {
			m.AuthorizationType, m.AuthorizerId = aws.String("CUSTOM"), au.Id
			in = &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
				Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}
		}
		if _, err := c.PutMethod(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		if path == "auth" {
			if _, err := c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
				StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": "authorized"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	return *api.Id
}

// freePorts returns n distinct free loopback addresses.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out[i] = l.Addr().String()
	}
	return out
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// health reads n's GET /_apigw/health.
func health(n *clusterNode) (server.Health, error) {
	var h server.Health
	resp, err := http.Get("http://" + n.admin + "/_apigw/health")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// metric reads one of n's metrics without labels.
func metric(t *testing.T, n *clusterNode, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + "/_apigw/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: metric %s: %v", n.name, sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("%s: no metric %s (%v)", n.name, name, sc.Err())
	return 0
}

// load runs clients in parallel through HAProxy until each one's next
// returns false, counting answers by status (0: transport errors).
type loadCounts struct {
	mu     sync.Mutex
	status map[int]int
	errs   []string
}

func (l *loadCounts) add(status int, body string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == nil {
		l.status = map[int]int{}
	}
	l.status[status]++
	if (status != 200 && status != 429) && len(l.errs) < 5 {
		l.errs = append(l.errs, fmt.Sprintf("%d %s %v", status, body, err))
	}
}

// TestCluster: three apigw serve processes on one PostgreSQL and one Redis
// behind HAProxy, configured as the README's "Running a cluster" says.
func TestCluster(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	lb := mgmt(c.admin)
	apiID, vID := clusterAPI(t, lb)
	// Plan B has no quota: for the propagation checks and the restarts.
	planB, keyBID, keyB := clusterPlan(t, lb, apiID, "b", 0, 10000, 5000)
	c.seenBy(t, time.Now(), apiID, "/q", keyB, func(s int, _ string) bool { return s == 200 })

	t.Run("quota exact under 64 connections", func(t *testing.T) {
		const quota = 2000
		planA, keyAID, keyA := clusterPlan(t, lb, apiID, "a", quota, 10000, 5000)
		// Each node's first 200 (it knows the key) uses one unit.
		c.seenBy(t, time.Now(), apiID, "/q", keyA, func(s int, _ string) bool { return s == 200 })
		var admitted atomic.Int64
		admitted.Store(int64(len(c.nodes)))
		var counts loadCounts
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for {
					status, body, err := get(c.client, c.data, apiID, "/q", keyA)
					counts.add(status, body, err)
					if status == 200 {
						admitted.Add(1)
						continue
					}
					if status == 429 && body == `{"message":"Limit Exceeded"}` {
						return
					}
					if status != 429 {
						return
					}
				}
			})
		}
		wg.Wait()
		if got := admitted.Load(); got != quota {
			t.Errorf("admitted %d (one per node directly, the rest through HAProxy), want exactly %d (answers %v %v)", got, quota, counts.status, counts.errs)
		}
		if len(counts.errs) > 0 {
			t.Errorf("answers other than 200 and 429: %v %v", counts.status, counts.errs)
		}
		today := time.Now().UTC().Format("2006-01-02")
		for _, n := range c.nodes {
			u, err := mgmt(n.admin).GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(planA), KeyId: aws.String(keyAID), StartDate: aws.String(today), EndDate: aws.String(today)})
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Items[keyAID]; len(got) != 1 || got[0][0] != quota || got[0][1] != 0 {
				t.Errorf("%s: GetUsage = %v, want [[%d 0]]", n.name, u.Items, quota)
			}
		}
	})

	t.Run("changes through one node seen by all", func(t *testing.T) {
		admin := mgmt(c.nodes[0].admin)
		var deploy, disable, throttle []time.Duration
		for i := 1; i <= 5; i++ {
			body := fmt.Sprintf("v%d", i)
			if _, err := admin.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: aws.String(apiID), ResourceId: aws.String(vID), HttpMethod: aws.String("GET"),
				StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": body}}); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			if _, err := admin.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String("prod")}); err != nil {
				t.Fatal(err)
			}
			deploy = append(deploy, c.seenBy(t, t0, apiID, "/v", "", func(s int, b string) bool { return s == 200 && b == body })...)

			t0 = time.Now()
			if _, err := admin.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(keyBID),
				PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}}}); err != nil {
				t.Fatal(err)
			}
			disable = append(disable, c.seenBy(t, t0, apiID, "/q", keyB, func(s int, b string) bool { return s == 403 })...)
			if _, err := admin.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(keyBID),
				PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("true")}}}); err != nil {
				t.Fatal(err)
			}
			c.seenBy(t, time.Now(), apiID, "/q", keyB, func(s int, b string) bool { return s == 200 })

			t0 = time.Now()
			if _, err := admin.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(planB), PatchOperations: []types.PatchOperation{
				{Op: types.OpReplace, Path: aws.String("/throttle/rateLimit"), Value: aws.String("1")},
				{Op: types.OpReplace, Path: aws.String("/throttle/burstLimit"), Value: aws.String("1")}}}); err != nil {
				t.Fatal(err)
			}
			throttle = append(throttle, c.seenBy(t, t0, apiID, "/q", keyB, func(s int, b string) bool { return s == 429 && b == `{"message":"Too Many Requests"}` })...)
			if _, err := admin.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(planB), PatchOperations: []types.PatchOperation{
				{Op: types.OpReplace, Path: aws.String("/throttle/rateLimit"), Value: aws.String("10000")},
				{Op: types.OpReplace, Path: aws.String("/throttle/burstLimit"), Value: aws.String("5000")}}}); err != nil {
				t.Fatal(err)
			}
			c.seenBy(t, time.Now(), apiID, "/q", keyB, func(s int, b string) bool { return s == 200 })
		}
		reportDelays(t, "deployment seen by every node", deploy)
		reportDelays(t, "key disabled seen by every node", disable)
		reportDelays(t, "plan throttle seen by every node", throttle)
	})

	t.Run("functions: code updated through one node, authorizer cache shared", func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			t.Skip("python3 is not installed: skipping the function subtests")
		}
		calls := filepath.Join(t.TempDir(), "calls")
		fnAPI := clusterFunctionAPI(t, lb, mgmtLambda(c.admin), calls)

		// UpdateFunctionCode through node 0; every node serves the new
		// code (its workers restarted on it), as with a deployment.
		lc := mgmtLambda(c.nodes[0].admin)
		var update, own []time.Duration
		for i := 1; i <= 5; i++ {
			body := fmt.Sprintf("code%d", i)
			t0 := time.Now()
			if _, err := lc.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("echo"),
				ZipFile: pyZip(t, echoFunction(body))}); err != nil {
				t.Fatal(err)
			}
			d := c.seenBy(t, t0, fnAPI, "/fn", "", func(s int, b string) bool { return s == 200 && b == body })
			update = append(update, d...)
			own = append(own, d[0])
		}
		// Each node starts a worker on the new code: its cold start is
		// most of the delay, on the node the update went through too.
		reportDelays(t, "function code updated seen by every node", update)
		reportDelays(t, "function code updated served by the node it went through", own)

		// A TOKEN authorizer's result cached by one node is used by the
		// others: the function runs once per token across the cluster.
		authorize := func(n *clusterNode, token string) {
			t.Helper()
			req, _ := http.NewRequest("GET", "http://"+n.data+"/_aws/execute-api/"+fnAPI+"/prod/auth", nil)
			req.Header.Set("Authorization", token)
			resp, err := c.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "authorized" {
				t.Fatalf("%s: GET /auth with %s = %d %s, want 200 authorized", n.name, token, resp.StatusCode, b)
			}
		}
		count := func(token string) int {
			b, _ := os.ReadFile(calls)
			return strings.Count(string(b), token+"\n")
		}
		for _, n := range c.nodes {
			authorize(n, "alice")
		}
		if got := count("alice"); got != 1 {
			t.Errorf("the authorizer ran %d times for one token on three nodes, want once (its result shared through Redis)", got)
		}
		authorize(c.nodes[1], "bob")
		authorize(c.nodes[2], "bob")
		if got := count("bob"); got != 1 {
			t.Errorf("the authorizer ran %d times for a second token, want once", got)
		}
	})

	t.Run("a node killed mid-load", func(t *testing.T) {
		const quota = 3000
		_, _, keyC := clusterPlan(t, lb, apiID, "c", quota, 10000, 5000)
		c.seenBy(t, time.Now(), apiID, "/q", keyC, func(s int, _ string) bool { return s == 200 })
		victim := c.nodes[2]
		var admitted atomic.Int64
		admitted.Store(int64(len(c.nodes))) // the first 200 of each node
		var counts loadCounts
		var killed sync.Once
		const clients = 32
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					status, body, err := get(c.client, c.data, apiID, "/q", keyC)
					counts.add(status, body, err)
					if status == 200 {
						if admitted.Add(1) >= quota/3 {
							killed.Do(func() { victim.cmd.Process.Signal(syscall.SIGKILL) })
						}
						continue
					}
					if status == 429 && body == `{"message":"Limit Exceeded"}` {
						return
					}
				}
			})
		}
		wg.Wait()
		got := admitted.Load()
		t.Logf("killed %s after %d admitted: %d admitted of a quota of %d, answers %v", victim.name, quota/3, got, quota, counts.status)
		if got > quota {
			t.Errorf("admitted %d, over the quota of %d", got, quota)
		}
		// The killed node's unused lease is lost: at most 1/16 of what was
		// left, and requests in flight on it (admitted, answer lost).
		if lost := quota - got; lost > (quota-quota/3)/16+clients {
			t.Errorf("admitted %d of %d: %d lost, more than the killed node's lease and its requests in flight", got, quota, lost)
		}
		if n := counts.status[0] + counts.status[502] + counts.status[503] + counts.status[504]; n > clients {
			t.Errorf("%d failed requests, more than the %d that can be in flight on the killed node: %v", n, clients, counts.errs)
		}
		c.waitHAProxy(victim, "DOWN")
		c.start(victim)
		c.waitHAProxy(victim, "UP")
	})

	t.Run("redis restarted mid-load", func(t *testing.T) {
		if c.redis == nil {
			t.Skip("redis-server is not installed: the cluster runs on APIGW_TEST_REDIS, which the test must not restart")
		}
		// A fourth node, outside HAProxy, fails closed.
		closed := &clusterNode{name: "closed", data: freePort(t), admin: freePort(t), dir: filepath.Join(t.TempDir(), "closed"),
			extra: []string{"--redis-failure", "closed"}}
		c.start(closed)
		t.Cleanup(func() {
			closed.cmd.Process.Kill()
			<-closed.exited
			if t.Failed() {
				t.Logf("%s's output:\n%s", closed.name, closed.out)
			}
		})
		all := append(slices.Clone(c.nodes), closed)
		const quota = 4000
		planD, keyDID, keyD := clusterPlan(t, lb, apiID, "d", quota, 10000, 5000)
		seenBy(t, all, c.client, time.Now(), apiID, "/q", keyD, func(s int, _ string) bool { return s == 200 })
		var admitted [3]atomic.Int64 // by phase: before the kill, Redis down, Redis back
		admitted[0].Store(int64(len(all)))
		var phase atomic.Int32
		var counts loadCounts
		const clients = 32
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					p := phase.Load()
					status, body, err := get(c.client, c.data, apiID, "/q", keyD)
					counts.add(status, body, err)
					switch {
					case status == 200:
						admitted[p].Add(1)
					case status == 429 && body == `{"message":"Limit Exceeded"}`:
						if p == 2 {
							return
						}
					case status != 429:
						return
					}
				}
			})
		}
		total := func() int64 { return admitted[0].Load() + admitted[1].Load() + admitted[2].Load() }
		waitFor(t, 20*time.Second, "a quarter of the quota admitted", func() bool { return total() >= quota/4 })
		c.redis.kill()
		phase.Store(1)
		before := admitted[0].Load()
		// Each node says so in its health and metrics.
		redisState := func(status, redisStatus string, shared float64) {
			t.Helper()
			for _, n := range all {
				waitFor(t, 10*time.Second, n.name+" "+status, func() bool {
					h, _ := health(n)
					return h.Status == status && h.Redis != nil && h.Redis.Status == redisStatus
				})
				if v := metric(t, n, "apigw_redis_shared"); v != shared {
					t.Errorf("%s: apigw_redis_shared %v with health %s, want %v", n.name, v, status, shared)
				}
				if v := metric(t, n, "apigw_redis_outages_total"); v != 1 {
					t.Errorf("%s: apigw_redis_outages_total %v, want 1", n.name, v)
				}
			}
		}
		redisState("degraded", "unreachable", 0)
		if status, body, err := get(c.client, closed.data, apiID, "/q", keyD); status != 503 || body != `{"message":"Service Unavailable"}` {
			t.Errorf("the --redis-failure closed node during the outage answered %d %s %v, want 503", status, body, err)
		}
		waitFor(t, 20*time.Second, "a quarter of the quota admitted on local limits", func() bool { return admitted[1].Load() >= quota/4 })
		c.redis.start(t)
		redisState("ok", "ok", 1)
		phase.Store(2)
		during := admitted[1].Load()
		if status, body, err := get(c.client, closed.data, apiID, "/q", keyD); status != 200 {
			t.Errorf("the --redis-failure closed node with Redis back answered %d %s %v, want 200", status, body, err)
		} else {
			admitted[2].Add(1)
		}
		// It stops cleanly, giving its lease back, so the load can use it.
		if err := c.stop(closed, syscall.SIGTERM); err != nil {
			t.Errorf("%s exited with %v after SIGTERM", closed.name, err)
		}
		// Redis restarted empty: the count it serves was rebuilt from the
		// store's ledger, uses before the restart included.
		u, err := mgmt(c.nodes[0].admin).GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(planD), KeyId: aws.String(keyDID),
			StartDate: aws.String(time.Now().UTC().Format("2006-01-02")), EndDate: aws.String(time.Now().UTC().Format("2006-01-02"))})
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Items[keyDID]; len(got) != 1 || got[0][0] < before+during {
			t.Errorf("GetUsage after the restart = %v, want at least the %d admitted before it", u.Items, before+during)
		}
		wg.Wait()
		// Leases still held go back after a second unused; then each node
		// admits what is left.
		time.Sleep(limit.QuotaLeaseIdle + 2*limit.DefaultRedisTick)
		for _, n := range c.nodes {
			for {
				status, body, err := get(c.client, n.data, apiID, "/q", keyD)
				if status == 200 {
					admitted[2].Add(1)
					continue
				}
				if status != 429 {
					t.Errorf("%s after the load: %d %s %v", n.name, status, body, err)
				}
				break
			}
		}
		t.Logf("redis killed after %d admitted, %d admitted on local limits, %d after it came back: %d of a quota of %d, answers %v",
			before, during, admitted[2].Load(), total(), quota, counts.status)
		if got := total(); got != quota {
			t.Errorf("admitted %d across the Redis restart, want exactly the quota of %d", got, quota)
		}
		if len(counts.errs) > 0 {
			t.Errorf("answers other than 200 and 429 through HAProxy: %v %v", counts.status, counts.errs)
		}
		for _, n := range c.nodes {
			out := n.out.String()
			for _, want := range []string{"redis unreachable: limits are local until it answers", "redis answers again: limits are shared"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s's log has no %q", n.name, want)
				}
			}
		}
		if out := closed.out.String(); !strings.Contains(out, "redis unreachable: metered requests are refused with 503") {
			t.Errorf("%s's log has no outage line", closed.name)
		}
	})

	t.Run("SIGTERM stops accepting, finishes in flight, exits", func(t *testing.T) {
		arrived, release := make(chan struct{}, 1), make(chan struct{})
		backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Hold") != "" {
				arrived <- struct{}{}
				<-release
			}
			io.WriteString(w, "slow")
		})}
		bl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go backend.Serve(bl)
		t.Cleanup(func() { backend.Close() })
		api, err := lb.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(apiID)})
		if err != nil {
			t.Fatal(err)
		}
		var root string
		for _, r := range api.Items {
			if *r.Path == "/" {
				root = *r.Id
			}
		}
		res, err := lb.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: aws.String(apiID), ParentId: aws.String(root), PathPart: aws.String("slow")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lb.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(apiID), ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
			t.Fatal(err)
		}
		if _, err := lb.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(apiID), ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("http://" + bl.Addr().String() + "/slow")}); err != nil {
			t.Fatal(err)
		}
		if _, err := lb.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String("prod")}); err != nil {
			t.Fatal(err)
		}
		n := c.nodes[0]
		c.seenBy(t, time.Now(), apiID, "/slow", "", func(s int, b string) bool { return s == 200 && b == "slow" })

		type answer struct {
			status int
			body   string
			err    error
		}
		done := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest("GET", "http://"+n.data+"/_aws/execute-api/"+apiID+"/prod/slow", nil)
			req.Header.Set("X-Hold", "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			done <- answer{resp.StatusCode, string(b), err}
		}()
		<-arrived
		n.cmd.Process.Signal(syscall.SIGTERM)
		// New connections are refused while the request is in flight.
		for deadline := time.Now().Add(10 * time.Second); ; {
			conn, err := net.Dial("tcp", n.data)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepts connections 10 s after SIGTERM", n.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		select {
		case err := <-n.exited:
			n.exited <- err
			t.Fatalf("%s exited (%v) with a request in flight", n.name, err)
		default:
		}
		close(release)
		if a := <-done; a.err != nil || a.status != 200 || a.body != "slow" {
			t.Errorf("the request in flight at SIGTERM got %d %q %v, want 200 slow", a.status, a.body, a.err)
		}
		if err := c.stop(n, syscall.SIGTERM); err != nil {
			t.Errorf("%s exited with %v after SIGTERM", n.name, err)
		}
		c.waitHAProxy(n, "DOWN")
		c.start(n)
		c.waitHAProxy(n, "UP")
	})

	t.Run("rolling restart under load", func(t *testing.T) {
		var counts loadCounts
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for !stop.Load() {
					status, body, err := get(c.client, c.data, apiID, "/v", "")
					counts.add(status, body, err)
				}
			})
		}
		for _, n := range c.nodes {
			if err := c.stop(n, syscall.SIGTERM); err != nil {
				t.Errorf("%s exited with %v after SIGTERM", n.name, err)
			}
			c.waitHAProxy(n, "DOWN")
			c.start(n)
			c.waitHAProxy(n, "UP")
		}
		stop.Store(true)
		wg.Wait()
		t.Logf("rolling restart: answers %v", counts.status)
		if len(counts.status) != 1 || counts.status[200] == 0 {
			t.Errorf("answers during the rolling restart %v, want only 200: %v", counts.status, counts.errs)
		}
	})
}
