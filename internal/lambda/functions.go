package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/apigw/apigw/internal/pagetoken"
	"github.com/apigw/apigw/internal/store"
)

// LastModifiedFormat is how Lambda writes FunctionConfiguration.LastModified.
const LastModifiedFormat = "2006-01-02T15:04:05.000-0700"

// FunctionConfiguration is Lambda's FunctionConfiguration shape.
type FunctionConfiguration struct {
	FunctionName     string
	FunctionArn      string
	Runtime          string
	Role             string
	Handler          string
	CodeSize         int64
	Description      string
	Timeout          int
	MemorySize       int
	LastModified     string
	CodeSha256       string
	Version          string
	Environment      *Environment `json:",omitempty"`
	TracingConfig    TracingConfig
	RevisionId       string
	State            string `json:",omitempty"`
	LastUpdateStatus string `json:",omitempty"`
	PackageType      string
	Architectures    []string
	EphemeralStorage EphemeralStorage
	SnapStart        SnapStart
	LoggingConfig    LoggingConfig
}

// Environment is a function's environment variables.
type Environment struct {
	Variables map[string]string
}

// TracingConfig is the X-Ray mode (recorded, no tracing happens).
type TracingConfig struct{ Mode string }

// EphemeralStorage is the size of /tmp in MB (recorded).
type EphemeralStorage struct{ Size int }

// SnapStart is the SnapStart setting (recorded).
type SnapStart struct{ ApplyOn, OptimizationStatus string }

// LoggingConfig is where the function's logs go (recorded).
type LoggingConfig struct{ LogFormat, LogGroup string }

// functionRecord is a function as stored: $LATEST, the published versions,
// and each one's resource policy statements.
type functionRecord struct {
	Name        string     `json:"name"`
	Latest      *version   `json:"latest"`
	Versions    []*version `json:"versions,omitempty"`
	LastVersion int        `json:"lastVersion,omitempty"`
	// Reserved is the function's reserved concurrency
	// (PutFunctionConcurrency), for all its versions; nil when none.
	Reserved *int `json:"reservedConcurrency,omitempty"`
}

type version struct {
	Config FunctionConfiguration `json:"config"`
	// Statements of the resource policy, as AddPermission built them.
	Statements []json.RawMessage `json:"statements,omitempty"`
}

// version returns $LATEST ("" or "$LATEST") or a published version.
func (f *functionRecord) version(q string) *version {
	if q == "" || q == "$LATEST" {
		return f.Latest
	}
	for _, v := range f.Versions {
		if v.Config.Version == q {
			return v
		}
	}
	return nil
}

// usesCode reports whether any version runs the code sha.
func (f *functionRecord) usesCode(sha string) bool {
	if f.Latest.Config.CodeSha256 == sha {
		return true
	}
	for _, v := range f.Versions {
		if v.Config.CodeSha256 == sha {
			return true
		}
	}
	return false
}

// lookup resolves a function and one of its versions.
func (s *Service) lookup(ctx context.Context, ref fnRef) (*functionRecord, *version, error) {
	rec, err := s.getRecord(ctx, s.Store, ref.Name)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && ref.Qualifier != "" {
			return nil, nil, errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
		}
		return nil, nil, err
	}
	v := rec.version(ref.Qualifier)
	if v == nil {
		return nil, nil, errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
	}
	return rec, v, nil
}

// cachedRecord is a function record read for invocations, valid until the
// next commit through this store or for a second (commits by other nodes).
type cachedRecord struct {
	rec     *functionRecord
	changed <-chan struct{}
	at      time.Time
}

// lookupForInvoke is lookup for the invocation path: it keeps decoded
// records, so a warm function costs no store read. The record it returns
// must not be changed.
func (s *Service) lookupForInvoke(ctx context.Context, ref fnRef) (*functionRecord, *version, error) {
	var rec *functionRecord
	if c, ok := s.records.Load(ref.Name); ok {
		cr := c.(*cachedRecord)
		select {
		case <-cr.changed:
		default:
			if time.Since(cr.at) < time.Second {
				rec = cr.rec
			}
		}
	}
	if rec == nil {
		changed := s.Store.Changed()
		r, err := s.getRecord(ctx, s.Store, ref.Name)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && ref.Qualifier != "" {
				return nil, nil, errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
			}
			return nil, nil, err
		}
		s.records.Store(ref.Name, &cachedRecord{rec: r, changed: changed, at: time.Now()})
		rec = r
	}
	v := rec.version(ref.Qualifier)
	if v == nil {
		return nil, nil, errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
	}
	return rec, v, nil
}

// output is the configuration as an operation answers it: with the
// qualified ARN when a qualifier was given.
func (s *Service) output(v *version, qualifier string) FunctionConfiguration {
	c := v.Config
	if qualifier != "" {
		c.FunctionArn = s.qualifiedARN(c.FunctionName, qualifier)
	}
	c.State, c.LastUpdateStatus = "Active", "Successful"
	return c
}

// listOutput is the configuration as list operations show it: without the
// state fields.
func listOutput(v *version) FunctionConfiguration {
	c := v.Config
	c.State, c.LastUpdateStatus = "", ""
	return c
}

type functionCode struct {
	ZipFile         []byte
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
	ImageUri        string
}

type createFunctionInput struct {
	FunctionName     *string
	Runtime          string
	Role             *string
	Handler          string
	Code             *functionCode
	Description      *string
	Timeout          *int
	MemorySize       *int
	Publish          bool
	PackageType      string
	Environment      *Environment
	Architectures    []string
	TracingConfig    *TracingConfig
	EphemeralStorage *EphemeralStorage
}

const rolePattern = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`

var roleRE = regexp.MustCompile(`^` + rolePattern + `$`)

func validRole(s string) bool { return roleRE.MatchString(s) }

// settings are the members CreateFunction and UpdateFunctionConfiguration
// share, validated the same way.
type settings struct {
	Runtime     *string
	Role        *string
	Handler     *string
	Description *string
	Timeout     *int
	MemorySize  *int
	Environment *Environment
	Tracing     *TracingConfig
	Ephemeral   *EphemeralStorage
}

func (st *settings) validate() error {
	if st.Role != nil && !validRole(*st.Role) {
		return validation(quoted(*st.Role), "role", "Member must satisfy regular expression pattern: "+rolePattern)
	}
	if t := st.Timeout; t != nil {
		if *t < 1 {
			return validation(quoted(strconv.Itoa(*t)), "timeout", "Member must have value greater than or equal to 1")
		}
		if *t > 900 {
			return validation(quoted(strconv.Itoa(*t)), "timeout", "Member must have value less than or equal to 900")
		}
	}
	if m := st.MemorySize; m != nil {
		if *m < 128 {
			return validation(quoted(strconv.Itoa(*m)), "memorySize", "Member must have value greater than or equal to 128")
		}
		if *m > 10240 {
			return validation(quoted(strconv.Itoa(*m)), "memorySize", "Member must have value less than or equal to 10240")
		}
	}
	if d := st.Description; d != nil && len([]rune(*d)) > 256 {
		return validation(quoted(*d), "description", "Member must have length less than or equal to 256")
	}
	if h := st.Handler; h != nil {
		if len(*h) > 128 {
			return validation(quoted(*h), "handler", "Member must have length less than or equal to 128")
		}
		if *h != "" && strings.IndexFunc(*h, unicode.IsSpace) >= 0 {
			return validation(quoted(*h), "handler", `Member must satisfy regular expression pattern: [^\s]+`)
		}
	}
	if e := st.Ephemeral; e != nil && (e.Size < 512 || e.Size > 10240) {
		return validation(quoted(strconv.Itoa(e.Size)), "ephemeralStorage.size", "Member must have value between 512 and 10240")
	}
	if t := st.Tracing; t != nil && t.Mode != "" && t.Mode != "Active" && t.Mode != "PassThrough" {
		return validation(quoted(t.Mode), "tracingConfig.mode", "Member must satisfy enum value set: [Active, PassThrough]")
	}
	if st.Runtime != nil {
		if err := checkRuntime(*st.Runtime); err != nil {
			return err
		}
	}
	if st.Environment != nil {
		if err := checkEnvironment(st.Environment.Variables); err != nil {
			return err
		}
	}
	return nil
}

// apply writes the settings given into c.
func (st *settings) apply(c *FunctionConfiguration) {
	if st.Runtime != nil {
		c.Runtime = *st.Runtime
	}
	if st.Role != nil {
		c.Role = *st.Role
	}
	if st.Handler != nil {
		c.Handler = *st.Handler
	}
	if st.Description != nil {
		c.Description = *st.Description
	}
	if st.Timeout != nil {
		c.Timeout = *st.Timeout
	}
	if st.MemorySize != nil {
		c.MemorySize = *st.MemorySize
	}
	if st.Environment != nil {
		vars := st.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		c.Environment = &Environment{Variables: vars}
	}
	if st.Tracing != nil && st.Tracing.Mode != "" {
		c.TracingConfig.Mode = st.Tracing.Mode
	}
	if st.Ephemeral != nil {
		c.EphemeralStorage.Size = st.Ephemeral.Size
	}
}

// Runtimes AWS accepts, in the order its error message lists them.
const validRuntimes = "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java17, nodejs16.x, java25, dotnet8, python3.10, java11, python3.11, dotnet6, java21, nodejs18.x, provided.al2, ruby3.3, ruby3.4, java8.al2, ruby3.2, python3.8, python3.9]"

// deprecatedRuntimes maps runtimes AWS no longer accepts to the one it
// recommends instead.
var deprecatedRuntimes = map[string]string{
	"java8": "java21", "go1.x": "provided.al2023", "provided": "provided.al2023", "ruby2.7": "ruby3.2",
	"nodejs14.x": "nodejs20.x", "python3.7": "python3.12", "dotnetcore3.1": "dotnet6", "nodejs12.x": "nodejs18.x",
	"python3.6": "python3.9", "python2.7": "python3.9", "nodejs10.x": "nodejs14.x", "dotnetcore2.1": "dotnetcore3.1",
	"ruby2.5": "ruby2.7", "nodejs8.10": "nodejs10.x",
}

// checkRuntime accepts the runtimes AWS accepts that apigw can host:
// python3.x, nodejs*.x and provided.al2/provided.al2023.
func checkRuntime(rt string) error {
	if up, ok := deprecatedRuntimes[rt]; ok {
		return invalidParam("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (%s) while creating or updating functions.", rt, up)
	}
	if !strings.Contains(validRuntimes, " "+rt+",") && !strings.Contains(validRuntimes, "["+rt+",") && !strings.Contains(validRuntimes, " "+rt+"]") {
		return invalidParam("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: %s or be a valid ARN", rt, validRuntimes)
	}
	if !HostedRuntime(rt) {
		return invalidParam("The runtime parameter of %s is not supported by apigw, which runs python3.x, nodejs*.x, provided.al2 and provided.al2023 functions.", rt)
	}
	return nil
}

// HostedRuntime reports whether apigw's function host runs rt.
func HostedRuntime(rt string) bool {
	return strings.HasPrefix(rt, "python3.") || strings.HasPrefix(rt, "nodejs") ||
		rt == "provided.al2" || rt == "provided.al2023"
}

// reservedEnv are the variables Lambda sets itself.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
}

func checkEnvironment(vars map[string]string) error {
	var reserved []string
	for _, k := range reservedEnv {
		if _, ok := vars[k]; ok {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validEnvKey(k) {
			return validation("'[SENSITIVE]'", "environment.variables", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
	}
	if b, _ := json.Marshal(vars); len(b) > 4096 {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", b)
	}
	return nil
}

func validEnvKey(k string) bool {
	if len(k) < 2 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

func (s *Service) createFunction(r *http.Request, body []byte) (int, any, error) {
	var in createFunctionInput
	if err := decode(body, &in); err != nil {
		return 0, nil, err
	}
	if in.FunctionName == nil {
		return 0, nil, validation("null", "functionName", "Member must not be null")
	}
	if in.Role == nil {
		return 0, nil, validation("null", "role", "Member must not be null")
	}
	if in.Code == nil {
		return 0, nil, validation("null", "code", "Member must not be null")
	}
	raw := *in.FunctionName
	ref, ok := parseFunctionName(raw)
	switch {
	case (!ok || !validName(ref.Name, false)) && !strings.Contains(raw, ":"):
		e := validation(quoted(raw), "functionName", "Member must satisfy regular expression pattern: "+fnNamePattern)
		e.Status, e.Type = http.StatusBadRequest, InvalidParameterValue
		return 0, nil, e
	case !ok || ref.Qualifier != "" || !validName(ref.Name, false):
		return 0, nil, validation(quoted(raw), "functionName", "Member must satisfy regular expression pattern: "+fnNamePattern)
	case len(ref.Name) > 64:
		return 0, nil, invalidParam("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64", ref.Name)
	}
	if _, err := s.resolve(raw, ""); err != nil {
		return 0, nil, err
	}
	name := ref.Name
	arn := s.functionARN(name)
	if err := s.authorize(r, "CreateFunction", arn); err != nil {
		return 0, nil, err
	}
	st := settings{Role: in.Role, Description: in.Description, Timeout: in.Timeout, MemorySize: in.MemorySize,
		Environment: in.Environment, Tracing: in.TracingConfig, Ephemeral: in.EphemeralStorage}
	if in.Handler != "" {
		st.Handler = &in.Handler
	}
	if err := st.validate(); err != nil {
		return 0, nil, err
	}
	if len(in.Architectures) > 1 {
		return 0, nil, validation("'["+strings.Join(in.Architectures, ", ")+"]'", "architectures", "Member must have length less than or equal to 1")
	}
	arch := []string{"x86_64"}
	if len(in.Architectures) == 1 {
		if a := in.Architectures[0]; a != "x86_64" && a != "arm64" {
			return 0, nil, validation("'["+a+"]'", "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
		}
		arch = in.Architectures
	}
	switch in.PackageType {
	case "", "Zip":
	case "Image":
		return 0, nil, invalidParam("apigw runs functions from .zip deployment packages only (PackageType Zip).")
	default:
		return 0, nil, validation(quoted(in.PackageType), "packageType", "Member must satisfy enum value set: [Zip, Image]")
	}
	if in.Runtime == "" || in.Handler == "" {
		return 0, nil, invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := checkRuntime(in.Runtime); err != nil {
		return 0, nil, err
	}
	zip, err := zipFromCode(in.Code)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	if _, err := s.Store.Get(ctx, KindFunction, name); err == nil {
		return 0, nil, conflict("Function already exist: %s", name)
	}
	code, err := s.unpackNew(name, zip)
	if err != nil {
		return 0, nil, err
	}
	cfg := FunctionConfiguration{
		FunctionName: name, FunctionArn: arn, Runtime: in.Runtime, Role: *in.Role, Handler: in.Handler,
		CodeSize: code.size, Timeout: 3, MemorySize: 128, LastModified: s.now().UTC().Format(LastModifiedFormat),
		CodeSha256: code.sha, Version: "$LATEST", TracingConfig: TracingConfig{Mode: "PassThrough"},
		RevisionId: newUUID(), PackageType: "Zip", Architectures: arch, EphemeralStorage: EphemeralStorage{Size: 512},
		SnapStart:     SnapStart{ApplyOn: "None", OptimizationStatus: "Off"},
		LoggingConfig: LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + name},
	}
	st.apply(&cfg)
	rec := &functionRecord{Name: name, Latest: &version{Config: cfg}}
	out, qualifier := rec.Latest, ""
	if in.Publish {
		out = rec.publish(s)
		qualifier = out.Config.Version
	}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := tx.Create(ctx, KindFunction, name, b); err != nil {
			if errors.Is(err, store.ErrExists) {
				return conflict("Function already exist: %s", name)
			}
			return err
		}
		return tx.Put(ctx, KindCode, codeKey(name, code.sha), zip)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.output(out, qualifier), nil
}

// publish adds a version made of $LATEST as it is and returns it.
func (f *functionRecord) publish(s *Service) *version {
	f.LastVersion++
	c := f.Latest.Config
	c.Version = strconv.Itoa(f.LastVersion)
	c.FunctionArn = s.qualifiedARN(f.Name, c.Version)
	c.RevisionId = newUUID()
	v := &version{Config: c}
	f.Versions = append(f.Versions, v)
	return v
}

func zipFromCode(c *functionCode) ([]byte, error) {
	switch {
	case c.ImageUri != "":
		return nil, invalidParam("Please don't provide ImageUri when updating a function with packageType Zip.")
	case c.S3Bucket != "" || c.S3Key != "":
		if c.ZipFile != nil {
			return nil, invalidParam("Please do not provide other FunctionCode parameters when providing a function ZipFile.")
		}
		return nil, invalidParam("apigw takes function code as a ZipFile only: S3Bucket and S3Key are not supported.")
	case c.ZipFile == nil:
		return nil, invalidParam("Please provide a source for function code.")
	case len(c.ZipFile) > MaxZipBytes:
		return nil, newError(http.StatusRequestEntityTooLarge, RequestEntityTooLarge, "Zipped size must be smaller than %d bytes", MaxZipBytes)
	}
	return c.ZipFile, nil
}

// getFunctionOutput is GetFunction's answer.
type getFunctionOutput struct {
	Configuration FunctionConfiguration
	Code          codeLocation
	Concurrency   *concurrency `json:",omitempty"`
}

type codeLocation struct {
	RepositoryType string
	Location       string
}

func (s *Service) getFunction(r *http.Request, _ []byte) (int, any, error) {
	ref, rec, v, err := s.operandRecord(r, "GetFunction")
	if err != nil {
		return 0, nil, err
	}
	out := getFunctionOutput{
		Configuration: s.output(v, ref.Qualifier),
		Code:          codeLocation{RepositoryType: "S3", Location: s.codeURL(r, ref.Name, v.Config.CodeSha256)},
	}
	// Reserved concurrency is the function's: a version does not show it.
	if rec.Reserved != nil && ref.Qualifier == "" {
		out.Concurrency = &concurrency{ReservedConcurrentExecutions: rec.Reserved}
	}
	return http.StatusOK, out, nil
}

func (s *Service) getFunctionConfiguration(r *http.Request, _ []byte) (int, any, error) {
	ref, v, err := s.operand(r, "GetFunctionConfiguration")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.output(v, ref.Qualifier), nil
}

// operand resolves the {name} path parameter and the Qualifier query
// parameter of r, authorizes action on the function, and finds it.
func (s *Service) operand(r *http.Request, action string) (fnRef, *version, error) {
	ref, _, v, err := s.operandRecord(r, action)
	return ref, v, err
}

// operandRecord is operand with the function's record.
func (s *Service) operandRecord(r *http.Request, action string) (fnRef, *functionRecord, *version, error) {
	ref, err := s.resolve(r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return ref, nil, nil, err
	}
	if err := s.authorize(r, action, s.qualifiedARN(ref.Name, ref.Qualifier)); err != nil {
		return ref, nil, nil, err
	}
	rec, v, err := s.lookup(r.Context(), ref)
	return ref, rec, v, err
}

// maxItems reads the MaxItems query parameter (1..10000, default 50).
func maxItems(r *http.Request) (int, error) {
	s := r.URL.Query().Get("MaxItems")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, validation(quoted(s), "maxItems", "Member must be a number")
	}
	if n < 1 {
		return 0, validation(quoted(s), "maxItems", "Member must have value greater than or equal to 1")
	}
	if n > 10000 {
		return 0, validation(quoted(s), "maxItems", "Member must have value less than or equal to 10000")
	}
	return n, nil
}

// listed is an item of a list operation with its sort key.
type listed struct {
	key string
	cfg FunctionConfiguration
}

// pageOf applies Marker and MaxItems to items sorted by key. A marker is an
// opaque token for the last key returned; one apigw did not hand out is
// refused.
func pageOf(r *http.Request, items []listed) ([]FunctionConfiguration, string, error) {
	n, err := maxItems(r)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if m := r.URL.Query().Get("Marker"); m != "" {
		k, ok := pagetoken.Decode(m)
		if !ok {
			return nil, "", invalidParam("Invalid pagination marker: %s", m)
		}
		start = sort.Search(len(items), func(i int) bool { return items[i].key > k })
	}
	end := min(start+n, len(items))
	out := make([]FunctionConfiguration, 0, end-start)
	for _, it := range items[start:end] {
		out = append(out, it.cfg)
	}
	next := ""
	if end < len(items) {
		next = pagetoken.Encode(items[end-1].key)
	}
	return out, next, nil
}

func versionKey(name, v string) string {
	if v == "$LATEST" {
		v = "0"
	}
	return fmt.Sprintf("%s/%010s", name, v)
}

func (s *Service) listFunctions(r *http.Request, _ []byte) (int, any, error) {
	if err := s.authorize(r, "ListFunctions", "*"); err != nil {
		return 0, nil, err
	}
	all := false
	switch fv := r.URL.Query().Get("FunctionVersion"); fv {
	case "":
	case "ALL":
		all = true
	default:
		return 0, nil, validation(quoted(fv), "functionVersion", "Member must satisfy enum value set: [ALL]")
	}
	items, err := s.Store.List(r.Context(), KindFunction, "")
	if err != nil {
		return 0, nil, err
	}
	var list []listed
	for _, it := range items {
		var rec functionRecord
		if err := json.Unmarshal(it.Value, &rec); err != nil {
			return 0, nil, fmt.Errorf("lambda: decode function %s: %w", it.Key, err)
		}
		list = append(list, listed{versionKey(rec.Name, "$LATEST"), listOutput(rec.Latest)})
		if all {
			list[len(list)-1].cfg.FunctionArn = s.qualifiedARN(rec.Name, "$LATEST")
			for _, v := range rec.Versions {
				list = append(list, listed{versionKey(rec.Name, v.Config.Version), listOutput(v)})
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].key < list[j].key })
	fns, next, err := pageOf(r, list)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Functions  []FunctionConfiguration
		NextMarker string `json:",omitempty"`
	}{fns, next}, nil
}

func (s *Service) listVersions(r *http.Request, _ []byte) (int, any, error) {
	ref, err := s.resolve(r.PathValue("name"), "")
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, "ListVersionsByFunction", s.functionARN(ref.Name)); err != nil {
		return 0, nil, err
	}
	rec, err := s.getRecord(r.Context(), s.Store, ref.Name)
	if err != nil {
		return 0, nil, err
	}
	list := []listed{{versionKey(rec.Name, "$LATEST"), listOutput(rec.Latest)}}
	list[0].cfg.FunctionArn = s.qualifiedARN(rec.Name, "$LATEST")
	for _, v := range rec.Versions {
		list = append(list, listed{versionKey(rec.Name, v.Config.Version), listOutput(v)})
	}
	vs, next, err := pageOf(r, list)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Versions   []FunctionConfiguration
		NextMarker string `json:",omitempty"`
	}{vs, next}, nil
}

// update runs fn on the function's record in a transaction and stores it.
func (s *Service) update(ctx context.Context, name string, fn func(tx store.Tx, rec *functionRecord) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := s.getRecord(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := fn(tx, rec); err != nil {
			return err
		}
		return putRecord(ctx, tx, rec)
	})
}

type updateConfigurationInput struct {
	Runtime          *string
	Role             *string
	Handler          *string
	Description      *string
	Timeout          *int
	MemorySize       *int
	Environment      *Environment
	TracingConfig    *TracingConfig
	EphemeralStorage *EphemeralStorage
	RevisionId       string
}

// unqualifiedTarget resolves the function an update operation names, which
// may not carry a qualifier, and authorizes action on it.
func (s *Service) unqualifiedTarget(r *http.Request, action string) (fnRef, string, error) {
	ref, err := s.resolve(r.PathValue("name"), "")
	if err != nil {
		return fnRef{}, "", err
	}
	if ref.Qualifier != "" {
		return fnRef{}, "", validation(quoted(r.PathValue("name")), "functionName", "Member must satisfy regular expression pattern: "+fnNamePattern)
	}
	arn := s.functionARN(ref.Name)
	if err := s.authorize(r, action, arn); err != nil {
		return fnRef{}, "", err
	}
	return ref, arn, nil
}

func (s *Service) updateFunctionConfiguration(r *http.Request, body []byte) (int, any, error) {
	ref, arn, err := s.unqualifiedTarget(r, "UpdateFunctionConfiguration")
	if err != nil {
		return 0, nil, err
	}
	var in updateConfigurationInput
	if err := decode(body, &in); err != nil {
		return 0, nil, err
	}
	st := settings{Runtime: in.Runtime, Role: in.Role, Handler: in.Handler, Description: in.Description, Timeout: in.Timeout,
		MemorySize: in.MemorySize, Environment: in.Environment, Tracing: in.TracingConfig, Ephemeral: in.EphemeralStorage}
	if err := st.validate(); err != nil {
		return 0, nil, err
	}
	if st.Handler != nil && *st.Handler == "" {
		return 0, nil, invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	var out *version
	err = s.update(r.Context(), ref.Name, func(_ store.Tx, rec *functionRecord) error {
		c := &rec.Latest.Config
		if in.RevisionId != "" && in.RevisionId != c.RevisionId {
			return errRevision("GetFunction/GetAlias")
		}
		st.apply(c)
		c.RevisionId = newUUID()
		c.LastModified = s.now().UTC().Format(LastModifiedFormat)
		out = rec.Latest
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	s.drop(arn)
	return http.StatusOK, s.output(out, ""), nil
}

type updateCodeInput struct {
	functionCode
	Publish       bool
	DryRun        bool
	RevisionId    string
	Architectures []string
}

func (s *Service) updateFunctionCode(r *http.Request, body []byte) (int, any, error) {
	ref, arn, err := s.unqualifiedTarget(r, "UpdateFunctionCode")
	if err != nil {
		return 0, nil, err
	}
	var in updateCodeInput
	if err := decode(body, &in); err != nil {
		return 0, nil, err
	}
	zip, err := zipFromCode(&in.functionCode)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	rec, err := s.getRecord(ctx, s.Store, ref.Name)
	if err != nil {
		return 0, nil, err
	}
	if in.RevisionId != "" && in.RevisionId != rec.Latest.Config.RevisionId {
		return 0, nil, errRevision("GetFunction/GetAlias")
	}
	if in.DryRun {
		sum := sha256.Sum256(zip)
		if err := checkZip(zip, s.DataDir); err != nil {
			return 0, nil, err
		}
		c := s.output(rec.Latest, "")
		c.CodeSha256, c.CodeSize = base64.StdEncoding.EncodeToString(sum[:]), int64(len(zip))
		return http.StatusOK, c, nil
	}
	code, err := s.unpackNew(ref.Name, zip)
	if err != nil {
		return 0, nil, err
	}
	var out *version
	var oldSha string
	qualifier := ""
	err = s.update(ctx, ref.Name, func(tx store.Tx, rec *functionRecord) error {
		c := &rec.Latest.Config
		if in.RevisionId != "" && in.RevisionId != c.RevisionId {
			return errRevision("GetFunction/GetAlias")
		}
		oldSha = c.CodeSha256
		c.CodeSha256, c.CodeSize = code.sha, code.size
		if len(in.Architectures) == 1 && (in.Architectures[0] == "x86_64" || in.Architectures[0] == "arm64") {
			c.Architectures = in.Architectures
		}
		c.RevisionId = newUUID()
		c.LastModified = s.now().UTC().Format(LastModifiedFormat)
		out = rec.Latest
		if in.Publish {
			out = rec.publish(s)
			qualifier = out.Config.Version
		}
		if err := tx.Put(ctx, KindCode, codeKey(ref.Name, code.sha), zip); err != nil {
			return err
		}
		if oldSha != code.sha && !rec.usesCode(oldSha) {
			if err := tx.Delete(ctx, KindCode, codeKey(ref.Name, oldSha)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		} else {
			oldSha = ""
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	s.drop(arn)
	if oldSha != "" {
		s.removeCodeDir(ref.Name, oldSha)
	}
	return http.StatusOK, s.output(out, qualifier), nil
}

func (s *Service) deleteFunction(r *http.Request, _ []byte) (int, any, error) {
	ref, err := s.resolve(r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, "DeleteFunction", s.qualifiedARN(ref.Name, ref.Qualifier)); err != nil {
		return 0, nil, err
	}
	if ref.Qualifier == "$LATEST" {
		return 0, nil, invalidParam("$LATEST version cannot be deleted without deleting the function.")
	}
	ctx := r.Context()
	if ref.Qualifier != "" {
		var gone string
		err := s.update(ctx, ref.Name, func(tx store.Tx, rec *functionRecord) error {
			for i, v := range rec.Versions {
				if v.Config.Version == ref.Qualifier {
					rec.Versions = append(rec.Versions[:i], rec.Versions[i+1:]...)
					if sha := v.Config.CodeSha256; !rec.usesCode(sha) {
						gone = sha
						return tx.Delete(ctx, KindCode, codeKey(ref.Name, sha))
					}
					return nil
				}
			}
			return errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
		})
		if err != nil {
			return 0, nil, err
		}
		s.drop(s.qualifiedARN(ref.Name, ref.Qualifier))
		if gone != "" {
			s.removeCodeDir(ref.Name, gone)
		}
		return http.StatusNoContent, nil, nil
	}
	var rec *functionRecord
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if rec, err = s.getRecord(ctx, tx, ref.Name); err != nil {
			return err
		}
		if err := tx.Delete(ctx, KindFunction, ref.Name); err != nil {
			return err
		}
		codes, err := tx.List(ctx, KindCode, ref.Name+"/")
		if err != nil {
			return err
		}
		for _, c := range codes {
			if err := tx.Delete(ctx, KindCode, c.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	s.drop(s.functionARN(ref.Name))
	for _, v := range rec.Versions {
		s.drop(v.Config.FunctionArn)
	}
	s.removeFunctionDir(ref.Name)
	s.Metrics.Forget(ref.Name)
	return http.StatusNoContent, nil, nil
}

type publishVersionInput struct {
	CodeSha256  string
	Description *string
	RevisionId  string
}

func (s *Service) publishVersion(r *http.Request, body []byte) (int, any, error) {
	ref, err := s.resolve(r.PathValue("name"), "")
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, "PublishVersion", s.functionARN(ref.Name)); err != nil {
		return 0, nil, err
	}
	var in publishVersionInput
	if err := decode(body, &in); err != nil {
		return 0, nil, err
	}
	var out *version
	err = s.update(r.Context(), ref.Name, func(_ store.Tx, rec *functionRecord) error {
		c := rec.Latest.Config
		if in.RevisionId != "" && in.RevisionId != c.RevisionId {
			return errRevision("GetFunction/GetAlias")
		}
		if in.CodeSha256 != "" && in.CodeSha256 != c.CodeSha256 {
			return invalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", in.CodeSha256, c.CodeSha256)
		}
		// Publishing an unchanged $LATEST answers the last version.
		if n := len(rec.Versions); n > 0 && sameRun(&rec.Versions[n-1].Config, &c) && in.Description == nil {
			out = rec.Versions[n-1]
			return nil
		}
		out = rec.publish(s)
		if in.Description != nil {
			out.Config.Description = *in.Description
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.output(out, out.Config.Version), nil
}

// fingerprint identifies what running a configuration depends on.
func fingerprint(c *FunctionConfiguration) string {
	env := ""
	if c.Environment != nil {
		b, _ := json.Marshal(c.Environment.Variables)
		env = string(b)
	}
	return strings.Join([]string{c.CodeSha256, c.Runtime, c.Handler, strconv.Itoa(c.Timeout), strconv.Itoa(c.MemorySize), env, c.Role}, "\x00")
}

func sameRun(a, b *FunctionConfiguration) bool {
	return fingerprint(a) == fingerprint(b) && a.Description == b.Description
}
