package iam

import (
	"context"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

// STS: caller identity and temporary credentials.

type credentialsXML struct {
	AccessKeyID     string  `xml:"AccessKeyId"`
	SecretAccessKey string  `xml:"SecretAccessKey"`
	SessionToken    string  `xml:"SessionToken"`
	Expiration      awsTime `xml:"Expiration"`
}

func opGetCallerIdentity(c *call) (any, error) {
	// No permission is needed, and an explicit deny does not stop it:
	// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
	return struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}{c.p.ARN, c.p.UserID, c.p.AccountID}, nil
}

// createSession stores rec with fresh secret and token, and returns them.
func (s *Service) createSession(ctx context.Context, rec *sessionRec) (credentialsXML, error) {
	aead, err := s.cipher()
	if err != nil {
		return credentialsXML{}, err
	}
	secret, token := newSecret(), newSessionToken()
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		for attempt := 0; ; attempt++ {
			rec.ID = newSessionKeyID()
			var err error
			if rec.Secret, err = seal(aead, secret, KindSession+"/"+rec.ID+"/secret"); err != nil {
				return err
			}
			if rec.Token, err = seal(aead, token, KindSession+"/"+rec.ID+"/token"); err != nil {
				return err
			}
			err = createJSON(ctx, tx, KindSession, rec.ID, rec)
			if err == nil || attempt >= 3 || !isExists(err) {
				return err
			}
		}
	})
	if err != nil {
		return credentialsXML{}, err
	}
	return credentialsXML{AccessKeyID: rec.ID, SecretAccessKey: secret, SessionToken: token, Expiration: awsTime(rec.Expires)}, nil
}

// GetSessionToken durations, in seconds
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html).
const (
	sessionTokenMin     = 900
	sessionTokenMax     = 129600
	sessionTokenDefault = 43200
	sessionTokenRootMax = 3600
)

func opGetSessionToken(c *call) (any, error) {
	dur, err := c.intParam("DurationSeconds", "durationSeconds", sessionTokenDefault, sessionTokenMin, sessionTokenMax)
	if err != nil {
		return nil, err
	}
	// No permission is needed: policies do not control authentication
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getsessiontoken.html);
	// but temporary credentials cannot ask for more.
	if c.p.Temporary {
		return nil, &AccessDenied{Message: "Cannot call GetSessionToken with session credentials"}
	}
	now := c.s.now().UTC()
	rec := &sessionRec{Kind: c.p.Kind, Issued: now, SourceAccessKeyID: c.p.AccessKeyID}
	switch c.p.Kind {
	case PrincipalRoot:
		// Sessions of the account owner last at most one hour.
		dur = min(dur, sessionTokenRootMax)
	case PrincipalUser:
		rec.UserName, rec.UserID, rec.UserARN = c.p.Name, c.p.UserID, c.p.ARN
	default:
		return nil, &AccessDenied{Message: "Cannot call GetSessionToken with session credentials"}
	}
	rec.Expires = now.Add(time.Duration(dur) * time.Second).Truncate(time.Second)
	creds, err := c.s.createSession(c.ctx(), rec)
	if err != nil {
		return nil, err
	}
	return struct {
		Credentials credentialsXML `xml:"Credentials"`
	}{creds}, nil
}

// AssumeRole limits
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
const (
	assumeRoleMin           = 900
	assumeRoleMax           = 43200
	assumeRoleDefault       = 3600
	roleChainingMax         = 3600
	sessionPolicyMaxLength  = 2048
	sessionPolicyArnsMax    = 10
	packedPolicyPercentBase = 2048
)

// parseRoleARN splits arn:aws:iam::{account}:role{path}{name}.
func parseRoleARN(arn string) (account, path, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:iam::")
	if !found {
		return "", "", "", false
	}
	account, rest, found = strings.Cut(rest, ":role/")
	if !found || account == "" {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" {
		return "", "", "", false
	}
	return account, path, name, true
}

func checkSessionName(v string) error {
	if len(v) < 2 {
		return constraint("roleSessionName", v, false, "Member must have length greater than or equal to 2")
	}
	if len(v) > 64 {
		return constraint("roleSessionName", v, false, "Member must have length less than or equal to 64")
	}
	if !nameChars(v) {
		return constraint("roleSessionName", v, false, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	return nil
}

func opAssumeRole(c *call) (any, error) {
	roleArn, err := c.required("RoleArn", "roleArn")
	if err != nil {
		return nil, err
	}
	if len(roleArn) < 20 || len(roleArn) > 2048 {
		return nil, constraint("roleArn", roleArn, false, "Member must have length greater than or equal to 20")
	}
	sessionName, err := c.required("RoleSessionName", "roleSessionName")
	if err != nil {
		return nil, err
	}
	if err := checkSessionName(sessionName); err != nil {
		return nil, err
	}
	dur, err := c.intParam("DurationSeconds", "durationSeconds", assumeRoleDefault, assumeRoleMin, assumeRoleMax)
	if err != nil {
		return nil, err
	}
	sessionPolicy := c.str("Policy")
	if c.has("Policy") && len(sessionPolicy) < 1 {
		return nil, constraint("policy", sessionPolicy, false, "Member must have length greater than or equal to 1")
	}
	if len(sessionPolicy) > sessionPolicyMaxLength {
		return nil, constraint("policy", sessionPolicy, false, "Member must have length less than or equal to 2048")
	}
	var policyArns []string
	for i := 1; ; i++ {
		v, ok := c.form["PolicyArns.member."+itoa(i)+".arn"]
		if !ok {
			break
		}
		if len(v) > 0 {
			policyArns = append(policyArns, v[0])
		}
	}
	if len(policyArns) > sessionPolicyArnsMax {
		return nil, constraint("policyArns", "", false, "Member must have length less than or equal to 10")
	}
	extra := map[string][]string{"sts:RoleSessionName": {sessionName}}
	if c.has("ExternalId") {
		ext := c.str("ExternalId")
		if len(ext) < 2 || len(ext) > 1224 {
			return nil, constraint("externalId", ext, false, "Member must have length greater than or equal to 2")
		}
		extra["sts:ExternalId"] = []string{ext}
	}
	sourceIdentity := ""
	if c.has("SourceIdentity") {
		sourceIdentity = c.str("SourceIdentity")
		if len(sourceIdentity) < 2 || len(sourceIdentity) > 64 || !nameChars(sourceIdentity) {
			return nil, constraint("sourceIdentity", sourceIdentity, false, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
		}
		extra["sts:SourceIdentity"] = []string{sourceIdentity}
	}

	denied := &AccessDenied{PrincipalARN: c.p.ARN, Action: "sts:AssumeRole", Resource: roleArn}
	// The root user cannot assume roles
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html).
	if c.p.Kind == PrincipalRoot {
		return nil, &AccessDenied{Message: "Roles may not be assumed by root accounts."}
	}
	account, _, name, ok := parseRoleARN(roleArn)
	if !ok || account != c.s.AccountID {
		return nil, denied
	}
	role, err := c.s.getRole(c.ctx(), c.s.Store, name)
	if err != nil {
		if _, isAPI := err.(*APIError); isAPI {
			return nil, denied // AWS does not tell whether the role exists
		}
		return nil, err
	}
	if role.ARN != roleArn {
		return nil, denied
	}
	reqCtx := c.s.HTTPRequestContext(c.r, extra)
	allowed, err := c.s.mayAssume(c.ctx(), c.p, role, reqCtx)
	if err != nil {
		return nil, err
	}
	if !allowed {
		return nil, denied
	}
	if dur > role.MaxSessionDuration {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if c.p.Kind == PrincipalAssumedRole && dur > roleChainingMax {
		return nil, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}

	var sessionDocs []string
	packed := 0
	if sessionPolicy != "" {
		if err := checkIdentityPolicy(sessionPolicy); err != nil {
			return nil, err
		}
		sessionDocs = append(sessionDocs, sessionPolicy)
		packed = policySize(sessionPolicy)
	}
	for _, arn := range policyArns {
		p, err := c.s.getPolicy(c.ctx(), c.s.Store, arn)
		if err != nil {
			if ae, isAPI := err.(*APIError); isAPI {
				return nil, malformedPolicy("%s", ae.Message)
			}
			return nil, err
		}
		var v policyVersionRec
		if err := getJSON(c.ctx(), c.s.Store, KindPolicyVersion, lower(p.Name)+"/"+p.DefaultVersion, &v); err != nil {
			return nil, err
		}
		sessionDocs = append(sessionDocs, v.Document)
		packed += len(arn)
	}
	packedPercent := (packed*100 + packedPolicyPercentBase - 1) / packedPolicyPercentBase
	if packedPercent > 100 {
		return nil, apiErr(400, "PackedPolicyTooLarge", "Packed size of session policies exceeds the limit.")
	}

	now := c.s.now().UTC()
	rec := &sessionRec{
		Kind: PrincipalAssumedRole, Issued: now, Expires: now.Add(time.Duration(dur) * time.Second).Truncate(time.Second),
		RoleName: role.Name, RoleID: role.ID, RoleARN: role.ARN, SessionName: sessionName,
		SessionPolicies: sessionDocs, SourceAccessKeyID: c.p.AccessKeyID, SourceIdentity: sourceIdentity,
	}
	creds, err := c.s.createSession(c.ctx(), rec)
	if err != nil {
		return nil, err
	}
	type assumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	res := struct {
		Credentials      credentialsXML  `xml:"Credentials"`
		AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
		PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
		SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
	}{
		Credentials:     creds,
		AssumedRoleUser: assumedRoleUser{role.ID + ":" + sessionName, assumedRoleARN(c.s.AccountID, role.Name, sessionName)},
		SourceIdentity:  sourceIdentity,
	}
	if len(sessionDocs) > 0 {
		res.PackedPolicySize = &packedPercent
	}
	return res, nil
}

// mayAssume decides whether p may assume role, by AWS's rules for a role
// in the caller's own account. A role trust policy is a resource-based
// policy with one exception: it must allow the caller explicitly — an
// identity policy alone never suffices.
//
//   - An explicit Deny in the trust policy, or in the caller's identity or
//     session policies, refuses.
//   - A trust policy Allow naming the caller itself (the user's ARN, the
//     session's assumed-role ARN, or "*") suffices on its own: within one
//     account a resource-based policy naming a principal needs no identity
//     policy.
//   - An Allow naming the caller's role (for role sessions: role chaining)
//     suffices unless the session's session policies do not allow
//     sts:AssumeRole: a resource-based policy naming a role ARN is limited by
//     the session policies.
//   - An Allow naming only the account (its id or arn:aws:iam::{account}:root)
//     delegates to the account's identity policies: the caller's identity
//     (and session) policies must allow sts:AssumeRole on the role.
//
// Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// ("Role trust policies and KMS key policies are exceptions ... they must
// explicitly allow access for principals"),
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-cross-account-resource-access.html
// and https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html.
func (s *Service) mayAssume(ctx context.Context, p *Principal, role *roleRec, reqCtx func(string) ([]string, bool)) (bool, error) {
	trust, err := parseTrust(role.TrustPolicy)
	if err != nil {
		return false, err
	}
	req := &policy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Principal: p.PolicyPrincipal(), Context: reqCtx}
	if trust.Evaluate(req) == policy.Deny {
		return false, nil
	}
	d, err := s.Decide(ctx, p, "sts:AssumeRole", role.ARN, reqCtx)
	if err != nil {
		return false, err
	}
	if d.ExplicitDeny() {
		return false, nil
	}
	// Which of the trust policy's Allow statements admit the caller, by how
	// they name it.
	allows := func(class trustClass) bool {
		sub := &policy.Document{Version: trust.Version, ID: trust.ID}
		for _, st := range trust.Statements {
			if st.Effect == policy.Allow && s.classify(&st, p) == class {
				sub.Statements = append(sub.Statements, st)
			}
		}
		return len(sub.Statements) > 0 && sub.Evaluate(req) == policy.Allow
	}
	switch {
	case allows(trustDirect):
		return true, nil
	case p.Kind == PrincipalAssumedRole && allows(trustRole):
		return !d.HasSession || d.Session == policy.Allow, nil
	case allows(trustAccount):
		return d.Allowed(), nil
	}
	return false, nil
}

// trustClass tells how a trust policy statement names a caller.
type trustClass int

const (
	trustNone    trustClass = iota
	trustAccount            // the caller's account (id or root ARN), or NotPrincipal
	trustRole               // the role of the calling session
	trustDirect             // the caller itself, or everyone ("*")
)

// classify returns the most specific way st's Principal names p.
func (s *Service) classify(st *policy.Statement, p *Principal) trustClass {
	if st.Principal == nil {
		return trustAccount
	}
	if st.Principal.All {
		return trustDirect
	}
	best := trustNone
	rolePrefix := "arn:aws:iam::" + s.AccountID + ":role/"
	for _, id := range st.Principal.AWS {
		switch {
		case id == "*" || id == p.ARN:
			return trustDirect
		case p.Kind == PrincipalAssumedRole && strings.HasPrefix(id, rolePrefix) &&
			id[strings.LastIndexByte(id, '/')+1:] == p.Name:
			best = max(best, trustRole)
		case id == s.AccountID || id == "arn:aws:iam::"+s.AccountID+":root":
			best = max(best, trustAccount)
		}
	}
	return best
}

// ServiceSession is a role session given to an AWS service principal.
type ServiceSession struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expires                                    time.Time
}

// serviceSessionSeconds is how long a service's role session lasts.
const serviceSessionSeconds = assumeRoleDefault

// AssumeRoleForService gives the service principal service (e.g.
// apigateway.amazonaws.com) a session of the role roleARN, as AWS's
// services assume the roles a user hands them: the role must be in this
// account and its trust policy must allow the service sts:AssumeRole.
func (s *Service) AssumeRoleForService(ctx context.Context, roleARN, service, sessionName string) (ServiceSession, error) {
	s.init()
	denied := &AccessDenied{PrincipalARN: service, Action: "sts:AssumeRole", Resource: roleARN}
	account, _, name, ok := parseRoleARN(roleARN)
	if !ok || account != s.AccountID {
		return ServiceSession{}, denied
	}
	role, err := s.getRole(ctx, s.Store, name)
	if err != nil {
		if _, isAPI := err.(*APIError); isAPI {
			return ServiceSession{}, denied
		}
		return ServiceSession{}, err
	}
	if role.ARN != roleARN {
		return ServiceSession{}, denied
	}
	trust, err := parseTrust(role.TrustPolicy)
	if err != nil {
		return ServiceSession{}, err
	}
	now := s.now().UTC()
	req := &policy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Principal: &policy.Principal{Service: service},
		Context: RequestContext(nil, "", true, now, map[string][]string{"sts:RoleSessionName": {sessionName}})}
	if trust.Evaluate(req) != policy.Allow {
		return ServiceSession{}, denied
	}
	dur := min(serviceSessionSeconds, role.MaxSessionDuration)
	rec := &sessionRec{
		Kind: PrincipalAssumedRole, Issued: now, Expires: now.Add(time.Duration(dur) * time.Second).Truncate(time.Second),
		RoleName: role.Name, RoleID: role.ID, RoleARN: role.ARN, SessionName: sessionName,
	}
	creds, err := s.createSession(ctx, rec)
	if err != nil {
		return ServiceSession{}, err
	}
	return ServiceSession{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, rec.Expires}, nil
}
