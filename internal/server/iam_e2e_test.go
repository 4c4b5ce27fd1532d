package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// End-to-end tests of IAM authorization: the IAM and STS APIs driven with the
// AWS SDK's own clients, and the data plane's AWS_IAM methods and resource
// policies invoked with requests signed by the SDK's SigV4 signer and
// presigner.

const (
	iaRegion   = apigwtest.Region
	iaStage    = "test"
	iaService  = "execute-api"
	iaEmptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// iaHTTP calls apigw directly, whatever proxy the environment names.
var iaHTTP = &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}

// iaSigner is a new signer for each signature: the SDK's signer caches the
// derived signing key by access key id alone, so a signer reused with a
// wrong secret would sign with the right one.
func iaSigner() *v4.Signer { return v4.NewSigner() }

// ---- clients ----------------------------------------------------------------

func iaCredsProvider(c aws.Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

var iaRoot = aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: apigwtest.SecretAccessKey}

func iaIAM(in *apigwtest.Instance, c aws.Credentials) *iam.Client {
	return iam.New(iam.Options{Region: iaRegion, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(c), RetryMaxAttempts: 1})
}

func iaSTS(in *apigwtest.Instance, c aws.Credentials) *sts.Client {
	return sts.New(sts.Options{Region: iaRegion, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(c), RetryMaxAttempts: 1})
}

func iaAPIGW(in *apigwtest.Instance, c aws.Credentials) *apigateway.Client {
	return apigateway.New(apigateway.Options{Region: iaRegion, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(c), RetryMaxAttempts: 1})
}

// iaMust fails the test on err: iaMust(c.Op(ctx, in))(t) is the output.
func iaMust[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// iaAccount is the account id, from GetCallerIdentity with the root's keys.
func iaAccount(t *testing.T, in *apigwtest.Instance) string {
	t.Helper()
	out := iaMust(iaSTS(in, iaRoot).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}))(t)
	acct := aws.ToString(out.Account)
	if len(acct) != 12 {
		t.Fatalf("GetCallerIdentity account = %q, want 12 digits", acct)
	}
	if want := "arn:aws:iam::" + acct + ":root"; aws.ToString(out.Arn) != want {
		t.Errorf("root caller ARN = %q, want %q", aws.ToString(out.Arn), want)
	}
	return acct
}

// iaNewUser creates a user with an access key and, unless policy is empty,
// an inline policy.
func iaNewUser(t *testing.T, c *iam.Client, name, policy string) aws.Credentials {
	t.Helper()
	ctx := t.Context()
	iaMust(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))(t)
	if policy != "" {
		iaMust(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(policy)}))(t)
	}
	k := iaMust(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)}))(t).AccessKey
	if id := aws.ToString(k.AccessKeyId); !strings.HasPrefix(id, "AKIA") || len(id) != 20 {
		t.Errorf("access key id = %q, want AKIA + 16 characters", id)
	}
	return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKeyId), SecretAccessKey: aws.ToString(k.SecretAccessKey)}
}

// iaAllow is a one-statement Allow policy document.
func iaAllow(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

// ---- APIs -------------------------------------------------------------------

// iaMethod is one method of a test API.
type iaMethod struct {
	path, method, auth string
}

// iaBackend records what it receives and answers "{METHOD} {RequestURI}".
type iaBackend struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []iaReceived
}

type iaReceived struct {
	Method, RequestURI, Body string
	Header                   http.Header
}

func iaNewBackend(t *testing.T) *iaBackend {
	t.Helper()
	b := &iaBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, iaReceived{r.Method, r.RequestURI, string(body), r.Header.Clone()})
		b.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Method+" "+r.RequestURI)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *iaBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

func (b *iaBackend) last(t *testing.T) iaReceived {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatal("the backend received nothing")
	}
	return b.reqs[len(b.reqs)-1]
}

// iaNewAPI creates an API (create may set its endpoint type and policy) with
// the methods, each an HTTP_PROXY to backend (a {proxy+} resource maps the
// path), or a MOCK answering 200 "mock" when backend is nil; deploys it to
// the stage iaStage and waits until it is served. It returns the API's id.
func iaNewAPI(t *testing.T, in *apigwtest.Instance, create *apigateway.CreateRestApiInput, backend *iaBackend, methods ...iaMethod) string {
	t.Helper()
	ctx, c := t.Context(), in.Client
	api := iaMust(c.CreateRestApi(ctx, create))(t)
	apiID := aws.ToString(api.Id)
	res := map[string]string{}
	for _, r := range iaMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id}))(t).Items {
		res[aws.ToString(r.Path)] = aws.ToString(r.Id)
	}
	for _, m := range methods {
		if _, ok := res[m.path]; !ok {
			out := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{
				RestApiId: api.Id, ParentId: aws.String(res["/"]), PathPart: aws.String(strings.TrimPrefix(m.path, "/")),
			}))(t)
			res[m.path] = aws.ToString(out.Id)
		}
		resID := aws.String(res[m.path])
		proxy := strings.Contains(m.path, "{proxy+}")
		var params map[string]bool
		if proxy {
			params = map[string]bool{"method.request.path.proxy": true}
		}
		iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{
			RestApiId: api.Id, ResourceId: resID, HttpMethod: aws.String(m.method),
			AuthorizationType: aws.String(m.auth), RequestParameters: params,
		}))(t)
		if backend == nil {
			iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{
				RestApiId: api.Id, ResourceId: resID, HttpMethod: aws.String(m.method), Type: agtypes.IntegrationTypeMock,
				RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			}))(t)
			iaMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
				RestApiId: api.Id, ResourceId: resID, HttpMethod: aws.String(m.method), StatusCode: aws.String("200"),
			}))(t)
			iaMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
				RestApiId: api.Id, ResourceId: resID, HttpMethod: aws.String(m.method), StatusCode: aws.String("200"),
				ResponseTemplates: map[string]string{"application/json": "mock"},
			}))(t)
			continue
		}
		uri := backend.URL + m.path
		var mapping map[string]string
		if proxy {
			uri = backend.URL + "/{proxy}"
			mapping = map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}
		}
		iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{
			RestApiId: api.Id, ResourceId: resID, HttpMethod: aws.String(m.method), Type: agtypes.IntegrationTypeHttpProxy,
			IntegrationHttpMethod: aws.String("ANY"), Uri: aws.String(uri), RequestParameters: mapping,
		}))(t)
	}
	iaDeploy(t, in, apiID)
	return apiID
}

func iaDeploy(t *testing.T, in *apigwtest.Instance, apiID string) {
	t.Helper()
	d := iaMust(in.Client.CreateDeployment(t.Context(), &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String(iaStage)}))(t)
	in.WaitServing(t, apiID, iaStage, aws.ToString(d.Id))
}

// iaHost is the host name of an API on AWS, for host-based requests.
func iaHost(apiID string) string { return apiID + ".execute-api." + iaRegion + ".amazonaws.com" }

// ---- requests ---------------------------------------------------------------

type iaAnswer struct {
	status int
	header http.Header
	body   string
}

// iaReq builds a request; host, when set, replaces the Host header.
func iaReq(t *testing.T, method, rawURL, host, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, r)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	return req
}

func iaPayloadHash(body string) string {
	h := sha256.Sum256([]byte(body))
	return hex.EncodeToString(h[:])
}

// iaSign signs req (whose body is body) for execute-api at time at.
func iaSign(t *testing.T, req *http.Request, body string, c aws.Credentials, at time.Time) *http.Request {
	t.Helper()
	if err := iaSigner().SignHTTP(t.Context(), c, req, iaPayloadHash(body), iaService, iaRegion, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	return req
}

// iaPresign returns a presigned URL of a GET, valid expires seconds from at.
func iaPresign(t *testing.T, rawURL, host string, c aws.Credentials, at time.Time, expires int) string {
	t.Helper()
	req := iaReq(t, http.MethodGet, rawURL, host, "")
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	u, hdr, err := iaSigner().PresignHTTP(t.Context(), c, req, iaEmptySHA, iaService, iaRegion, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	for k := range hdr {
		if !strings.EqualFold(k, "host") {
			t.Fatalf("presigned URL needs header %s", k)
		}
	}
	return u
}

func iaDo(t *testing.T, req *http.Request) iaAnswer {
	t.Helper()
	resp, err := iaHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return iaAnswer{resp.StatusCode, resp.Header, string(b)}
}

// iaGetURL sends a GET of rawURL with the Host header host (if set).
func iaGetURL(t *testing.T, rawURL, host string) iaAnswer {
	t.Helper()
	return iaDo(t, iaReq(t, http.MethodGet, rawURL, host, ""))
}

func iaWantOK(t *testing.T, got iaAnswer, body string) {
	t.Helper()
	if got.status != http.StatusOK || got.body != body {
		t.Errorf("got %d %q, want 200 %q", got.status, got.body, body)
	}
}

// iaWantPresignedOK checks the backend's answer to a presigned request:
// "{METHOD} {path}?{query}", the query holding the X-Amz-* parameters (passed
// through, as API Gateway does) and, when set, the query part want.
func iaWantPresignedOK(t *testing.T, got iaAnswer, methodPath, want string) {
	t.Helper()
	if got.status != http.StatusOK || !strings.HasPrefix(got.body, methodPath+"?") || !strings.Contains(got.body, want) {
		t.Errorf("got %d %q, want 200 %q with %q", got.status, got.body, methodPath+"?...", want)
	}
}

// iaWantError checks a gateway error answer: status, x-amzn-ErrorType (if
// errorType is set) and the body {"{key}": message}; a message ending in
// "..." is a prefix.
func iaWantError(t *testing.T, got iaAnswer, status int, errorType, key, message string) {
	t.Helper()
	if got.status != status {
		t.Errorf("status = %d, want %d (body %s)", got.status, status, got.body)
	}
	if prefix, ok := strings.CutSuffix(message, "..."); ok {
		if want := `{"` + key + `":"` + prefix; !strings.HasPrefix(got.body, want) {
			t.Errorf("body = %s, want prefix %s", got.body, want)
		}
	} else if want := `{"` + key + `":` + strconv.Quote(message) + `}`; got.body != want {
		t.Errorf("body = %s, want %s", got.body, want)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if errorType != "" {
		if et := got.header.Get("x-amzn-ErrorType"); et != errorType {
			t.Errorf("x-amzn-ErrorType = %q, want %q", et, errorType)
		}
	}
	if got.header.Get("x-amzn-RequestId") == "" || got.header.Get("x-amz-apigw-id") == "" {
		t.Errorf("error answer lacks x-amzn-RequestId or x-amz-apigw-id: %v", got.header)
	}
}

// iaDenied is the body message of an ACCESS_DENIED.
func iaDenied(who, resource string, explicit bool) string {
	msg := "User: " + who + " is not authorized to perform: execute-api:Invoke on resource: " + resource
	if explicit {
		msg += " with an explicit deny"
	}
	return msg
}

const (
	iaMsgMismatch = "The request signature we calculated does not match the signature you provided...."
	iaMsgBadToken = "The security token included in the request is invalid."
)

// ---- 1. IAM and STS with the SDK's clients -----------------------------------

func TestIAMAndSTSWithSDK(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := t.Context()
	acct := iaAccount(t, in)
	root := iaIAM(in, iaRoot)

	// alice: an inline policy letting her read herself (with a policy
	// variable), and a managed policy letting her list users.
	alice := iaNewUser(t, root, "alice", iaAllow("iam:GetUser", "arn:aws:iam::"+acct+":user/${aws:username}"))
	aliceARN := "arn:aws:iam::" + acct + ":user/alice"
	mp := iaMust(root.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String("list-users"), PolicyDocument: aws.String(iaAllow("iam:ListUsers", "*")), Description: aws.String("lists users"),
	}))(t).Policy
	if want := "arn:aws:iam::" + acct + ":policy/list-users"; aws.ToString(mp.Arn) != want {
		t.Errorf("policy ARN = %q, want %q", aws.ToString(mp.Arn), want)
	}
	iaMust(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: mp.Arn}))(t)

	t.Run("read back", func(t *testing.T) {
		u := iaMust(root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}))(t).User
		if aws.ToString(u.Arn) != aliceARN || !strings.HasPrefix(aws.ToString(u.UserId), "AIDA") || aws.ToString(u.Path) != "/" {
			t.Errorf("GetUser = arn %q id %q path %q", aws.ToString(u.Arn), aws.ToString(u.UserId), aws.ToString(u.Path))
		}
		users := iaMust(root.ListUsers(ctx, &iam.ListUsersInput{}))(t).Users
		if len(users) != 1 || aws.ToString(users[0].UserName) != "alice" {
			t.Errorf("ListUsers = %d users, want alice only", len(users))
		}
		keys := iaMust(root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")}))(t).AccessKeyMetadata
		if len(keys) != 1 || aws.ToString(keys[0].AccessKeyId) != alice.AccessKeyID || keys[0].Status != iamtypes.StatusTypeActive {
			t.Errorf("ListAccessKeys = %+v", keys)
		}
		names := iaMust(root.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice")}))(t).PolicyNames
		if len(names) != 1 || names[0] != "inline" {
			t.Errorf("ListUserPolicies = %v", names)
		}
		doc := iaMust(root.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline")}))(t).PolicyDocument
		// IAM returns documents URL-encoded.
		if dec, err := url.QueryUnescape(aws.ToString(doc)); err != nil || !strings.Contains(dec, `"iam:GetUser"`) || !strings.Contains(dec, "${aws:username}") {
			t.Errorf("GetUserPolicy document = %q (decoded %q, %v)", aws.ToString(doc), dec, err)
		}
		att := iaMust(root.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("alice")}))(t).AttachedPolicies
		if len(att) != 1 || aws.ToString(att[0].PolicyArn) != aws.ToString(mp.Arn) {
			t.Errorf("ListAttachedUserPolicies = %+v", att)
		}
		p := iaMust(root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: mp.Arn}))(t).Policy
		if aws.ToInt32(p.AttachmentCount) != 1 || aws.ToString(p.DefaultVersionId) != "v1" {
			t.Errorf("GetPolicy attachments %d default %q, want 1 v1", aws.ToInt32(p.AttachmentCount), aws.ToString(p.DefaultVersionId))
		}
		v := iaMust(root.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: mp.Arn, VersionId: aws.String("v1")}))(t).PolicyVersion
		if dec, _ := url.QueryUnescape(aws.ToString(v.Document)); !strings.Contains(dec, `"iam:ListUsers"`) || !v.IsDefaultVersion {
			t.Errorf("GetPolicyVersion = %q default %v", dec, v.IsDefaultVersion)
		}
	})

	t.Run("user policies", func(t *testing.T) {
		ac := iaIAM(in, alice)
		id := iaMust(iaSTS(in, alice).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
		if aws.ToString(id.Arn) != aliceARN || aws.ToString(id.Account) != acct || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") {
			t.Errorf("GetCallerIdentity(alice) = %q %q %q", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account))
		}
		// The inline policy, through ${aws:username}.
		if u := iaMust(ac.GetUser(ctx, &iam.GetUserInput{}))(t).User; aws.ToString(u.UserName) != "alice" {
			t.Errorf("GetUser(self) = %q", aws.ToString(u.UserName))
		}
		// The managed policy.
		iaMust(ac.ListUsers(ctx, &iam.ListUsersInput{}))(t)
		// Nothing allows the rest.
		_, err := ac.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")})
		apigwtest.WantAPIError(t, err, 403, "AccessDenied", "User: "+aliceARN+" is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+acct+":user/mallory because no identity-based policy allows the iam:CreateUser action")
		_, err = ac.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("root-only")})
		apigwtest.WantAPIError(t, err, 403, "AccessDenied", "User: "+aliceARN+" is not authorized to perform: iam:GetUser on resource: arn:aws:iam::"+acct+":user/root-only...")
		// Detached, the managed policy no longer applies.
		iaMust(root.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: mp.Arn}))(t)
		_, err = ac.ListUsers(ctx, &iam.ListUsersInput{})
		apigwtest.WantAPIError(t, err, 403, "AccessDenied", "User: "+aliceARN+" is not authorized to perform: iam:ListUsers...")
		iaMust(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: mp.Arn}))(t)
		iaMust(ac.ListUsers(ctx, &iam.ListUsersInput{}))(t)
	})

	t.Run("roles and sessions", func(t *testing.T) {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"sts:AssumeRole"}]}`
		role := iaMust(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trust)}))(t).Role
		roleARN := "arn:aws:iam::" + acct + ":role/reader"
		if aws.ToString(role.Arn) != roleARN || !strings.HasPrefix(aws.ToString(role.RoleId), "AROA") {
			t.Errorf("CreateRole = %q %q", aws.ToString(role.Arn), aws.ToString(role.RoleId))
		}
		iaMust(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("list"), PolicyDocument: aws.String(iaAllow("iam:ListRoles", "*"))}))(t)

		out := iaMust(iaSTS(in, alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess-1")}))(t)
		cr := out.Credentials
		if id := aws.ToString(cr.AccessKeyId); !strings.HasPrefix(id, "ASIA") || len(id) != 20 || aws.ToString(cr.SessionToken) == "" {
			t.Errorf("AssumeRole credentials = key %q token %q", id, aws.ToString(cr.SessionToken))
		}
		if exp := aws.ToTime(cr.Expiration); exp.Before(time.Now().Add(50*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
			t.Errorf("AssumeRole expiration = %v, want in an hour", exp)
		}
		sessARN := "arn:aws:sts::" + acct + ":assumed-role/reader/sess-1"
		if aws.ToString(out.AssumedRoleUser.Arn) != sessARN || aws.ToString(out.AssumedRoleUser.AssumedRoleId) != aws.ToString(role.RoleId)+":sess-1" {
			t.Errorf("AssumedRoleUser = %q %q", aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(out.AssumedRoleUser.AssumedRoleId))
		}
		sess := aws.Credentials{AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey), SessionToken: aws.ToString(cr.SessionToken)}
		id := iaMust(iaSTS(in, sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
		if aws.ToString(id.Arn) != sessARN || aws.ToString(id.UserId) != aws.ToString(role.RoleId)+":sess-1" || aws.ToString(id.Account) != acct {
			t.Errorf("GetCallerIdentity(session) = %q %q %q", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account))
		}
		// The role's policies apply to the session, not alice's.
		sc := iaIAM(in, sess)
		iaMust(sc.ListRoles(ctx, &iam.ListRolesInput{}))(t)
		_, err := sc.ListUsers(ctx, &iam.ListUsersInput{})
		apigwtest.WantAPIError(t, err, 403, "AccessDenied", "User: "+sessARN+" is not authorized to perform: iam:ListUsers...")
		// Without its token, the session key is not recognized.
		noToken := sess
		noToken.SessionToken = ""
		_, err = iaSTS(in, noToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		apigwtest.WantAPIError(t, err, 403, "InvalidClientTokenId", iaMsgBadToken)

		// Someone the trust policy does not name, and the root, may not.
		bob := iaNewUser(t, root, "bob", iaAllow("sts:AssumeRole", "*"))
		_, err = iaSTS(in, bob).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("x1")})
		apigwtest.WantAPIError(t, err, 403, "AccessDenied", "User: arn:aws:iam::"+acct+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+roleARN)
		_, err = iaSTS(in, iaRoot).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("x1")})
		apigwtest.WantAPIError(t, err, 403, "AccessDenied", "Roles may not be assumed by root accounts.")
	})

	t.Run("apigateway GET only", func(t *testing.T) {
		iaMust(in.Client.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("existing")}))(t)
		readerKey := iaNewUser(t, root, "apireader", iaAllow("apigateway:GET", "arn:aws:apigateway:"+iaRegion+"::/restapis*"))
		c := iaAPIGW(in, readerKey)
		apis := iaMust(c.GetRestApis(ctx, &apigateway.GetRestApisInput{}))(t)
		if len(apis.Items) != 1 || aws.ToString(apis.Items[0].Name) != "existing" {
			t.Errorf("GetRestApis = %d items", len(apis.Items))
		}
		_, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("refused")})
		apigwtest.WantAPIError(t, err, 403, "AccessDeniedException",
			"User: arn:aws:iam::"+acct+":user/apireader is not authorized to perform: apigateway:POST on resource: arn:aws:apigateway:"+iaRegion+"::/restapis...")
		// Outside /restapis*, GET is not allowed either.
		_, err = c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{})
		apigwtest.WantAPIError(t, err, 403, "AccessDeniedException", "User: arn:aws:iam::"+acct+":user/apireader is not authorized to perform: apigateway:GET on resource: arn:aws:apigateway:"+iaRegion+"::/apikeys...")
		if n := len(iaMust(in.Client.GetRestApis(ctx, &apigateway.GetRestApisInput{}))(t).Items); n != 1 {
			t.Errorf("a refused CreateRestApi created something: %d apis", n)
		}
	})

	t.Run("deactivated key", func(t *testing.T) {
		carol := iaNewUser(t, root, "carol", "")
		cs := iaSTS(in, carol)
		iaMust(cs.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
		iaMust(root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(carol.AccessKeyID), Status: iamtypes.StatusTypeInactive}))(t)
		_, err := cs.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		apigwtest.WantAPIError(t, err, 403, "InvalidClientTokenId", iaMsgBadToken)
		iaMust(root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(carol.AccessKeyID), Status: iamtypes.StatusTypeActive}))(t)
		iaMust(cs.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
		iaMust(root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(carol.AccessKeyID)}))(t)
		_, err = cs.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		apigwtest.WantAPIError(t, err, 403, "InvalidClientTokenId", iaMsgBadToken)
	})

	t.Run("lifecycle", func(t *testing.T) {
		// Pagination through the SDK's paginator.
		for i := range 5 {
			iaMust(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("page-%d", i)), Path: aws.String("/paged/")}))(t)
		}
		var names []string
		pages := 0
		for pg := iam.NewListUsersPaginator(root, &iam.ListUsersInput{PathPrefix: aws.String("/paged/"), MaxItems: aws.Int32(2)}); pg.HasMorePages(); pages++ {
			for _, u := range iaMust(pg.NextPage(ctx))(t).Users {
				names = append(names, aws.ToString(u.UserName))
				if want := "arn:aws:iam::" + acct + ":user/paged/" + aws.ToString(u.UserName); aws.ToString(u.Arn) != want {
					t.Errorf("user ARN = %q, want %q", aws.ToString(u.Arn), want)
				}
			}
		}
		if fmt.Sprint(names) != "[page-0 page-1 page-2 page-3 page-4]" || pages != 3 {
			t.Errorf("paginated ListUsers = %v in %d pages, want 5 users in 3", names, pages)
		}

		// Managed policy versions.
		p := iaMust(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("versioned"), Path: aws.String("/app/"), PolicyDocument: aws.String(iaAllow("iam:GetUser", "*"))}))(t).Policy
		if want := "arn:aws:iam::" + acct + ":policy/app/versioned"; aws.ToString(p.Arn) != want || !strings.HasPrefix(aws.ToString(p.PolicyId), "ANPA") {
			t.Errorf("CreatePolicy = %q %q", aws.ToString(p.Arn), aws.ToString(p.PolicyId))
		}
		v2 := iaMust(root.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, PolicyDocument: aws.String(iaAllow("iam:ListUsers", "*")), SetAsDefault: true}))(t).PolicyVersion
		if aws.ToString(v2.VersionId) != "v2" || !v2.IsDefaultVersion {
			t.Errorf("CreatePolicyVersion = %q default %v", aws.ToString(v2.VersionId), v2.IsDefaultVersion)
		}
		vs := iaMust(root.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: p.Arn}))(t).Versions
		if len(vs) != 2 {
			t.Errorf("ListPolicyVersions = %d versions, want 2", len(vs))
		}
		local := iaMust(root.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, PathPrefix: aws.String("/app/")}))(t).Policies
		if len(local) != 1 || aws.ToString(local[0].DefaultVersionId) != "v2" {
			t.Errorf("ListPolicies(Local, /app/) = %+v", local)
		}
		iaMust(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("page-0"), PolicyArn: p.Arn}))(t)
		_, err := root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Arn})
		apigwtest.WantAPIError(t, err, 409, "DeleteConflict", "Cannot delete a policy attached to entities.")
		iaMust(root.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("page-0"), PolicyArn: p.Arn}))(t)
		_, err = root.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v2")})
		apigwtest.WantAPIError(t, err, 409, "DeleteConflict", "Cannot delete the default version of a policy.")
		iaMust(root.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v1")}))(t)
		iaMust(root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Arn}))(t)
		_, err = root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Arn})
		apigwtest.WantAPIError(t, err, 404, "NoSuchEntity", "...")

		// Roles.
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`
		iaMust(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("doomed"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200)}))(t)
		r := iaMust(root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("doomed")}))(t).Role
		if doc, _ := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument)); doc != trust || aws.ToInt32(r.MaxSessionDuration) != 7200 {
			t.Errorf("GetRole = trust %q max %d", doc, aws.ToInt32(r.MaxSessionDuration))
		}
		found := false
		for _, r := range iaMust(root.ListRoles(ctx, &iam.ListRolesInput{}))(t).Roles {
			found = found || aws.ToString(r.RoleName) == "doomed"
		}
		if !found {
			t.Errorf("ListRoles lacks the role")
		}
		iaMust(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("doomed"), PolicyName: aws.String("p"), PolicyDocument: aws.String(iaAllow("iam:GetUser", "*"))}))(t)
		_, err = root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("doomed")})
		apigwtest.WantAPIError(t, err, 409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
		iaMust(root.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("doomed"), PolicyName: aws.String("p")}))(t)
		iaMust(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("doomed")}))(t)

		// A user with a key cannot be deleted until the key is.
		k := iaNewUser(t, root, "short-lived", "")
		_, err = root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("short-lived")})
		apigwtest.WantAPIError(t, err, 409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")
		iaMust(root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("short-lived"), AccessKeyId: aws.String(k.AccessKeyID)}))(t)
		iaMust(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("short-lived")}))(t)
	})

	t.Run("errors", func(t *testing.T) {
		_, err := root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
		apigwtest.WantAPIError(t, err, 404, "NoSuchEntity", "The user with name nobody cannot be found.")
		_, err = root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
		apigwtest.WantAPIError(t, err, 409, "EntityAlreadyExists", "User with name alice already exists.")
		_, err = iaIAM(in, aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: "wrong"}).ListUsers(ctx, &iam.ListUsersInput{})
		apigwtest.WantAPIError(t, err, 403, "SignatureDoesNotMatch", iaMsgMismatch)
		_, err = iaSTS(in, aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		apigwtest.WantAPIError(t, err, 403, "InvalidClientTokenId", iaMsgBadToken)
	})

	t.Run("unsigned", func(t *testing.T) {
		for _, tc := range []struct{ name, body, ns string }{
			{"iam", "Action=ListUsers&Version=2010-05-08", "https://iam.amazonaws.com/doc/2010-05-08/"},
			{"sts", "Action=GetCallerIdentity&Version=2011-06-15", "https://sts.amazonaws.com/doc/2011-06-15/"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := iaReq(t, http.MethodPost, in.AdminURL+"/", "", tc.body)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				got := iaDo(t, req)
				if got.status != http.StatusForbidden {
					t.Errorf("status = %d, want 403", got.status)
				}
				if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
					t.Errorf("Content-Type = %q, want text/xml (body %s)", ct, got.body)
				}
				var e struct {
					XMLName xml.Name `xml:"ErrorResponse"`
					Xmlns   string   `xml:"xmlns,attr"`
					Error   struct{ Type, Code, Message string }
				}
				if err := xml.Unmarshal([]byte(got.body), &e); err != nil {
					t.Fatalf("body is not an XML ErrorResponse: %v: %s", err, got.body)
				}
				if e.Xmlns != tc.ns || e.Error.Type != "Sender" || e.Error.Code != "MissingAuthenticationToken" || e.Error.Message != "Request is missing Authentication Token" {
					t.Errorf("error = %+v", e)
				}
			})
		}
	})
}

// ---- 2. the data plane: AWS_IAM ------------------------------------------------

// iaIAMAPI builds the API of the data plane tests: GET and POST /sample, GET
// /other and ANY /{proxy+}, all AWS_IAM, proxied to a recording backend.
func iaIAMAPI(t *testing.T, in *apigwtest.Instance) (string, *iaBackend) {
	t.Helper()
	b := iaNewBackend(t)
	apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("iam")}, b,
		iaMethod{"/sample", "GET", "AWS_IAM"}, iaMethod{"/sample", "POST", "AWS_IAM"},
		iaMethod{"/other", "GET", "AWS_IAM"}, iaMethod{"/{proxy+}", "ANY", "AWS_IAM"})
	return apiID, b
}

func TestIAMSigV4DataPlane(t *testing.T) {
	in := apigwtest.Start(t)
	apiID, backend := iaIAMAPI(t, in)
	host := iaHost(apiID)
	pathURL := func(p string) string { return in.InvokeURL(apiID, iaStage, p) }
	hostURL := func(p string) string { return in.DataURL + "/" + iaStage + p }

	t.Run("signed", func(t *testing.T) {
		cases := []struct {
			name, method string
			url, host    string // url: path escaped, query raw as sent before signing
			body         string
			wantPath     string // decoded path the backend sees
			wantQuery    url.Values
			header       http.Header // signed with the request
		}{
			{"GET path-style", "GET", pathURL("/sample"), "", "", "/sample", url.Values{}, nil},
			{"POST with a body", "POST", pathURL("/sample"), "", `{"hello":"wörld"}`, "/sample", url.Values{}, nil},
			{"GET host-based", "GET", hostURL("/sample"), host, "", "/sample", url.Values{}, nil},
			{"POST host-based", "POST", hostURL("/sample"), host, "a=1&b=2", "/sample", url.Values{}, nil},
			{"query with reserved characters", "GET", pathURL("/sample?a=b%20c&x=%2F&y=%C3%BC&z=a+b"), "", "", "/sample",
				url.Values{"a": {"b c"}, "x": {"/"}, "y": {"ü"}, "z": {"a b"}}, nil},
			{"query with literal plus and equals", "GET", hostURL("/other?q=" + url.QueryEscape("1+1=2") + "&empty=&k=v&k=a"), host, "", "/other",
				url.Values{"q": {"1+1=2"}, "empty": {""}, "k": {"a", "v"}}, nil},
			{"proxy path with spaces and UTF-8", "GET", pathURL("/dir/a%20b/%C3%BC.txt"), "", "", "/dir/a b/ü.txt", url.Values{}, nil},
			{"proxy path host-based with query", "GET", hostURL("/dir/a%20b/%C3%BC.txt?a=b%20c&y=%C3%BC"), host, "", "/dir/a b/ü.txt",
				url.Values{"a": {"b c"}, "y": {"ü"}}, nil},
			{"proxy PUT with a body", "PUT", hostURL("/files/r%C3%A9sum%C3%A9%20v2.json"), host, `{"k":"v"}`, "/files/résumé v2.json", url.Values{}, nil},
			{"proxy DELETE", "DELETE", pathURL("/items/42"), "", "", "/items/42", url.Values{}, nil},
			{"query with sub-delimiters", "GET", pathURL("/sample?w=" + url.QueryEscape("*!()'~;:@$,") + "&%C3%A9t%C3%A9=1"), "", "", "/sample",
				url.Values{"w": {"*!()'~;:@$,"}, "été": {"1"}}, nil},
			{"proxy path with reserved characters", "GET", hostURL("/dir/a+b/(x)!*'@:$,;=&~.txt"), host, "", "/dir/a+b/(x)!*'@:$,;=&~.txt", url.Values{}, nil},
			{"signed headers folded and trimmed", "POST", pathURL("/sample"), "", `{"k":1}`, "/sample", url.Values{}, http.Header{
				"Content-Type": {"application/json"}, "X-Custom": {"  a   b  c "}, "X-Multi": {"one", "two"},
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := iaReq(t, tc.method, tc.url, tc.host, tc.body)
				for k, v := range tc.header {
					req.Header[k] = v
				}
				got := iaDo(t, iaSign(t, req, tc.body, iaRoot, time.Now()))
				if got.status != http.StatusOK {
					t.Fatalf("status = %d, body %s", got.status, got.body)
				}
				rec := backend.last(t)
				u, err := url.ParseRequestURI(rec.RequestURI)
				if err != nil {
					t.Fatalf("backend request URI %q: %v", rec.RequestURI, err)
				}
				if rec.Method != tc.method || u.Path != tc.wantPath || rec.Body != tc.body {
					t.Errorf("backend got %s %s (path %q) body %q, want %s %q body %q", rec.Method, rec.RequestURI, u.Path, rec.Body, tc.method, tc.wantPath, tc.body)
				}
				if q := u.Query(); fmt.Sprint(q) != fmt.Sprint(tc.wantQuery) {
					t.Errorf("backend query = %v, want %v", q, tc.wantQuery)
				}
				for k, v := range tc.header {
					// Sent as is; HTTP trims the ends of a value.
					want := make([]string, len(v))
					for i := range v {
						want[i] = strings.TrimSpace(v[i])
					}
					if got := rec.Header.Values(k); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("backend header %s = %q, want %q", k, got, want)
					}
				}
			})
		}
	})

	t.Run("presigned", func(t *testing.T) {
		cases := []struct{ name, url, host, wantPath string }{
			{"path-style", pathURL("/sample"), "", "/sample"},
			{"host-based", hostURL("/sample"), host, "/sample"},
			{"with a query", pathURL("/other?a=b%20c&x=%2F&y=%C3%BC"), "", "/other"},
			{"proxy path", hostURL("/dir/a%20b/%C3%BC.txt"), host, "/dir/a b/ü.txt"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				u := iaPresign(t, tc.url, tc.host, iaRoot, time.Now(), 300)
				if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=300") {
					t.Fatalf("presigned URL %s", u)
				}
				got := iaGetURL(t, u, tc.host)
				if got.status != http.StatusOK {
					t.Fatalf("status = %d, body %s", got.status, got.body)
				}
				if rec := backend.last(t); !strings.HasPrefix(rec.RequestURI, (&url.URL{Path: tc.wantPath}).EscapedPath()) {
					t.Errorf("backend got %s", rec.RequestURI)
				}
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		before := backend.count()
		now := time.Now()
		wrong := aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: "not-the-secret"}
		unknown := aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: apigwtest.SecretAccessKey}
		tampered := func(t *testing.T) *http.Request {
			u := iaPresign(t, pathURL("/sample?user=alice"), "", iaRoot, now, 300)
			return iaReq(t, "GET", strings.Replace(u, "user=alice", "user=admin", 1), "", "")
		}
		cases := []struct {
			name    string
			req     func(t *testing.T) *http.Request
			errType string
			message string
		}{
			{"unsigned", func(t *testing.T) *http.Request { return iaReq(t, "GET", pathURL("/sample"), "", "") },
				"MissingAuthenticationTokenException", "Missing Authentication Token"},
			{"unsigned proxy path", func(t *testing.T) *http.Request { return iaReq(t, "GET", hostURL("/dir/x"), host, "") },
				"MissingAuthenticationTokenException", "Missing Authentication Token"},
			{"wrong secret", func(t *testing.T) *http.Request {
				return iaSign(t, iaReq(t, "GET", pathURL("/sample"), "", ""), "", wrong, now)
			}, "InvalidSignatureException", iaMsgMismatch},
			{"wrong secret presigned", func(t *testing.T) *http.Request {
				return iaReq(t, "GET", iaPresign(t, hostURL("/sample"), host, wrong, now, 60), host, "")
			}, "InvalidSignatureException", iaMsgMismatch},
			{"body changed after signing", func(t *testing.T) *http.Request {
				req := iaSign(t, iaReq(t, "POST", pathURL("/sample"), "", "amount=10"), "amount=10", iaRoot, now)
				req2 := iaReq(t, "POST", req.URL.String(), "", "amount=99")
				req2.Header = req.Header.Clone()
				return req2
			}, "InvalidSignatureException", iaMsgMismatch},
			{"query changed after signing", func(t *testing.T) *http.Request {
				req := iaSign(t, iaReq(t, "GET", pathURL("/sample?a=1"), "", ""), "", iaRoot, now)
				req.URL.RawQuery = "a=2"
				return req
			}, "InvalidSignatureException", iaMsgMismatch},
			{"signed for another host", func(t *testing.T) *http.Request {
				req := iaSign(t, iaReq(t, "GET", hostURL("/sample"), "other.execute-api.us-east-1.amazonaws.com", ""), "", iaRoot, now)
				req.Host = host
				return req
			}, "InvalidSignatureException", iaMsgMismatch},
			{"tampered presigned URL", tampered, "InvalidSignatureException", iaMsgMismatch},
			{"expired presigned URL", func(t *testing.T) *http.Request {
				return iaReq(t, "GET", iaPresign(t, pathURL("/sample"), "", iaRoot, now.Add(-time.Hour), 60), "", "")
			}, "InvalidSignatureException", "Signature expired: ..."},
			{"header signature too old", func(t *testing.T) *http.Request {
				return iaSign(t, iaReq(t, "GET", pathURL("/sample"), "", ""), "", iaRoot, now.Add(-10*time.Minute))
			}, "InvalidSignatureException", "Signature expired: ..."},
			{"header signature from the future", func(t *testing.T) *http.Request {
				return iaSign(t, iaReq(t, "GET", pathURL("/sample"), "", ""), "", iaRoot, now.Add(10*time.Minute))
			}, "InvalidSignatureException", "Signature not yet current: ..."},
			{"unknown key", func(t *testing.T) *http.Request {
				return iaSign(t, iaReq(t, "GET", pathURL("/sample"), "", ""), "", unknown, now)
			}, "UnrecognizedClientException", iaMsgBadToken},
			{"unknown key presigned", func(t *testing.T) *http.Request {
				return iaReq(t, "GET", iaPresign(t, pathURL("/sample"), "", unknown, now, 60), "", "")
			}, "UnrecognizedClientException", iaMsgBadToken},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				iaWantError(t, iaDo(t, tc.req(t)), http.StatusForbidden, tc.errType, "message", tc.message)
			})
		}
		if n := backend.count(); n != before {
			t.Errorf("the backend received %d refused requests", n-before)
		}
		// The untampered URL works.
		u := iaPresign(t, pathURL("/sample?user=alice"), "", iaRoot, now, 300)
		iaWantPresignedOK(t, iaGetURL(t, u, ""), "GET /sample", "user=alice")
	})
}

func TestIAMIdentitiesDataPlane(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := t.Context()
	acct := iaAccount(t, in)
	root := iaIAM(in, iaRoot)
	apiID, backend := iaIAMAPI(t, in)
	apiARN := "arn:aws:execute-api:" + iaRegion + ":" + acct + ":" + apiID
	methodARN := func(method, path string) string { return apiARN + "/" + iaStage + "/" + method + path }
	pathURL := func(p string) string { return in.InvokeURL(apiID, iaStage, p) }
	signed := func(t *testing.T, c aws.Credentials, method, p, body string) iaAnswer {
		t.Helper()
		return iaDo(t, iaSign(t, iaReq(t, method, pathURL(p), "", body), body, c, time.Now()))
	}

	t.Run("root may do anything", func(t *testing.T) {
		iaWantOK(t, signed(t, iaRoot, "GET", "/sample", ""), "GET /sample")
		iaWantOK(t, signed(t, iaRoot, "POST", "/sample", "x"), "POST /sample")
		iaWantOK(t, signed(t, iaRoot, "GET", "/other", ""), "GET /other")
		iaWantOK(t, signed(t, iaRoot, "PATCH", "/a/b", "y"), "PATCH /a/b")
	})

	t.Run("user allowed only GET /sample", func(t *testing.T) {
		name := "sample-reader"
		key := iaNewUser(t, root, name, iaAllow("execute-api:Invoke", apiARN+"/*/GET/sample"))
		userARN := "arn:aws:iam::" + acct + ":user/" + name
		if got := aws.ToString(iaMust(iaSTS(in, key).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t).Arn); got != userARN {
			t.Fatalf("GetCallerIdentity = %q, want %q", got, userARN)
		}
		iaWantOK(t, signed(t, key, "GET", "/sample", ""), "GET /sample")
		iaWantPresignedOK(t, iaGetURL(t, iaPresign(t, pathURL("/sample?q=1"), "", key, time.Now(), 60), ""), "GET /sample", "q=1")
		for _, tc := range []struct{ method, path string }{
			{"POST", "/sample"}, {"GET", "/other"}, {"GET", "/sample/x"}, {"DELETE", "/sample2"},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				got := signed(t, key, tc.method, tc.path, "")
				iaWantError(t, got, http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(userARN, methodARN(tc.method, tc.path), false))
			})
		}
		// A policy added later applies at once.
		iaMust(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("more"), PolicyDocument: aws.String(iaAllow("execute-api:Invoke", apiARN+"/"+iaStage+"/*/other"))}))(t)
		iaWantOK(t, signed(t, key, "GET", "/other", ""), "GET /other")
		// And an explicit deny wins over the allows.
		iaMust(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("deny"), PolicyDocument: aws.String(
			`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:*","Resource":"` + apiARN + `/*/GET/other"}]}`)}))(t)
		iaWantError(t, signed(t, key, "GET", "/other", ""), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(userARN, methodARN("GET", "/other"), true))
		iaWantOK(t, signed(t, key, "GET", "/sample", ""), "GET /sample")
	})

	t.Run("managed policy", func(t *testing.T) {
		key := iaNewUser(t, root, "managed-user", "")
		p := iaMust(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("invoke-proxy"), PolicyDocument: aws.String(iaAllow("execute-api:Invoke", apiARN+"/"+iaStage+"/*/dir/*"))}))(t).Policy
		userARN := "arn:aws:iam::" + acct + ":user/managed-user"
		iaWantError(t, signed(t, key, "GET", "/dir/a", ""), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(userARN, methodARN("GET", "/dir/a"), false))
		iaMust(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("managed-user"), PolicyArn: p.Arn}))(t)
		iaWantOK(t, signed(t, key, "GET", "/dir/a", ""), "GET /dir/a")
		// The resource in the ARN is the decoded path.
		iaWantOK(t, signed(t, key, "PUT", "/dir/a%20b/%C3%BC.txt", "z"), "PUT /dir/a%20b/%C3%BC.txt")
		iaWantError(t, signed(t, key, "GET", "/sample", ""), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(userARN, methodARN("GET", "/sample"), false))
		// A new default version applies at once, and so does going back.
		iaMust(root.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Arn, SetAsDefault: true,
			PolicyDocument: aws.String(iaAllow("execute-api:Invoke", apiARN+"/"+iaStage+"/GET/dir/*"))}))(t)
		iaWantError(t, signed(t, key, "PUT", "/dir/a", "z"), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(userARN, methodARN("PUT", "/dir/a"), false))
		iaWantOK(t, signed(t, key, "GET", "/dir/a", ""), "GET /dir/a")
		iaMust(root.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: p.Arn, VersionId: aws.String("v1")}))(t)
		iaWantOK(t, signed(t, key, "PUT", "/dir/a", "z"), "PUT /dir/a")
		// Detached, the policy no longer applies.
		iaMust(root.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("managed-user"), PolicyArn: p.Arn}))(t)
		iaWantError(t, signed(t, key, "GET", "/dir/a", ""), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(userARN, methodARN("GET", "/dir/a"), false))
	})

	t.Run("session credentials from AssumeRole", func(t *testing.T) {
		alice := iaNewUser(t, root, "alice", "")
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/alice"},"Action":"sts:AssumeRole"}]}`
		iaMust(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("invoker"), AssumeRolePolicyDocument: aws.String(trust)}))(t)
		iaMust(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("invoker"), PolicyName: aws.String("invoke"), PolicyDocument: aws.String(iaAllow("execute-api:Invoke", apiARN+"/*/GET/*"))}))(t)
		// alice herself may not invoke.
		iaWantError(t, signed(t, alice, "GET", "/sample", ""), http.StatusForbidden, "AccessDeniedException", "Message",
			iaDenied("arn:aws:iam::"+acct+":user/alice", methodARN("GET", "/sample"), false))
		out := iaMust(iaSTS(in, alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/invoker"), RoleSessionName: aws.String("web")}))(t)
		sess := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
		sessARN := "arn:aws:sts::" + acct + ":assumed-role/invoker/web"

		req := iaSign(t, iaReq(t, "GET", pathURL("/sample"), "", ""), "", sess, time.Now())
		if req.Header.Get("X-Amz-Security-Token") != sess.SessionToken {
			t.Fatalf("the signer did not send the session token")
		}
		iaWantOK(t, iaDo(t, req), "GET /sample")
		iaWantOK(t, signed(t, sess, "GET", "/other", ""), "GET /other")
		iaWantPresignedOK(t, iaGetURL(t, iaPresign(t, pathURL("/dir/a%20b"), "", sess, time.Now(), 60), ""), "GET /dir/a%20b", "X-Amz-Security-Token=")
		// The role's policy allows only GET.
		iaWantError(t, signed(t, sess, "POST", "/sample", "x"), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(sessARN, methodARN("POST", "/sample"), false))

		// Without the token, or with another, the key is refused.
		noToken := sess
		noToken.SessionToken = ""
		iaWantError(t, signed(t, noToken, "GET", "/sample", ""), http.StatusForbidden, "UnrecognizedClientException", "message", iaMsgBadToken)
		badToken := sess
		// Another first character, whatever the real one is.
		first := "x"
		if sess.SessionToken[0] == 'x' {
			first = "y"
		}
		badToken.SessionToken = first + sess.SessionToken[1:]
		iaWantError(t, signed(t, badToken, "GET", "/sample", ""), http.StatusForbidden, "UnrecognizedClientException", "message", iaMsgBadToken)
		// A long-term key presenting a token is refused too.
		withToken := iaRoot
		withToken.SessionToken = sess.SessionToken
		iaWantError(t, signed(t, withToken, "GET", "/sample", ""), http.StatusForbidden, "UnrecognizedClientException", "message", iaMsgBadToken)
	})

	t.Run("session policy of AssumeRole", func(t *testing.T) {
		// The session policy limits what the role's policy allows.
		bob := iaNewUser(t, root, "bob", "")
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/bob"},"Action":"sts:AssumeRole"}]}`
		iaMust(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("broad"), AssumeRolePolicyDocument: aws.String(trust)}))(t)
		iaMust(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("broad"), PolicyName: aws.String("all"), PolicyDocument: aws.String(iaAllow("execute-api:Invoke", "*"))}))(t)
		out := iaMust(iaSTS(in, bob).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + acct + ":role/broad"), RoleSessionName: aws.String("narrow"),
			Policy: aws.String(iaAllow("execute-api:Invoke", apiARN+"/*/GET/sample")),
		}))(t)
		sess := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
		iaWantOK(t, signed(t, sess, "GET", "/sample", ""), "GET /sample")
		iaWantError(t, signed(t, sess, "GET", "/other", ""), http.StatusForbidden, "AccessDeniedException", "Message",
			iaDenied("arn:aws:sts::"+acct+":assumed-role/broad/narrow", methodARN("GET", "/other"), false))
	})

	t.Run("session credentials from GetSessionToken", func(t *testing.T) {
		key := iaNewUser(t, root, "dave", iaAllow("execute-api:Invoke", apiARN+"/*/GET/other"))
		out := iaMust(iaSTS(in, key).GetSessionToken(ctx, &sts.GetSessionTokenInput{}))(t)
		sess := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
		if !strings.HasPrefix(sess.AccessKeyID, "ASIA") {
			t.Errorf("GetSessionToken key = %q, want ASIA...", sess.AccessKeyID)
		}
		iaWantOK(t, signed(t, sess, "GET", "/other", ""), "GET /other")
		iaWantError(t, signed(t, sess, "GET", "/sample", ""), http.StatusForbidden, "AccessDeniedException", "Message",
			iaDenied("arn:aws:iam::"+acct+":user/dave", methodARN("GET", "/sample"), false))
	})

	t.Run("requestContext.identity", func(t *testing.T) {
		// GET /whoami maps the caller's identity to headers of the backend's
		// request.
		who := iaMust(in.Client.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("whoami")}))(t)
		var rootID string
		for _, r := range iaMust(in.Client.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: who.Id}))(t).Items {
			rootID = aws.ToString(r.Id)
		}
		res := iaMust(in.Client.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: who.Id, ParentId: aws.String(rootID), PathPart: aws.String("whoami")}))(t)
		iaMust(in.Client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: who.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("AWS_IAM")}))(t)
		fields := []string{"accessKey", "accountId", "caller", "user", "userArn"}
		mapping := map[string]string{}
		for _, f := range fields {
			mapping["integration.request.header.x-id-"+strings.ToLower(f)] = "context.identity." + f
		}
		iaMust(in.Client.PutIntegration(ctx, &apigateway.PutIntegrationInput{
			RestApiId: who.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeHttpProxy,
			IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(backend.URL + "/whoami"), RequestParameters: mapping,
		}))(t)
		iaDeploy(t, in, aws.ToString(who.Id))
		whoURL := in.InvokeURL(aws.ToString(who.Id), iaStage, "/whoami")

		user := iaNewUser(t, root, "erin", iaAllow("execute-api:Invoke", "*"))
		erin := iaMust(root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("erin")}))(t).User
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/erin"},"Action":"sts:AssumeRole"}]}`
		role := iaMust(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("who"), AssumeRolePolicyDocument: aws.String(trust)}))(t).Role
		iaMust(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("who"), PolicyName: aws.String("all"), PolicyDocument: aws.String(iaAllow("execute-api:Invoke", "*"))}))(t)
		out := iaMust(iaSTS(in, user).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: aws.String("who-session")}))(t)
		sess := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
		sessID := aws.ToString(role.RoleId) + ":who-session"

		cases := []struct {
			name  string
			creds aws.Credentials
			want  map[string]string
		}{
			{"root", iaRoot, map[string]string{"accesskey": iaRoot.AccessKeyID, "accountid": acct, "caller": acct, "user": acct, "userarn": "arn:aws:iam::" + acct + ":root"}},
			{"user", user, map[string]string{"accesskey": user.AccessKeyID, "accountid": acct, "caller": aws.ToString(erin.UserId), "user": aws.ToString(erin.UserId), "userarn": aws.ToString(erin.Arn)}},
			{"assumed role", sess, map[string]string{"accesskey": sess.AccessKeyID, "accountid": acct, "caller": sessID, "user": sessID, "userarn": "arn:aws:sts::" + acct + ":assumed-role/who/who-session"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				iaWantOK(t, iaDo(t, iaSign(t, iaReq(t, "GET", whoURL, "", ""), "", tc.creds, time.Now())), "GET /whoami")
				h := backend.last(t).Header
				for k, v := range tc.want {
					if got := h.Get("x-id-" + k); got != v {
						t.Errorf("identity %s = %q, want %q", k, got, v)
					}
				}
			})
		}
	})

	t.Run("key deactivated after signing", func(t *testing.T) {
		key := iaNewUser(t, root, "rotating", iaAllow("execute-api:Invoke", apiARN+"/*"))
		// Signed (and the presigned URL made) while the key is active.
		req := iaSign(t, iaReq(t, "GET", pathURL("/sample"), "", ""), "", key, time.Now())
		presigned := iaPresign(t, pathURL("/other"), "", key, time.Now(), 300)
		iaWantOK(t, iaDo(t, req.Clone(ctx)), "GET /sample")
		iaWantPresignedOK(t, iaGetURL(t, presigned, ""), "GET /other", "")

		set := func(status iamtypes.StatusType) {
			t.Helper()
			iaMust(root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("rotating"), AccessKeyId: aws.String(key.AccessKeyID), Status: status}))(t)
		}
		set(iamtypes.StatusTypeInactive)
		before := backend.count()
		for i := range 3 {
			t.Run("refused "+strconv.Itoa(i), func(t *testing.T) {
				iaWantError(t, iaDo(t, req.Clone(ctx)), http.StatusForbidden, "UnrecognizedClientException", "message", iaMsgBadToken)
				iaWantError(t, iaGetURL(t, presigned, ""), http.StatusForbidden, "UnrecognizedClientException", "message", iaMsgBadToken)
			})
		}
		if backend.count() != before {
			t.Errorf("the backend received requests signed with an inactive key")
		}
		set(iamtypes.StatusTypeActive)
		iaWantOK(t, iaDo(t, req.Clone(ctx)), "GET /sample")
		iaMust(root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("rotating"), AccessKeyId: aws.String(key.AccessKeyID)}))(t)
		iaWantError(t, iaDo(t, req.Clone(ctx)), http.StatusForbidden, "UnrecognizedClientException", "message", iaMsgBadToken)
	})
}

// ---- 3. resource policies ------------------------------------------------------

func iaPolicy(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func TestIAMResourcePolicies(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) {
		c.VPCEndpoints = map[string]string{"vpce-0abc": "127.0.0.1:0", "vpce-0other": "127.0.0.1:0"}
	})
	ctx := t.Context()
	acct := iaAccount(t, in)
	root := iaIAM(in, iaRoot)
	methodARN := func(apiID, method, path string) string {
		return "arn:aws:execute-api:" + iaRegion + ":" + acct + ":" + apiID + "/" + iaStage + "/" + method + path
	}

	t.Run("private API and aws:SourceVpce", func(t *testing.T) {
		pol := iaPolicy(`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0abc"}}}`)
		apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{
			Name: aws.String("private"), Policy: aws.String(pol),
			EndpointConfiguration: &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypePrivate}},
		}, nil, iaMethod{"/sample", "GET", "NONE"})
		regional := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("regional")}, nil, iaMethod{"/sample", "GET", "NONE"})
		via := func(t *testing.T, vpce, apiID, host string) iaAnswer {
			t.Helper()
			addr := in.Server.VPCEndpointAddr(vpce)
			if addr == "" {
				t.Fatalf("no listener for %s", vpce)
			}
			req := iaReq(t, "GET", "http://"+addr+"/"+iaStage+"/sample", host, "")
			if host == "" {
				req.Header.Set("x-apigw-api-id", apiID)
			}
			return iaDo(t, req)
		}
		t.Run("through vpce-0abc", func(t *testing.T) {
			iaWantOK(t, via(t, "vpce-0abc", apiID, ""), "mock")
		})
		t.Run("through vpce-0abc by host name", func(t *testing.T) {
			iaWantOK(t, via(t, "vpce-0abc", apiID, apiID+"-vpce-0abc.execute-api."+iaRegion+".vpce.amazonaws.com"), "mock")
		})
		t.Run("through vpce-0other", func(t *testing.T) {
			iaWantError(t, via(t, "vpce-0other", apiID, ""), http.StatusForbidden, "AccessDeniedException", "Message",
				iaDenied("anonymous", methodARN(apiID, "GET", "/sample"), false))
		})
		t.Run("through the public listener", func(t *testing.T) {
			iaWantError(t, iaGetURL(t, in.InvokeURL(apiID, iaStage, "/sample"), ""), http.StatusForbidden, "ForbiddenException", "message", "Forbidden")
			iaWantError(t, iaGetURL(t, in.DataURL+"/"+iaStage+"/sample", iaHost(apiID)), http.StatusForbidden, "ForbiddenException", "message", "Forbidden")
		})
		t.Run("a regional API through a VPC endpoint", func(t *testing.T) {
			iaWantOK(t, iaGetURL(t, in.InvokeURL(regional, iaStage, "/sample"), ""), "mock")
			iaWantError(t, via(t, "vpce-0abc", regional, ""), http.StatusForbidden, "ForbiddenException", "message", "Forbidden")
		})
	})

	t.Run("private API with AWS's example policy", func(t *testing.T) {
		// The policy of API Gateway's documentation: deny outside the VPC
		// endpoint, allow everyone; the key written in lower camel case.
		pol := iaPolicy(
			`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"StringNotEquals":{"aws:sourceVpce":"vpce-0abc"}}}`,
			`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"execute-api:Invoke","Resource":"execute-api:/*"}`)
		apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{
			Name: aws.String("private-doc"), Policy: aws.String(pol),
			EndpointConfiguration: &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypePrivate}},
		}, nil, iaMethod{"/sample", "GET", "NONE"})
		via := func(vpce string) iaAnswer {
			req := iaReq(t, "GET", "http://"+in.Server.VPCEndpointAddr(vpce)+"/"+iaStage+"/sample", "", "")
			req.Header.Set("x-apigw-api-id", apiID)
			return iaDo(t, req)
		}
		iaWantOK(t, via("vpce-0abc"), "mock")
		iaWantError(t, via("vpce-0other"), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied("anonymous", methodARN(apiID, "GET", "/sample"), true))
	})

	t.Run("aws:SourceIp", func(t *testing.T) {
		allowAll := `{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}`
		cases := []struct {
			name     string
			policy   string
			allowed  bool
			explicit bool
		}{
			{"deny outside 10.0.0.0/8", iaPolicy(allowAll,
				`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), false, true},
			{"allow only 127.0.0.0/8", iaPolicy(
				`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8"]}}}`), true, false},
			{"allow only 10.0.0.0/8", iaPolicy(
				`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), false, false},
			{"deny 127.0.0.1/32 on GET only", iaPolicy(allowAll,
				`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.1/32"}}}`), false, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{
					Name: aws.String("ip"), Policy: aws.String(tc.policy),
					EndpointConfiguration: &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypeRegional}},
				}, nil, iaMethod{"/sample", "GET", "NONE"})
				got := iaGetURL(t, in.InvokeURL(apiID, iaStage, "/sample"), "")
				if tc.allowed {
					iaWantOK(t, got, "mock")
					return
				}
				iaWantError(t, got, http.StatusForbidden, "AccessDeniedException", "Message", iaDenied("anonymous", methodARN(apiID, "GET", "/sample"), tc.explicit))
			})
		}
	})

	t.Run("policy changes apply on redeployment", func(t *testing.T) {
		allow := iaPolicy(`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}`)
		apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("changing"), Policy: aws.String(allow)}, nil, iaMethod{"/sample", "GET", "NONE"})
		u := in.InvokeURL(apiID, iaStage, "/sample")
		iaWantOK(t, iaGetURL(t, u, ""), "mock")
		deny := iaPolicy(`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}`)
		iaMust(in.Client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(apiID), PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/policy"), Value: aws.String(deny)},
		}}))(t)
		iaWantOK(t, iaGetURL(t, u, ""), "mock")
		iaDeploy(t, in, apiID)
		iaWantError(t, iaGetURL(t, u, ""), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied("anonymous", methodARN(apiID, "GET", "/sample"), true))
	})

	t.Run("AWS_IAM with an explicit deny", func(t *testing.T) {
		idPolicy := iaAllow("execute-api:Invoke", "*")
		denied := iaNewUser(t, root, "denied", idPolicy)
		allowed := iaNewUser(t, root, "allowed", idPolicy)
		nobody := iaNewUser(t, root, "nobody", "")
		deniedARN := "arn:aws:iam::" + acct + ":user/denied"
		pol := iaPolicy(`{"Effect":"Deny","Principal":{"AWS":"` + deniedARN + `"},"Action":"execute-api:Invoke","Resource":"execute-api:/*"}`)
		apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("iam-deny"), Policy: aws.String(pol)}, nil,
			iaMethod{"/sample", "GET", "AWS_IAM"})
		call := func(t *testing.T, c aws.Credentials) iaAnswer {
			t.Helper()
			return iaDo(t, iaSign(t, iaReq(t, "GET", in.InvokeURL(apiID, iaStage, "/sample"), "", ""), "", c, time.Now()))
		}
		resource := methodARN(apiID, "GET", "/sample")
		t.Run("denied user", func(t *testing.T) {
			iaWantError(t, call(t, denied), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(deniedARN, resource, true))
		})
		t.Run("other user allowed by identity policy", func(t *testing.T) {
			iaWantOK(t, call(t, allowed), "mock")
		})
		t.Run("user without identity policy", func(t *testing.T) {
			iaWantError(t, call(t, nobody), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied("arn:aws:iam::"+acct+":user/nobody", resource, false))
		})
		t.Run("root", func(t *testing.T) {
			iaWantOK(t, call(t, iaRoot), "mock")
		})
		t.Run("unsigned", func(t *testing.T) {
			iaWantError(t, iaGetURL(t, in.InvokeURL(apiID, iaStage, "/sample"), ""), http.StatusForbidden, "MissingAuthenticationTokenException", "message", "Missing Authentication Token")
		})
	})

	t.Run("AWS_IAM and a resource policy naming a role", func(t *testing.T) {
		// A resource policy naming a role applies to the role's sessions, and
		// aws:PrincipalArn of a session is the role's ARN.
		assumer := iaNewUser(t, root, "assumer", "")
		roleARN := "arn:aws:iam::" + acct + ":role/team/rp-role"
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/assumer"},"Action":"sts:AssumeRole"}]}`
		iaMust(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("rp-role"), Path: aws.String("/team/"), AssumeRolePolicyDocument: aws.String(trust)}))(t)
		iaMust(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("rp-role"), PolicyName: aws.String("post"), PolicyDocument: aws.String(iaAllow("execute-api:Invoke", "arn:aws:execute-api:*:*:*/*/POST/*"))}))(t)
		pol := iaPolicy(
			`{"Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/sample"}`,
			`{"Effect":"Deny","Principal":{"AWS":"`+roleARN+`"},"Action":"execute-api:Invoke","Resource":"execute-api:/*/POST/sample"}`,
			`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/other","Condition":{"StringEquals":{"aws:PrincipalArn":"`+roleARN+`"}}}`)
		apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("iam-role"), Policy: aws.String(pol)}, nil,
			iaMethod{"/sample", "GET", "AWS_IAM"}, iaMethod{"/sample", "POST", "AWS_IAM"}, iaMethod{"/other", "GET", "AWS_IAM"}, iaMethod{"/third", "POST", "AWS_IAM"})
		out := iaMust(iaSTS(in, assumer).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")}))(t)
		sess := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
		sessARN := "arn:aws:sts::" + acct + ":assumed-role/rp-role/s1"
		call := func(t *testing.T, method, path string) iaAnswer {
			t.Helper()
			return iaDo(t, iaSign(t, iaReq(t, method, in.InvokeURL(apiID, iaStage, path), "", ""), "", sess, time.Now()))
		}
		t.Run("allowed by the resource policy", func(t *testing.T) { iaWantOK(t, call(t, "GET", "/sample"), "mock") })
		t.Run("allowed by aws:PrincipalArn", func(t *testing.T) { iaWantOK(t, call(t, "GET", "/other"), "mock") })
		t.Run("allowed by the role's policy", func(t *testing.T) { iaWantOK(t, call(t, "POST", "/third"), "mock") })
		t.Run("denied by the resource policy", func(t *testing.T) {
			iaWantError(t, call(t, "POST", "/sample"), http.StatusForbidden, "AccessDeniedException", "Message", iaDenied(sessARN, methodARN(apiID, "POST", "/sample"), true))
		})
		t.Run("the user is not the role", func(t *testing.T) {
			got := iaDo(t, iaSign(t, iaReq(t, "GET", in.InvokeURL(apiID, iaStage, "/sample"), "", ""), "", assumer, time.Now()))
			iaWantError(t, got, http.StatusForbidden, "AccessDeniedException", "Message", iaDenied("arn:aws:iam::"+acct+":user/assumer", methodARN(apiID, "GET", "/sample"), false))
		})
	})

	t.Run("AWS_IAM allowed by the resource policy alone", func(t *testing.T) {
		// Within one account, a resource policy naming the user suffices
		// without any identity policy.
		plain := iaNewUser(t, root, "plain", "")
		plainARN := "arn:aws:iam::" + acct + ":user/plain"
		pol := iaPolicy(`{"Effect":"Allow","Principal":{"AWS":"` + plainARN + `"},"Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/sample"}`)
		apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("iam-allow"), Policy: aws.String(pol)}, nil,
			iaMethod{"/sample", "GET", "AWS_IAM"}, iaMethod{"/sample", "POST", "AWS_IAM"})
		u := in.InvokeURL(apiID, iaStage, "/sample")
		iaWantOK(t, iaDo(t, iaSign(t, iaReq(t, "GET", u, "", ""), "", plain, time.Now())), "mock")
		iaWantError(t, iaDo(t, iaSign(t, iaReq(t, "POST", u, "", "x"), "x", plain, time.Now())), http.StatusForbidden, "AccessDeniedException", "Message",
			iaDenied(plainARN, methodARN(apiID, "POST", "/sample"), false))
	})
}
