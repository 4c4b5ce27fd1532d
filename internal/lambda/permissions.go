package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

type addPermissionInput struct {
	StatementId      *string
	Action           *string
	Principal        *string
	SourceArn        string
	SourceAccount    string
	EventSourceToken string
	PrincipalOrgID   string
	RevisionId       string
}

var (
	sidRE    = regexp.MustCompile(`^[a-zA-Z0-9-_.]+$`)
	actionRE = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
)

// statement is a resource policy statement in the shape and order
// AddPermission writes it.
type statement struct {
	Sid       string
	Effect    string
	Principal any
	Action    string
	Resource  string
	Condition map[string]map[string]string `json:",omitempty"`
}

// policyDocument is what GetPolicy returns, as a JSON string.
type policyDocument struct {
	Version   string
	Id        string
	Statement []json.RawMessage
}

// statementPrincipal is the Principal element AddPermission writes for the
// principal it was given.
func statementPrincipal(p string) (any, bool) {
	switch {
	case p == "*":
		return "*", true
	case validAccount(p):
		return map[string]string{"AWS": "arn:aws:iam::" + p + ":root"}, true
	case strings.HasPrefix(p, "arn:aws:iam::") || strings.HasPrefix(p, "arn:aws:sts::"):
		return map[string]string{"AWS": p}, true
	case strings.HasSuffix(p, ".amazonaws.com") || strings.HasSuffix(p, ".amazonaws.com.cn") || strings.HasSuffix(p, ".amazon.com"):
		return map[string]string{"Service": p}, true
	}
	return nil, false
}

// policyResource is the function ARN a version's statements name: the
// unqualified ARN for $LATEST.
func (s *Service) policyResource(name, qualifier string) string {
	if qualifier == "$LATEST" {
		qualifier = ""
	}
	return s.qualifiedARN(name, qualifier)
}

func (s *Service) addPermission(r *http.Request, body []byte) (int, any, error) {
	ref, err := s.resolve(r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, "AddPermission", s.qualifiedARN(ref.Name, ref.Qualifier)); err != nil {
		return 0, nil, err
	}
	var in addPermissionInput
	if err := decode(body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.StatementId == nil:
		return 0, nil, validation("null", "statementId", "Member must not be null")
	case in.Action == nil:
		return 0, nil, validation("null", "action", "Member must not be null")
	case in.Principal == nil:
		return 0, nil, validation("null", "principal", "Member must not be null")
	case len(*in.StatementId) > 100 || !sidRE.MatchString(*in.StatementId):
		return 0, nil, validation(quoted(*in.StatementId), "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)")
	case !actionRE.MatchString(*in.Action):
		return 0, nil, validation(quoted(*in.Action), "action", "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
	case in.SourceAccount != "" && !validAccount(in.SourceAccount):
		return 0, nil, validation(quoted(in.SourceAccount), "sourceAccount", `Member must satisfy regular expression pattern: \d{12}`)
	}
	principal, ok := statementPrincipal(*in.Principal)
	if !ok {
		return 0, nil, invalidParam("The provided principal was invalid. Please check the principal and try again.")
	}
	st := statement{Sid: *in.StatementId, Effect: "Allow", Principal: principal, Action: *in.Action,
		Resource: s.policyResource(ref.Name, ref.Qualifier)}
	cond := func(op, key, v string) {
		if st.Condition == nil {
			st.Condition = map[string]map[string]string{}
		}
		if st.Condition[op] == nil {
			st.Condition[op] = map[string]string{}
		}
		st.Condition[op][key] = v
	}
	if in.SourceAccount != "" {
		cond("StringEquals", "AWS:SourceAccount", in.SourceAccount)
	}
	if in.PrincipalOrgID != "" {
		cond("StringEquals", "aws:PrincipalOrgID", in.PrincipalOrgID)
	}
	if in.EventSourceToken != "" {
		cond("StringEquals", "lambda:EventSourceToken", in.EventSourceToken)
	}
	if in.SourceArn != "" {
		cond("ArnLike", "AWS:SourceArn", in.SourceArn)
	}
	stJSON, err := json.Marshal(st)
	if err != nil {
		return 0, nil, err
	}
	if _, err := policy.Parse(docJSON([]json.RawMessage{stJSON})); err != nil {
		return 0, nil, invalidParam("The policy statement is invalid: %s", strings.TrimPrefix(err.Error(), "policy: "))
	}
	err = s.update(r.Context(), ref.Name, func(_ store.Tx, rec *functionRecord) error {
		v := rec.version(ref.Qualifier)
		if v == nil {
			return errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
		}
		if in.RevisionId != "" && in.RevisionId != v.Config.RevisionId {
			return errRevision("GetPolicy")
		}
		for _, raw := range v.Statements {
			var old statement
			if json.Unmarshal(raw, &old) == nil && old.Sid == st.Sid {
				return conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
			}
		}
		v.Statements = append(v.Statements, stJSON)
		v.Config.RevisionId = newUUID()
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]string{"Statement": string(stJSON)}, nil
}

func docJSON(statements []json.RawMessage) []byte {
	b, _ := json.Marshal(policyDocument{Version: "2012-10-17", Id: "default", Statement: statements})
	return b
}

func (s *Service) removePermission(r *http.Request, _ []byte) (int, any, error) {
	q := r.URL.Query()
	ref, err := s.resolve(r.PathValue("name"), q.Get("Qualifier"))
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, "RemovePermission", s.qualifiedARN(ref.Name, ref.Qualifier)); err != nil {
		return 0, nil, err
	}
	sid, rev := r.PathValue("sid"), q.Get("RevisionId")
	err = s.update(r.Context(), ref.Name, func(_ store.Tx, rec *functionRecord) error {
		v := rec.version(ref.Qualifier)
		if v == nil {
			return errFunctionNotFound(s.qualifiedARN(ref.Name, ref.Qualifier))
		}
		if len(v.Statements) == 0 {
			return errNoPolicyOnFn
		}
		for i, raw := range v.Statements {
			var st statement
			if json.Unmarshal(raw, &st) == nil && st.Sid == sid {
				if rev != "" && rev != v.Config.RevisionId {
					return errRevision("GetPolicy")
				}
				v.Statements = append(v.Statements[:i], v.Statements[i+1:]...)
				v.Config.RevisionId = newUUID()
				return nil
			}
		}
		return notFound("Statement %s is not found in resource policy.", sid)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Service) getPolicy(r *http.Request, _ []byte) (int, any, error) {
	_, v, err := s.operand(r, "GetPolicy")
	if err != nil {
		return 0, nil, err
	}
	if len(v.Statements) == 0 {
		return 0, nil, errNoPolicy
	}
	return http.StatusOK, map[string]string{"Policy": string(docJSON(v.Statements)), "RevisionId": v.Config.RevisionId}, nil
}

// allowed evaluates a version's resource policy for an invocation by a
// service or another account (InvokeRequest.Principal).
func (s *Service) allowed(ref fnRef, v *version, req *InvokeRequest) (bool, error) {
	if len(v.Statements) == 0 {
		return false, nil
	}
	key := ref.Name + "\x00" + v.Config.Version + "\x00" + v.Config.RevisionId
	var doc *policy.Document
	if d, ok := s.policies.Load(key); ok {
		doc = d.(*policy.Document)
	} else {
		d, err := policy.Parse(docJSON(v.Statements))
		if err != nil {
			return false, err
		}
		doc = d
		s.cachePolicy(key, doc)
	}
	p := &policy.Principal{}
	if strings.HasPrefix(req.Principal, "arn:") || validAccount(req.Principal) {
		p.AWS = []string{req.Principal}
	} else {
		p.Service = req.Principal
	}
	keys := map[string][]string{}
	if req.SourceARN != "" {
		keys["aws:SourceArn"] = []string{req.SourceARN}
	}
	if req.SourceAccount != "" {
		keys["aws:SourceAccount"] = []string{req.SourceAccount}
	}
	eff := doc.Evaluate(&policy.Request{
		Action:    "lambda:InvokeFunction",
		Resource:  s.policyResource(ref.Name, v.Config.Version),
		Principal: p,
		Context:   policy.MapContext(keys),
	})
	return eff == policy.Allow, nil
}

// cachePolicy keeps parsed policies, forgetting them all when there are
// too many (a policy is keyed by its revision: old ones are never asked
// for again).
func (s *Service) cachePolicy(key string, doc *policy.Document) {
	n := 0
	s.policies.Range(func(any, any) bool { n++; return n < 1024 })
	if n >= 1024 {
		s.policies.Clear()
	}
	s.policies.Store(key, doc)
}
