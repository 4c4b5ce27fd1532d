package iam

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/store"
)

var iamOps = map[string]opFunc{
	"CreateUser":               opCreateUser,
	"GetUser":                  opGetUser,
	"ListUsers":                opListUsers,
	"DeleteUser":               opDeleteUser,
	"CreateAccessKey":          opCreateAccessKey,
	"ListAccessKeys":           opListAccessKeys,
	"UpdateAccessKey":          opUpdateAccessKey,
	"DeleteAccessKey":          opDeleteAccessKey,
	"PutUserPolicy":            userInline.put,
	"GetUserPolicy":            userInline.get,
	"ListUserPolicies":         userInline.list,
	"DeleteUserPolicy":         userInline.delete,
	"CreatePolicy":             opCreatePolicy,
	"GetPolicy":                opGetPolicy,
	"ListPolicies":             opListPolicies,
	"DeletePolicy":             opDeletePolicy,
	"CreatePolicyVersion":      opCreatePolicyVersion,
	"GetPolicyVersion":         opGetPolicyVersion,
	"ListPolicyVersions":       opListPolicyVersions,
	"DeletePolicyVersion":      opDeletePolicyVersion,
	"SetDefaultPolicyVersion":  opSetDefaultPolicyVersion,
	"AttachUserPolicy":         userAttach.attach,
	"DetachUserPolicy":         userAttach.detach,
	"ListAttachedUserPolicies": userAttach.list,
	"CreateRole":               opCreateRole,
	"GetRole":                  opGetRole,
	"ListRoles":                opListRoles,
	"DeleteRole":               opDeleteRole,
	"UpdateAssumeRolePolicy":   opUpdateAssumeRolePolicy,
	"PutRolePolicy":            roleInline.put,
	"GetRolePolicy":            roleInline.get,
	"ListRolePolicies":         roleInline.list,
	"DeleteRolePolicy":         roleInline.delete,
	"AttachRolePolicy":         roleAttach.attach,
	"DetachRolePolicy":         roleAttach.detach,
	"ListAttachedRolePolicies": roleAttach.list,
}

var stsOps = map[string]opFunc{
	"GetCallerIdentity": opGetCallerIdentity,
	"GetSessionToken":   opGetSessionToken,
	"AssumeRole":        opAssumeRole,
}

// IAMHandler serves the IAM Query API (Version 2010-05-08). The caller has
// verified the request's signature and put its principal in the request
// context (WithPrincipal). Each operation asks authorize whether the caller
// may perform it, e.g. authorize(r, "iam:CreateUser",
// "arn:aws:iam::123456789012:user/bob"); a nil authorize uses s.Authorize
// with the request's global condition keys (HTTPRequestContext).
//
// IAM refuses the temporary credentials of GetSessionToken (issued without
// MFA, which apigw does not have) with InvalidClientTokenId, as AWS does.
func (s *Service) IAMHandler(authorize AuthorizeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := PrincipalFrom(r.Context()); p != nil && p.fromSessionToken() {
			writeError(w, IAMNamespace, apiErr(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."))
			return
		}
		s.serve(w, r, IAMNamespace, IAMVersion, iamOps, authorize, s.Log)
	})
}

// STSHandler serves the STS Query API (Version 2011-06-15):
// GetCallerIdentity, GetSessionToken and AssumeRole, under the same
// contract as IAMHandler. AssumeRole is decided by the role's trust policy
// and the caller's identity policies (see mayAssume), not by authorize.
func (s *Service) STSHandler(authorize AuthorizeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, STSNamespace, STSVersion, stsOps, authorize, s.Log)
	})
}

// Handler serves both APIs, telling them apart by the Action parameter
// (their actions do not overlap). Prefer IAMHandler and STSHandler when the
// service is known (from the SigV4 credential scope).
func (s *Service) Handler(authorize AuthorizeFunc) http.Handler {
	iamH, stsH := s.IAMHandler(authorize), s.STSHandler(authorize)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			if _, ok := stsOps[r.Form.Get("Action")]; ok {
				stsH.ServeHTTP(w, r)
				return
			}
		}
		iamH.ServeHTTP(w, r)
	})
}

// QueryService tells which of the two Query APIs an unsigned request is
// meant for, so that its refusal is answered in that API's XML shape: "iam"
// or "sts" by the Version parameter, or else by the Action; "" when it is
// neither. body is the request body already read; the request is not
// consumed.
func QueryService(r *http.Request, body []byte) string {
	form := r.URL.Query()
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		if f, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range f {
				form[k] = append(form[k], v...)
			}
		}
	}
	switch form.Get("Version") {
	case IAMVersion:
		return "iam"
	case STSVersion:
		return "sts"
	}
	action := form.Get("Action")
	if _, ok := stsOps[action]; ok {
		return "sts"
	}
	if _, ok := iamOps[action]; ok {
		return "iam"
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

func isExists(err error) bool { return errors.Is(err, store.ErrExists) }
