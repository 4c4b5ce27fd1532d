package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/iam"
)

func codeOf(zip []byte) *types.FunctionCode { return &types.FunctionCode{ZipFile: zip} }

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateFunctionConfiguration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	zip := pythonZip(t)
	out := e.create(t, "hello", func(in *lambdasdk.CreateFunctionInput) {
		in.Code = codeOf(zip)
		in.Environment = &types.Environment{Variables: map[string]string{"GREETING": "hi"}}
		in.Description = aws.String("the tutorial's function")
	})
	sum := sha256.Sum256(zip)
	want := map[string]any{
		"FunctionName":     "hello",
		"FunctionArn":      testARN("hello"),
		"Runtime":          types.Runtime("python3.12"),
		"Role":             "arn:aws:iam::" + testAccount + ":role/lambda-exec",
		"Handler":          "lambda_function.lambda_handler",
		"CodeSize":         int64(len(zip)),
		"CodeSha256":       base64.StdEncoding.EncodeToString(sum[:]),
		"Description":      "the tutorial's function",
		"Timeout":          int32(3),
		"MemorySize":       int32(128),
		"Version":          "$LATEST",
		"LastModified":     "2024-05-06T07:08:09.123+0000",
		"State":            types.State("Active"),
		"LastUpdateStatus": types.LastUpdateStatus("Successful"),
		"PackageType":      types.PackageType("Zip"),
		"Architectures":    []types.Architecture{"x86_64"},
		"EphemeralStorage": int32(512),
		"TracingConfig":    types.TracingMode("PassThrough"),
		"Environment":      map[string]string{"GREETING": "hi"},
		"LogGroup":         "/aws/lambda/hello",
	}
	got := map[string]any{
		"FunctionName": aws.ToString(out.FunctionName), "FunctionArn": aws.ToString(out.FunctionArn), "Runtime": out.Runtime,
		"Role": aws.ToString(out.Role), "Handler": aws.ToString(out.Handler), "CodeSize": out.CodeSize,
		"CodeSha256": aws.ToString(out.CodeSha256), "Description": aws.ToString(out.Description),
		"Timeout": aws.ToInt32(out.Timeout), "MemorySize": aws.ToInt32(out.MemorySize), "Version": aws.ToString(out.Version),
		"LastModified": aws.ToString(out.LastModified), "State": out.State, "LastUpdateStatus": out.LastUpdateStatus,
		"PackageType": out.PackageType, "Architectures": out.Architectures, "EphemeralStorage": aws.ToInt32(out.EphemeralStorage.Size),
		"TracingConfig": out.TracingConfig.Mode, "Environment": out.Environment.Variables, "LogGroup": aws.ToString(out.LoggingConfig.LogGroup),
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if !uuidRE.MatchString(aws.ToString(out.RevisionId)) {
		t.Errorf("RevisionId = %q, want a UUID", aws.ToString(out.RevisionId))
	}
	// The code is unpacked under {DataDir}/lambda/{name}/{sha} and kept in
	// the store.
	dir := filepath.Join(e.svc.DataDir, "lambda", "hello", base64.RawURLEncoding.EncodeToString(sum[:]))
	if files := listFiles(t, dir); !reflect.DeepEqual(files, []string{"lambda_function.py"}) {
		t.Errorf("code dir holds %v", files)
	}
	stored, err := e.svc.Store.Get(ctx, KindCode, "hello/"+base64.RawURLEncoding.EncodeToString(sum[:]))
	if err != nil || string(stored) != string(zip) {
		t.Errorf("stored zip: %v (%d bytes)", err, len(stored))
	}
}

func TestFunctionLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := e.create(t, "fn")

	// GetFunction: configuration and a working code URL.
	got, err := e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Configuration.RevisionId) != aws.ToString(created.RevisionId) || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Errorf("GetFunction = %+v", got.Configuration)
	}
	loc := aws.ToString(got.Code.Location)
	if !strings.HasPrefix(loc, e.srv.URL+CodePathPrefix+"fn/") {
		t.Errorf("Code.Location = %q", loc)
	}
	resp, err := e.srv.Client().Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(pythonZip(t)) || resp.Header.Get("Content-Type") != "application/zip" {
		t.Errorf("code download: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	for _, bad := range []string{strings.Replace(loc, "X-Apigw-Signature=", "X-Apigw-Signature=0", 1), strings.Replace(loc, "/fn/", "/other/", 1)} {
		resp, err := e.srv.Client().Get(bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("tampered code URL %s: %d, want 403", bad, resp.StatusCode)
		}
	}
	e.now = e.now.Add(11 * time.Minute)
	if resp, err := e.srv.Client().Get(loc); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired code URL: %v %v", resp.StatusCode, err)
	}

	cfg, err := e.client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String(testARN("fn"))})
	if err != nil || aws.ToString(cfg.FunctionArn) != testARN("fn") {
		t.Fatalf("GetFunctionConfiguration by ARN: %v %v", cfg, err)
	}
	// A qualifier makes the ARN qualified.
	cfg, err = e.client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("fn:$LATEST")})
	if err != nil || aws.ToString(cfg.FunctionArn) != testARN("fn")+":$LATEST" {
		t.Fatalf("GetFunctionConfiguration fn:$LATEST: %v %v", aws.ToString(cfg.FunctionArn), err)
	}

	// UpdateFunctionConfiguration.
	upd, err := e.client.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn"), Handler: aws.String("app.handler"), Runtime: "nodejs20.x",
		Timeout: aws.Int32(30), MemorySize: aws.Int32(512), Description: aws.String("d"),
		Environment: &types.Environment{Variables: map[string]string{"AB": "1"}},
		RevisionId:  created.RevisionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(upd.Handler) != "app.handler" || upd.Runtime != "nodejs20.x" || aws.ToInt32(upd.Timeout) != 30 ||
		aws.ToInt32(upd.MemorySize) != 512 || aws.ToString(upd.Description) != "d" || upd.Environment.Variables["AB"] != "1" ||
		aws.ToString(upd.CodeSha256) != aws.ToString(created.CodeSha256) {
		t.Errorf("UpdateFunctionConfiguration = %+v", upd)
	}
	if aws.ToString(upd.RevisionId) == aws.ToString(created.RevisionId) {
		t.Error("RevisionId did not change with the configuration")
	}
	if d := e.runner.Dropped(); len(d) != 1 || d[0] != testARN("fn") {
		t.Errorf("dropped %v after a configuration update", d)
	}

	// UpdateFunctionCode.
	newZip := makeZip(t, zipEntry{name: "app.js", body: "exports.handler = async () => 1;"}, zipEntry{name: "lib/util.js", body: "x"})
	code, err := e.client.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("fn"), ZipFile: newZip})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(newZip)
	if aws.ToString(code.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) || code.CodeSize != int64(len(newZip)) {
		t.Errorf("UpdateFunctionCode sha %s size %d", aws.ToString(code.CodeSha256), code.CodeSize)
	}
	if aws.ToString(code.RevisionId) == aws.ToString(upd.RevisionId) {
		t.Error("RevisionId did not change with the code")
	}
	if d := e.runner.Dropped(); len(d) != 2 {
		t.Errorf("dropped %v after a code update", d)
	}
	fnDir := filepath.Join(e.svc.DataDir, "lambda", "fn")
	if dirs := listFiles(t, fnDir); !reflect.DeepEqual(dirs, []string{
		base64.RawURLEncoding.EncodeToString(sum[:]),
		base64.RawURLEncoding.EncodeToString(sum[:]) + "/app.js",
		base64.RawURLEncoding.EncodeToString(sum[:]) + "/lib",
		base64.RawURLEncoding.EncodeToString(sum[:]) + "/lib/util.js",
	}) {
		t.Errorf("after a code update the function's directory holds %v", dirs)
	}
	if codes, _ := e.svc.Store.List(ctx, KindCode, "fn/"); len(codes) != 1 {
		t.Errorf("%d zips stored after a code update, want 1", len(codes))
	}
	// The DryRun validates without changing anything.
	dry, err := e.client.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("fn"), ZipFile: pythonZip(t), DryRun: true})
	if err != nil || aws.ToString(dry.RevisionId) != aws.ToString(code.RevisionId) {
		t.Errorf("DryRun: %v", err)
	}

	// DeleteFunction.
	if _, err := e.client.DeleteFunction(ctx, &lambdasdk.DeleteFunctionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	if exists(fnDir) {
		t.Error("code directory left after DeleteFunction")
	}
	if codes, _ := e.svc.Store.List(ctx, KindCode, "fn/"); len(codes) != 0 {
		t.Errorf("%d zips left after DeleteFunction", len(codes))
	}
	_, err = e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("fn")})
	if c, m, s := apiError(err); c != ResourceNotFound || s != 404 || m != "Function not found: "+testARN("fn") {
		t.Errorf("GetFunction after delete: %s %q %d", c, m, s)
	}
}

func TestListFunctionsPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, n := range []string{"c", "a", "b", "d", "e"} {
		e.create(t, n)
	}
	var names []string
	var marker *string
	pages := 0
	for {
		out, err := e.client.ListFunctions(ctx, &lambdasdk.ListFunctionsInput{MaxItems: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
			if f.State != "" || f.LastUpdateStatus != "" {
				t.Errorf("ListFunctions shows State %q / LastUpdateStatus %q", f.State, f.LastUpdateStatus)
			}
		}
		if out.NextMarker == nil {
			break
		}
		marker = out.NextMarker
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "c", "d", "e"}) || pages != 3 {
		t.Errorf("listed %v in %d pages", names, pages)
	}
	all, err := e.client.ListFunctions(ctx, &lambdasdk.ListFunctionsInput{})
	if err != nil || len(all.Functions) != 5 || all.NextMarker != nil {
		t.Errorf("ListFunctions without paging: %d functions, %v", len(all.Functions), err)
	}
	_, err = e.client.ListFunctions(ctx, &lambdasdk.ListFunctionsInput{MaxItems: aws.Int32(100000)})
	if c, m, _ := apiError(err); c != ValidationError || !strings.Contains(m, "Member must have value less than or equal to 10000") {
		t.Errorf("MaxItems 100000: %s %s", c, m)
	}
}

func TestPublishedVersions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out := e.create(t, "v", func(in *lambdasdk.CreateFunctionInput) { in.Publish = true })
	if aws.ToString(out.Version) != "1" || aws.ToString(out.FunctionArn) != testARN("v")+":1" {
		t.Fatalf("Publish on create: version %s arn %s", aws.ToString(out.Version), aws.ToString(out.FunctionArn))
	}
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("v"), Timeout: aws.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	pv, err := e.client.PublishVersion(ctx, &lambdasdk.PublishVersionInput{FunctionName: aws.String("v")})
	if err != nil || aws.ToString(pv.Version) != "2" || aws.ToInt32(pv.Timeout) != 10 {
		t.Fatalf("PublishVersion: %v %v", pv, err)
	}
	again, err := e.client.PublishVersion(ctx, &lambdasdk.PublishVersionInput{FunctionName: aws.String("v")})
	if err != nil || aws.ToString(again.Version) != "2" {
		t.Errorf("publishing an unchanged $LATEST gave version %s (%v), want 2", aws.ToString(again.Version), err)
	}
	vs, err := e.client.ListVersionsByFunction(ctx, &lambdasdk.ListVersionsByFunctionInput{FunctionName: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs.Versions {
		got = append(got, aws.ToString(v.Version)+"="+aws.ToString(v.FunctionArn))
	}
	want := []string{"$LATEST=" + testARN("v") + ":$LATEST", "1=" + testARN("v") + ":1", "2=" + testARN("v") + ":2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
	v1, err := e.client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("v"), Qualifier: aws.String("1")})
	if err != nil || aws.ToInt32(v1.Timeout) != 3 {
		t.Errorf("version 1: %v %v", v1, err)
	}
	inv, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("v:1"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(inv.ExecutedVersion) != "1" {
		t.Errorf("invoke v:1: %v %v", inv, err)
	}
	if calls := e.runner.Calls(); len(calls) != 1 || calls[0].fn.ARN != testARN("v")+":1" || calls[0].fn.Version != "1" {
		t.Errorf("runner saw %+v", calls)
	}
	if _, err := e.client.DeleteFunction(ctx, &lambdasdk.DeleteFunctionInput{FunctionName: aws.String("v"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("v"), Qualifier: aws.String("1")})
	if c, m, _ := apiError(err); c != ResourceNotFound || m != "Function not found: "+testARN("v")+":1" {
		t.Errorf("deleted version: %s %s", c, m)
	}
	_, err = e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("v"), Qualifier: aws.String("7")})
	if c, m, _ := apiError(err); c != ResourceNotFound || m != "Function not found: "+testARN("v")+":7" {
		t.Errorf("unknown version: %s %s", c, m)
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "exists")
	e.create(t, "withpolicy")
	if _, err := e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{FunctionName: aws.String("withpolicy"),
		StatementId: aws.String("s1"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	create := func(mod func(*lambdasdk.CreateFunctionInput)) error {
		in := &lambdasdk.CreateFunctionInput{
			FunctionName: aws.String("new"), Runtime: "python3.12", Role: aws.String("arn:aws:iam::123456789012:role/r"),
			Handler: aws.String("lambda_function.lambda_handler"), Code: codeOf(pythonZip(t)),
		}
		mod(in)
		_, err := e.client.CreateFunction(ctx, in)
		return err
	}
	slip := makeZip(t, zipEntry{name: "../evil.py", body: "x"})
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string // exact, or a prefix ending in "…"
	}{
		{"duplicate", func() error {
			return create(func(in *lambdasdk.CreateFunctionInput) { in.FunctionName = aws.String("exists") })
		},
			ResourceConflict, 409, "Function already exist: exists"},
		{"not found", func() error {
			_, err := e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("nope")})
			return err
		}, ResourceNotFound, 404, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{"unknown runtime", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Runtime = "cobol85" }) },
			InvalidParameterValue, 400, "Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java17, nodejs16.x, java25, dotnet8, python3.10, java11, python3.11, dotnet6, java21, nodejs18.x, provided.al2, ruby3.3, ruby3.4, java8.al2, ruby3.2, python3.8, python3.9] or be a valid ARN"},
		{"deprecated runtime", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Runtime = "python3.7" }) },
			InvalidParameterValue, 400, "The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (python3.12) while creating or updating functions."},
		{"unhosted runtime", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Runtime = "java21" }) },
			InvalidParameterValue, 400, "The runtime parameter of java21 is not supported by apigw…"},
		{"timeout", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Timeout = aws.Int32(901) }) },
			ValidationError, 400, "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{"timeout zero", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Timeout = aws.Int32(0) }) },
			ValidationError, 400, "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"memory", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.MemorySize = aws.Int32(64) }) },
			ValidationError, 400, "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"no handler", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Handler = nil }) },
			InvalidParameterValue, 400, "Runtime and Handler are mandatory parameters for functions created with deployment packages."},
		{"bad role", func() error {
			return create(func(in *lambdasdk.CreateFunctionInput) { in.Role = aws.String("lambda-role") })
		},
			ValidationError, 400, "1 validation error detected: Value 'lambda-role' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"},
		{"bad name", func() error {
			return create(func(in *lambdasdk.CreateFunctionInput) { in.FunctionName = aws.String("bad name") })
		},
			InvalidParameterValue, 400, "1 validation error detected: Value 'bad name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: …"},
		{"reserved env", func() error {
			return create(func(in *lambdasdk.CreateFunctionInput) {
				in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x", "OK": "1"}}
			})
		}, InvalidParameterValue, 400, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION"},
		{"not a zip", func() error {
			return create(func(in *lambdasdk.CreateFunctionInput) { in.Code = codeOf([]byte("hello")) })
		},
			InvalidParameterValue, 400, "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"zip slip", func() error { return create(func(in *lambdasdk.CreateFunctionInput) { in.Code = codeOf(slip) }) },
			InvalidParameterValue, 400, "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"S3 code", func() error {
			return create(func(in *lambdasdk.CreateFunctionInput) {
				in.Code = &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k")}
			})
		}, InvalidParameterValue, 400, "apigw takes function code as a ZipFile only…"},
		{"stale revision", func() error {
			_, err := e.client.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("exists"),
				Timeout: aws.Int32(5), RevisionId: aws.String("00000000-0000-4000-8000-000000000000")})
			return err
		}, PreconditionFailed, 412, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"},
		{"no policy", func() error {
			_, err := e.client.GetPolicy(ctx, &lambdasdk.GetPolicyInput{FunctionName: aws.String("exists")})
			return err
		}, ResourceNotFound, 404, "The resource you requested does not exist."},
		{"remove from no policy", func() error {
			_, err := e.client.RemovePermission(ctx, &lambdasdk.RemovePermissionInput{FunctionName: aws.String("exists"), StatementId: aws.String("s1")})
			return err
		}, ResourceNotFound, 404, "No policy is associated with the given resource."},
		{"remove unknown sid", func() error {
			_, err := e.client.RemovePermission(ctx, &lambdasdk.RemovePermissionInput{FunctionName: aws.String("withpolicy"), StatementId: aws.String("s9")})
			return err
		}, ResourceNotFound, 404, "Statement s9 is not found in resource policy."},
		{"duplicate sid", func() error {
			_, err := e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{FunctionName: aws.String("withpolicy"),
				StatementId: aws.String("s1"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")})
			return err
		}, ResourceConflict, 409, "The statement id (s1) provided already exists. Please provide a new statement id, or remove the existing statement."},
		{"bad principal", func() error {
			_, err := e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{FunctionName: aws.String("withpolicy"),
				StatementId: aws.String("s2"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("somebody")})
			return err
		}, InvalidParameterValue, 400, "The provided principal was invalid. Please check the principal and try again."},
		{"invoke missing", func() error {
			_, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("ghost")})
			return err
		}, ResourceNotFound, 404, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:ghost"},
		{"invoke too large", func() error {
			big := `"` + strings.Repeat("x", MaxPayloadBytes) + `"`
			_, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("exists"), Payload: []byte(big)})
			return err
		}, RequestEntityTooLarge, 413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{"invoke not JSON", func() error {
			_, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("exists"), Payload: []byte("{nope")})
			return err
		}, InvalidRequestContent, 400, "Could not parse request body into json: Could not parse payload into json: …"},
		{"other region", func() error {
			_, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:exists")})
			return err
		}, ResourceNotFound, 404, "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"delete $LATEST", func() error {
			_, err := e.client.DeleteFunction(ctx, &lambdasdk.DeleteFunctionInput{FunctionName: aws.String("exists"), Qualifier: aws.String("$LATEST")})
			return err
		}, InvalidParameterValue, 400, "$LATEST version cannot be deleted without deleting the function."},
		{"qualifier mismatch", func() error {
			_, err := e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("exists:1"), Qualifier: aws.String("2")})
			return err
		}, InvalidParameterValue, 400, "The derived qualifier from the function name does not match the specified qualifier."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg, status := apiError(tt.call())
			if code != tt.code || status != tt.status {
				t.Errorf("got %s %d %q, want %s %d", code, status, msg, tt.code, tt.status)
			}
			if p, ok := strings.CutSuffix(tt.msg, "…"); ok {
				if !strings.HasPrefix(msg, p) {
					t.Errorf("message %q, want it to start with %q", msg, p)
				}
			} else if msg != tt.msg {
				t.Errorf("message %q\nwant    %q", msg, tt.msg)
			}
		})
	}
}

// TestErrorShape checks the wire shape of an error, and what the SDK
// validates before sending (so raw requests test it).
func TestErrorShape(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path, body string
		status             int
		typ, msg           string
	}{
		{"GET", "/2015-03-31/functions/nope", "", 404, ResourceNotFound, "Function not found: " + testARN("nope")},
		{"POST", "/2015-03-31/functions", `{"FunctionName":"x","Runtime":"python3.12","Handler":"a.b","Code":{"ZipFile":""}}`, 400, ValidationError,
			"1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null"},
		{"POST", "/2015-03-31/functions", `{"FunctionName":`, 400, InvalidRequestContent, "Could not parse request body into json: unexpected end of JSON input"},
		{"GET", "/2015-03-31/nothing", "", 404, "UnknownOperationException", "Unknown operation: GET /2015-03-31/nothing"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("x-amzn-ErrorType") != tt.typ || body["message"] != tt.msg {
			t.Errorf("%s %s: %d %s %v", tt.method, tt.path, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
		}
		if wantType := map[bool]string{true: "", false: "User"}[tt.typ == ValidationError]; body["Type"] != wantType {
			t.Errorf("%s %s: Type %q, want %q", tt.method, tt.path, body["Type"], wantType)
		}
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s %s: no x-amzn-RequestId", tt.method, tt.path)
		}
	}
}

func TestRevisionIdChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seen := map[string]string{}
	note := func(step, rev string) {
		t.Helper()
		if prev, dup := seen[rev]; dup {
			t.Errorf("%s kept the RevisionId of %s", step, prev)
		}
		seen[rev] = step
	}
	note("create", aws.ToString(e.create(t, "r").RevisionId))
	c, err := e.client.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("r"), Description: aws.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	note("configuration", aws.ToString(c.RevisionId))
	k, err := e.client.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("r"), ZipFile: makeZip(t, zipEntry{name: "x.py", body: "1"})})
	if err != nil {
		t.Fatal(err)
	}
	note("code", aws.ToString(k.RevisionId))
	// AddPermission changes the function's RevisionId, which GetPolicy shows.
	if _, err := e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{FunctionName: aws.String("r"), StatementId: aws.String("a"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"), RevisionId: k.RevisionId}); err != nil {
		t.Fatal(err)
	}
	p, err := e.client.GetPolicy(ctx, &lambdasdk.GetPolicyInput{FunctionName: aws.String("r")})
	if err != nil {
		t.Fatal(err)
	}
	note("permission", aws.ToString(p.RevisionId))
	g, err := e.client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("r")})
	if err != nil || aws.ToString(g.RevisionId) != aws.ToString(p.RevisionId) {
		t.Errorf("GetPolicy RevisionId %s, function's %s", aws.ToString(p.RevisionId), aws.ToString(g.RevisionId))
	}
	_, err = e.client.RemovePermission(ctx, &lambdasdk.RemovePermissionInput{FunctionName: aws.String("r"), StatementId: aws.String("a"), RevisionId: k.RevisionId})
	if c, m, s := apiError(err); c != PreconditionFailed || s != 412 || !strings.Contains(m, "Call the GetPolicy API") {
		t.Errorf("RemovePermission with a stale RevisionId: %s %d %s", c, s, m)
	}
}

func TestAuthorizeHook(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	type call struct{ action, resource string }
	var calls []call
	deny := ""
	e.svc.Authorize = func(r *http.Request, action, resource string) error {
		if iam.PrincipalFrom(r.Context()) == nil {
			t.Error("no principal in the request context")
		}
		calls = append(calls, call{action, resource})
		if action == deny {
			return &iam.AccessDenied{PrincipalARN: "arn:aws:iam::123456789012:user/bob", Action: action, Resource: resource, Reason: iam.ReasonNoIdentityAllow}
		}
		return nil
	}
	e.create(t, "f")
	e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("f")})
	e.client.ListFunctions(ctx, &lambdasdk.ListFunctionsInput{})
	e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Qualifier: aws.String("$LATEST")})
	e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("s"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")})
	e.client.GetPolicy(ctx, &lambdasdk.GetPolicyInput{FunctionName: aws.String("f")})
	e.client.RemovePermission(ctx, &lambdasdk.RemovePermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("s")})
	e.client.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: pythonZip(t)})
	e.client.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"), Timeout: aws.Int32(4)})
	e.client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("f")})
	e.client.DeleteFunction(ctx, &lambdasdk.DeleteFunctionInput{FunctionName: aws.String("f")})
	want := []call{
		{"lambda:CreateFunction", testARN("f")}, {"lambda:GetFunction", testARN("f")}, {"lambda:ListFunctions", "*"},
		{"lambda:InvokeFunction", testARN("f") + ":$LATEST"}, {"lambda:AddPermission", testARN("f")}, {"lambda:GetPolicy", testARN("f")},
		{"lambda:RemovePermission", testARN("f")}, {"lambda:UpdateFunctionCode", testARN("f")},
		{"lambda:UpdateFunctionConfiguration", testARN("f")}, {"lambda:GetFunctionConfiguration", testARN("f")},
		{"lambda:DeleteFunction", testARN("f")},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("Authorize calls\n%v\nwant\n%v", calls, want)
	}
	deny = "lambda:CreateFunction"
	_, err := e.client.CreateFunction(ctx, &lambdasdk.CreateFunctionInput{FunctionName: aws.String("g"), Runtime: "python3.12",
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Handler: aws.String("a.b"), Code: codeOf(pythonZip(t))})
	c, m, s := apiError(err)
	if c != AccessDenied || s != 403 || m != "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: lambda:CreateFunction on resource: "+testARN("g")+" because no identity-based policy allows the lambda:CreateFunction action" {
		t.Errorf("denied CreateFunction: %s %d %q", c, s, m)
	}
	// Without a hook only the account's root may call.
	e.svc.Authorize = nil
	r, _ := http.NewRequest("GET", "/2015-03-31/functions", nil)
	user := &iam.Principal{Kind: iam.PrincipalUser, ARN: "arn:aws:iam::123456789012:user/bob", AccountID: testAccount}
	if err := e.svc.authorize(r.WithContext(iam.WithPrincipal(r.Context(), user)), "ListFunctions", "*"); err == nil {
		t.Error("a user was allowed without an Authorize hook")
	}
}

func TestOtherNodeUnpacksFromStore(t *testing.T) {
	e := newEnv(t)
	e.create(t, "shared")
	other := &Service{Store: e.svc.Store, AccountID: testAccount, Region: testRegion, Runner: &fakeRunner{}, DataDir: t.TempDir()}
	res, err := other.Invoke(context.Background(), &InvokeRequest{FunctionName: "shared", Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	calls := other.Runner.(*fakeRunner).Calls()
	if string(res.Payload) != `{"x":1}` || len(calls) != 1 || !reflect.DeepEqual(calls[0].files, []string{"lambda_function.py"}) ||
		!strings.HasPrefix(calls[0].fn.CodeDir, other.DataDir) {
		t.Errorf("other node: %s %+v", res.Payload, calls)
	}
	if _, err := os.Stat(calls[0].fn.CodeDir); err != nil {
		t.Error(err)
	}
	// A code change made through the first node makes the second drop its
	// workers before its next invocation.
	if _, err := e.client.UpdateFunctionCode(context.Background(), &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("shared"),
		ZipFile: makeZip(t, zipEntry{name: "new.py", body: "1"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Invoke(context.Background(), &InvokeRequest{FunctionName: "shared"}); err != nil {
		t.Fatal(err)
	}
	r := other.Runner.(*fakeRunner)
	if d := r.Dropped(); len(d) != 1 || d[0] != testARN("shared") {
		t.Errorf("second node dropped %v", d)
	}
	if calls := r.Calls(); calls[1].fn.Revision == calls[0].fn.Revision || !reflect.DeepEqual(calls[1].files, []string{"new.py"}) {
		t.Errorf("second invocation ran %+v", calls[1])
	}
}
