package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/sigv4"
)

func TestParseAWSURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want AWSURI
		bad  bool
	}{
		{uri: "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem", want: AWSURI{Region: "us-east-1", Service: "dynamodb", Action: "PutItem"}},
		{uri: "arn:aws:apigateway:eu-west-1:s3:path/{bucket}/{key}", want: AWSURI{Region: "eu-west-1", Service: "s3", Path: "{bucket}/{key}"}},
		{uri: "arn:aws:apigateway:us-east-1:my-bucket.s3:path/photo.jpg", want: AWSURI{Region: "us-east-1", Subdomain: "my-bucket", Service: "s3", Path: "photo.jpg"}},
		{uri: "arn:aws:apigateway:us-west-2:sqs:path/123456789012/queue", want: AWSURI{Region: "us-west-2", Service: "sqs", Path: "123456789012/queue"}},
		{uri: "arn:aws-cn:apigateway:cn-north-1:kinesis:action/ListStreams", want: AWSURI{Region: "cn-north-1", Service: "kinesis", Action: "ListStreams"}},
		{uri: "arn:aws:apigateway:us-east-1:dynamodb:PutItem", bad: true},
		{uri: "arn:aws:apigateway:us-east-1:dynamodb:action/", bad: true},
		{uri: "arn:aws:apigateway:us-east-1:dynamodb:action/Put&Item", bad: true},
		{uri: "arn:aws:apigateway::dynamodb:action/PutItem", bad: true},
		{uri: "arn:aws:apigateway:us-east-1:.s3:path/x", bad: true},
		{uri: "https://dynamodb.us-east-1.amazonaws.com/", bad: true},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := ParseAWSURI(tc.uri)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseAWSURI accepted it: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestServiceEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoints                  map[string]string
		service, subdomain, region string
		want                       string
	}{
		{nil, "dynamodb", "", "us-east-1", "https://dynamodb.us-east-1.amazonaws.com"},
		{nil, "s3", "photos", "eu-west-1", "https://photos.s3.eu-west-1.amazonaws.com"},
		{nil, "kinesis", "", "cn-north-1", "https://kinesis.cn-north-1.amazonaws.com.cn"},
		{nil, "iotdata", "a1b2c3-ats", "us-east-1", "https://a1b2c3-ats.iot.us-east-1.amazonaws.com"},
		{map[string]string{"dynamodb": "http://127.0.0.1:8000/"}, "dynamodb", "", "us-east-1", "http://127.0.0.1:8000"},
		{map[string]string{"s3": "http://127.0.0.1:9000"}, "s3", "photos", "us-east-1", "http://127.0.0.1:9000"},
		{map[string]string{"s3": "https://s3.internal:9000/base"}, "s3", "photos", "us-east-1", "https://photos.s3.internal:9000/base"},
	} {
		u, err := ServiceEndpoint(tc.endpoints, tc.service, tc.subdomain, tc.region)
		if err != nil {
			t.Fatal(err)
		}
		if u.String() != tc.want {
			t.Errorf("%s %s %s: got %s, want %s", tc.service, tc.subdomain, tc.region, u, tc.want)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "http://h/?q=1", "http://u:p@h", "://"} {
		if _, err := CheckEndpointURL(bad); err == nil {
			t.Errorf("CheckEndpointURL(%q) accepted it", bad)
		}
	}
}

// serviceCall is what the fake AWS service saw of one request.
type serviceCall struct {
	method, path, query, target, contentType, token, forwardedFor string
	body                                                          string
	verifyErr                                                     error
	result                                                        *sigv4.Result
}

// fakeService is an AWS service that verifies each request's SigV4
// signature with apigw's own verifier, against the keys it knows, and
// answers with status and body.
func fakeService(t *testing.T, keys map[string]aws.Credentials, status int, answer string) (*httptest.Server, func() serviceCall) {
	t.Helper()
	v := &sigv4.Verifier{Lookup: func(ctx context.Context, id string) (sigv4.Credential, error) {
		c, ok := keys[id]
		if !ok {
			return sigv4.Credential{}, sigv4.ErrUnknownKey
		}
		return sigv4.Credential{AccessKeyID: id, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
	}}
	var mu sync.Mutex
	var last serviceCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := v.Verify(r.Context(), r, body)
		mu.Lock()
		last = serviceCall{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, target: r.Header.Get("X-Amz-Target"),
			contentType: r.Header.Get("Content-Type"), token: r.Header.Get("X-Amz-Security-Token"),
			forwardedFor: r.Header.Get("X-Forwarded-For"), body: string(body), verifyErr: err, result: res}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() serviceCall { mu.Lock(); defer mu.Unlock(); return last }
}

var roleKeys = aws.Credentials{AccessKeyID: "ASIAROLESESSION00001", SecretAccessKey: "role-secret", SessionToken: "role-token",
	CanExpire: true, Expires: time.Now().Add(time.Hour)}

// assumer is a RoleCredentials whose STS knows one role and counts calls.
func assumer(role string, calls *int) *RoleCredentials {
	return &RoleCredentials{Assume: func(ctx context.Context, arn string) (aws.Credentials, error) {
		*calls++
		if arn != role {
			return aws.Credentials{}, errors.New("AccessDenied: not authorized to perform sts:AssumeRole")
		}
		return roleKeys, nil
	}}
}

const testRole = "arn:aws:iam::123456789012:role/apigw-dynamodb"

func TestAWSServiceIntegration(t *testing.T) {
	srv, last := fakeService(t, map[string]aws.Credentials{roleKeys.AccessKeyID: roleKeys}, 200, `{"Count":1,"Items":[{"title":{"S":"Parasite"}}]}`)
	calls := 0
	opts := Options{AWSEndpoints: map[string]string{"dynamodb": srv.URL, "sns": srv.URL + "/sns"}, Roles: assumer(testRole, &calls), Region: "us-east-1"}
	compile := func(t *testing.T, in *model.Integration) *Integration {
		t.Helper()
		in.TimeoutInMillis = 29000
		ig, err := Compile(in, opts)
		if err != nil {
			t.Fatal(err)
		}
		return ig
	}

	t.Run("a JSON service's action: X-Amz-Target, its content type, signed as the role", func(t *testing.T) {
		ig := compile(t, &model.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:dynamodb:action/Query",
			Credentials:      testRole,
			RequestTemplates: map[string]string{"application/json": `{"TableName": "Movies", "Key": "$input.params('year')", "Account": "$context.accountId"}`},
			IntegrationResponses: map[string]*model.IntegrationResponse{
				"200": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `#set($r = $input.path('$'))[#foreach($i in $r.Items)"$i.title.S"#if($foreach.hasNext),#end#end]`}},
			}})
		c := newCall(t, "GET", "/movies", "prod", "/movies?year=2019", "")
		c.AccountID = "123456789012"
		c.Header.Set("Content-Type", "application/json")
		rec := serve(t, ig, c)
		if rec.Code != 200 || rec.Body.String() != `["Parasite"]` {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
		got := last()
		if got.verifyErr != nil {
			t.Fatalf("the service refused the signature: %v", got.verifyErr)
		}
		if got.result.Service != "dynamodb" || got.result.Region != "us-east-1" || got.result.AccessKeyID != roleKeys.AccessKeyID {
			t.Errorf("signed for %s/%s as %s", got.result.Service, got.result.Region, got.result.AccessKeyID)
		}
		if got.method != "POST" || got.path != "/" || got.query != "Action=Query" || got.target != "DynamoDB_20120810.Query" ||
			got.contentType != "application/x-amz-json-1.0" || got.token != "role-token" || got.forwardedFor != "" {
			t.Errorf("the service saw %+v", got)
		}
		if got.body != `{"TableName": "Movies", "Key": "2019", "Account": "123456789012"}` {
			t.Errorf("body %q", got.body)
		}
		// The session is kept: a second call assumes nothing.
		serve(t, ig, newCall(t, "GET", "/movies", "prod", "/movies?year=2019", ""))
		if calls != 1 {
			t.Errorf("the role was assumed %d times, want 1", calls)
		}
	})

	t.Run("a Query service's action goes as the Action parameter, beside the mapped ones", func(t *testing.T) {
		ig := compile(t, &model.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:sns:action/Publish",
			Credentials:       testRole,
			RequestParameters: map[string]string{"integration.request.querystring.Message": "method.request.querystring.m"},
			IntegrationResponses: map[string]*model.IntegrationResponse{
				"200": {StatusCode: "200"},
			}})
		rec := serve(t, ig, newCall(t, "GET", "/publish", "prod", "/publish?m=hello", ""))
		got := last()
		if rec.Code != 200 || got.verifyErr != nil {
			t.Fatalf("got %d, signature %v", rec.Code, got.verifyErr)
		}
		if got.path != "/sns/" || got.query != "Action=Publish&Message=hello" || got.target != "" || got.result.Service != "sns" {
			t.Errorf("the service saw %+v", got)
		}
	})

	t.Run("a GET call sends no body; a JSON service not in AWS's list gets no X-Amz-Target", func(t *testing.T) {
		o := opts
		o.AWSEndpoints = map[string]string{"events": srv.URL}
		ig, err := Compile(&model.Integration{Type: "AWS", HTTPMethod: "GET", URI: "arn:aws:apigateway:us-east-1:events:action/ListRules",
			Credentials: testRole, TimeoutInMillis: 29000,
			IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}}, o)
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(t, ig, newCall(t, "POST", "/rules", "prod", "/rules", `{"ignored": true}`))
		got := last()
		if rec.Code != 200 || got.verifyErr != nil || got.method != "GET" || got.body != "" || got.target != "" ||
			got.query != "Action=ListRules" || got.result.Service != "events" {
			t.Errorf("got %d; the service saw %+v", rec.Code, got)
		}
	})

	t.Run("path style with a mapped path parameter; the service's error status selects a response", func(t *testing.T) {
		errSrv, lastErr := fakeService(t, map[string]aws.Credentials{roleKeys.AccessKeyID: roleKeys}, 400,
			`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`)
		o := opts
		o.AWSEndpoints = map[string]string{"dynamodb": errSrv.URL}
		in := &model.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:dynamodb:path/tables/{name}",
			Credentials: testRole, TimeoutInMillis: 29000,
			RequestParameters: map[string]string{"integration.request.path.name": "method.request.path.table"},
			IntegrationResponses: map[string]*model.IntegrationResponse{
				"200": {StatusCode: "200"},
				"400": {StatusCode: "400", SelectionPattern: `4\d{2}`, ResponseTemplates: map[string]string{"application/json": `{"error": "$input.path('$.message')"}`}},
			}}
		ig, err := Compile(in, o)
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(t, ig, newCall(t, "POST", "/t/{table}", "prod", "/t/Movies%20Old", `{}`))
		if rec.Code != 400 || rec.Body.String() != `{"error": "Requested resource not found"}` {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
		if got := lastErr(); got.path != "/tables/Movies Old" || got.verifyErr != nil || got.body != `{}` {
			t.Errorf("the service saw %+v", got)
		}
	})

	t.Run("a stage variable names the role", func(t *testing.T) {
		ig := compile(t, &model.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:dynamodb:action/Scan",
			Credentials: "arn:aws:iam::123456789012:role/${stageVariables.role}", IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}})
		for role, status := range map[string]int{"apigw-dynamodb": 200, "other": 500} {
			c := newCall(t, "POST", "/scan", "prod", "/scan", `{}`)
			c.StageVars = map[string]string{"role": role}
			if rec := serve(t, ig, c); rec.Code != status {
				t.Errorf("role %s: got %d %s", role, rec.Code, rec.Body)
			}
		}
	})

	t.Run("a role apigw cannot assume, and no credentials, are the API's 500", func(t *testing.T) {
		for _, creds := range []string{"arn:aws:iam::123456789012:role/not-trusted", ""} {
			ig := compile(t, &model.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:dynamodb:action/Query",
				Credentials: creds, IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}})
			var x Exchange
			c := newCall(t, "POST", "/q", "prod", "/q", `{}`)
			out := Response{Header: http.Header{}}
			err := ig.Invoke(context.Background(), c, &x, &out)
			x.Close()
			if faultStatus(err) != 500 || !strings.Contains(err.Error(), "configuration error") {
				t.Errorf("credentials %q: got %v", creds, err)
			}
		}
	})

	t.Run("the caller's own credentials", func(t *testing.T) {
		caller := aws.Credentials{AccessKeyID: "AKIACALLER0000000001", SecretAccessKey: "caller-secret"}
		callerSrv, lastCaller := fakeService(t, map[string]aws.Credentials{caller.AccessKeyID: caller}, 200, `{}`)
		o := opts
		o.AWSEndpoints = map[string]string{"dynamodb": callerSrv.URL}
		o.CallerCredentials = func(ctx context.Context, id string) (aws.Credentials, error) {
			if id != caller.AccessKeyID {
				return aws.Credentials{}, errors.New("unknown key")
			}
			return caller, nil
		}
		ig, err := Compile(&model.Integration{Type: "AWS", HTTPMethod: "POST", URI: "arn:aws:apigateway:us-east-1:dynamodb:action/Scan",
			Credentials: CallerCredentials, TimeoutInMillis: 29000,
			IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}}, o)
		if err != nil {
			t.Fatal(err)
		}
		c := newCall(t, "POST", "/scan", "prod", "/scan", `{"TableName":"Movies"}`)
		c.Caller = &Caller{AccessKey: caller.AccessKeyID}
		if rec := serve(t, ig, c); rec.Code != 200 {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
		if got := lastCaller(); got.verifyErr != nil || got.result.AccessKeyID != caller.AccessKeyID || got.token != "" || got.body != `{"TableName":"Movies"}` {
			t.Errorf("the service saw %+v", got)
		}
		// Not an AWS_IAM caller: nothing to sign with.
		if rec := serve(t, ig, newCall(t, "POST", "/scan", "prod", "/scan", `{}`)); rec.Code != 500 {
			t.Errorf("an anonymous caller got %d", rec.Code)
		}
	})
}

// A kept session is used until five minutes before it expires, then
// replaced; a failure is not kept.
func TestRoleCredentialsRefresh(t *testing.T) {
	calls := 0
	expires := time.Now().Add(4 * time.Minute)
	fail := false
	r := &RoleCredentials{Assume: func(ctx context.Context, arn string) (aws.Credentials, error) {
		calls++
		if fail {
			return aws.Credentials{}, errors.New("AccessDenied")
		}
		return aws.Credentials{AccessKeyID: fmt.Sprint("ASIA", calls), CanExpire: true, Expires: expires}, nil
	}}
	ctx := context.Background()
	for i, want := range []struct {
		key   string
		calls int
	}{{"ASIA1", 1}, {"ASIA2", 2}} { // 4 minutes left: too close, assumed again
		c, err := r.Get(ctx, testRole)
		if err != nil || c.AccessKeyID != want.key || calls != want.calls {
			t.Fatalf("call %d: %v %v, %d assumptions", i, c.AccessKeyID, err, calls)
		}
	}
	expires = time.Now().Add(time.Hour)
	if c, _ := r.Get(ctx, testRole); c.AccessKeyID != "ASIA3" {
		t.Fatalf("got %s", c.AccessKeyID)
	}
	if c, _ := r.Get(ctx, testRole); c.AccessKeyID != "ASIA3" || calls != 3 {
		t.Fatalf("an hour-long session was not kept: %s after %d assumptions", c.AccessKeyID, calls)
	}
	fail = true
	if _, err := r.Get(ctx, "arn:aws:iam::123456789012:role/other"); err == nil {
		t.Fatal("a refused role gave credentials")
	}
	if _, err := r.Get(ctx, "arn:aws:iam::123456789012:role/other"); err == nil || calls != 5 {
		t.Fatalf("a refusal was kept (%d assumptions)", calls)
	}
}

// Requests that find no session at once wait for one assumption.
func TestRoleCredentialsConcurrent(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	r := &RoleCredentials{Assume: func(ctx context.Context, arn string) (aws.Credentials, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(10 * time.Millisecond) // a store write
		return roleKeys, nil
	}}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := r.Get(context.Background(), testRole); err != nil || c.AccessKeyID != roleKeys.AccessKeyID {
				t.Errorf("got %v %v", c, err)
			}
		}()
	}
	wg.Wait()
	if calls != 1 {
		t.Errorf("16 concurrent requests assumed the role %d times", calls)
	}
}

// Lambda's non-proxy integration: the request template is the event, a
// function error selects the response whose pattern matches its
// errorMessage.
func TestLambdaNonProxy(t *testing.T) {
	inv := &fakeInvoker{}
	ig, err := Compile(&model.Integration{Type: "AWS", HTTPMethod: "POST", URI: lambdaURI(testFnARN), TimeoutInMillis: 29000,
		RequestTemplates: map[string]string{"application/json": `{"name": "$input.params('name')"}`},
		IntegrationResponses: map[string]*model.IntegrationResponse{
			"200": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"greeting": "$!input.path('$.message')"}`}},
			"400": {StatusCode: "400", SelectionPattern: `.*\[BadRequest\].*`,
				ResponseTemplates: map[string]string{"application/json": `{"error": "$input.path('$.errorMessage')"}`}},
		}}, Options{Lambda: inv, Region: testRegion, AccountID: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		result *lambda.InvokeResult
		status int
		body   string
	}{
		{"success: the default response", &lambda.InvokeResult{StatusCode: 200, Payload: []byte(`{"message":"hello ana"}`)}, 200, `{"greeting": "hello ana"}`},
		{"an error that matches the pattern", &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled",
			Payload: []byte(`{"errorMessage":"[BadRequest] name is required","errorType":"Error"}`)}, 400, `{"error": "[BadRequest] name is required"}`},
		{"an error no pattern matches: the default response", &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled",
			Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`)}, 200, `{"greeting": ""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv.result = tc.result
			rec := serve(t, ig, newCall(t, "GET", "/hello", "prod", "/hello?name=ana", ""))
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.status, tc.body)
			}
			req := inv.last(t)
			if string(req.Payload) != `{"name": "ana"}` || req.FunctionName != testFnARN || req.Principal != "apigateway.amazonaws.com" {
				t.Errorf("invoked %s with %q as %q", req.FunctionName, req.Payload, req.Principal)
			}
		})
	}
}

// What a request template sets in $context.requestOverride is visible to
// the response template; $context.accountId is the API owner's account.
func TestRequestOverrideInResponseTemplate(t *testing.T) {
	ig := compileOrFail(t, &model.Integration{Type: "MOCK",
		RequestTemplates: map[string]string{"application/json": `#set($context.requestOverride.header.X-Tenant = "t-42")
#set($context.requestOverride.querystring.page = "3")
{"statusCode": 200}`},
		IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200",
			ResponseTemplates: map[string]string{"application/json": `$context.requestOverride.header.X-Tenant/$context.requestOverride.querystring.page/$context.accountId`}}},
	})
	c := newCall(t, "GET", "/m", "prod", "/m", "")
	c.AccountID = "123456789012"
	rec := serve(t, ig, c)
	if rec.Code != 200 || rec.Body.String() != "t-42/3/123456789012" {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
}

// FuzzAWSURI: any URI the management API stores compiles or is refused,
// never panics, and a parsed one renders a URL on the service's endpoint.
func FuzzAWSURI(f *testing.F) {
	for _, s := range []string{"arn:aws:apigateway:us-east-1:dynamodb:action/PutItem", "arn:aws:apigateway:eu-west-1:b.s3:path/{key}",
		"arn:aws:apigateway:us-east-1:sqs:path/${stageVariables.q}", "arn:aws:apigateway:us-east-1:s3:path/%zz", "arn:aws:apigateway:a:b:path/{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		au, err := ParseAWSURI(uri)
		if err != nil {
			return
		}
		if au.Service == "" || au.Region == "" || (au.Action != "") == strings.Contains(uri, ":path/") {
			t.Fatalf("ParseAWSURI(%q) = %+v", uri, au)
		}
		ig, err := Compile(&model.Integration{Type: "AWS", HTTPMethod: "POST", URI: uri, TimeoutInMillis: 29000, Credentials: testRole}, Options{})
		if err != nil {
			return
		}
		var x Exchange
		defer x.Close()
		if err := ig.Request(newCall(t, "POST", "/x", "prod", "/x", "{}"), &x); err == nil && !strings.HasSuffix(x.url.Host, ".amazonaws.com") {
			t.Fatalf("%q: the request goes to %s", uri, x.url)
		}
	})
}
