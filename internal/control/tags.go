package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// AWS's limits on tags.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// taggable is the record an ARN names: its kind and key in the store, and
// the error for one that does not exist.
type taggable struct {
	kind, key string
	notFound  error
}

// taggableKinds maps the first segment of an ARN's resource path
// ("/apikeys/{id}") to the kind of record it names, for the resources that
// are one segment below the root. REST APIs and their stages are resolved in
// taggableOf.
var taggableKinds = map[string]struct {
	kind     string
	notFound error
}{
	"apikeys":            {model.KindApiKey, errNoApiKey},
	"usageplans":         {model.KindUsagePlan, errNoUsagePlan},
	"clientcertificates": {model.KindClientCertificate, errClientCertificateNotFound},
	"vpclinks":           {model.KindVpcLink, errNoVpcLink},
}

// errInvalidARN answers an ARN that names no taggable resource of this
// region.
func errInvalidARN(arn string) *Error {
	return badRequest("Invalid resource ARN specified: %s", arn)
}

// parseTagARN splits an ARN of the form
// arn:{partition}:apigateway:{region}:{account}:/{path} into its path's
// segments; account is empty, or this one's (private domains and their
// access associations are named with it).
func parseTagARN(arn, region, account string) ([]string, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return nil, false
	}
	f := strings.SplitN(rest, ":", 5)
	if len(f) != 5 || !strings.HasPrefix(f[0], "aws") || f[1] != "apigateway" || f[2] != region || (f[3] != "" && f[3] != account) || !strings.HasPrefix(f[4], "/") {
		return nil, false
	}
	segs := strings.Split(f[4][1:], "/")
	for _, s := range segs {
		if s == "" {
			return nil, false
		}
	}
	return segs, true
}

// taggableOf resolves an ARN to its record and checks that it exists.
func (a *API) taggableOf(ctx context.Context, rd store.Reader, arn string) (taggable, error) {
	segs, ok := parseTagARN(arn, a.Region, a.AccountID)
	if !ok {
		return taggable{}, errInvalidARN(arn)
	}
	var t taggable
	switch {
	case segs[0] == "restapis" && len(segs) == 2:
		t = taggable{model.KindRestApi, segs[1], a.errNoAPI(segs[1])}
	case segs[0] == "restapis" && len(segs) == 4 && segs[2] == "stages":
		if _, err := a.loadRestApi(ctx, rd, segs[1]); err != nil {
			return taggable{}, err
		}
		t = taggable{model.KindStage, model.ChildKey(segs[1], segs[3]), errNoStage}
	case segs[0] == "domainnameaccessassociations":
		key := a.accessKey(arn)
		if key == "" {
			return taggable{}, errInvalidARN(arn)
		}
		t = taggable{model.KindDomainAccess, key, errNoAccessAssociation}
	case segs[0] == "domainnames" && len(segs) == 2:
		t = taggable{model.KindDomainName, strings.ToLower(segs[1]), errNoDomainName}
	case len(segs) == 2:
		k, ok := taggableKinds[segs[0]]
		if !ok {
			return taggable{}, errInvalidARN(arn)
		}
		t = taggable{k.kind, segs[1], k.notFound}
	default:
		return taggable{}, errInvalidARN(arn)
	}
	if _, err := rd.Get(ctx, t.kind, t.key); err != nil {
		if err == store.ErrNotFound {
			return taggable{}, t.notFound
		}
		return taggable{}, err
	}
	return t, nil
}

var errTooManyTags = badRequest("Too many tags: a resource can have at most %d tags", maxTags)

// checkTags applies AWS's limits to the tags of a request.
func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return errTooManyTags
	}
	var bad []string
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen {
			bad = append(bad, fmt.Sprintf("Value '%s' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to 1]", k, maxTagKeyLen))
		}
		if utf8.RuneCountInString(v) > maxTagValueLen {
			bad = append(bad, fmt.Sprintf("Value '%s' at 'tags.%s' failed to satisfy constraint: Member must have length less than or equal to %d", v, k, maxTagValueLen))
		}
	}
	if err := validationErrors(bad); err != nil {
		return err
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return badRequest("Tag keys must not start with 'aws:' (a prefix reserved for AWS use): %s", k)
		}
	}
	return nil
}

// readTags returns the record's raw fields and its tags.
func readTags(ctx context.Context, rd store.Reader, t taggable) (map[string]json.RawMessage, map[string]string, error) {
	b, err := rd.Get(ctx, t.kind, t.key)
	if err != nil {
		if err == store.ErrNotFound {
			return nil, nil, t.notFound
		}
		return nil, nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, nil, fmt.Errorf("control: decode %s %s: %w", t.kind, t.key, err)
	}
	tags := map[string]string{}
	if raw, ok := fields["tags"]; ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, nil, fmt.Errorf("control: decode tags of %s %s: %w", t.kind, t.key, err)
		}
	}
	return fields, tags, nil
}

// writeTags stores the record with tags in place of its old ones. Only the
// tags field is touched, so one function serves every taggable kind.
func writeTags(ctx context.Context, tx store.Tx, t taggable, fields map[string]json.RawMessage, tags map[string]string) error {
	if len(tags) == 0 {
		delete(fields, "tags")
	} else {
		b, err := json.Marshal(tags)
		if err != nil {
			return err
		}
		fields["tags"] = b
	}
	return putJSON(ctx, tx, t.kind, t.key, fields)
}

func (a *API) tagResource(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if in.Tags == nil {
		return 0, nil, validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		t, err := a.taggableOf(ctx, tx, r.PathValue("arn"))
		if err != nil {
			return err
		}
		fields, tags, err := readTags(ctx, tx, t)
		if err != nil {
			return err
		}
		for k, v := range in.Tags {
			tags[k] = v
		}
		if len(tags) > maxTags {
			return errTooManyTags
		}
		return writeTags(ctx, tx, t, fields, tags)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) untagResource(r *http.Request, _ []byte) (int, any, error) {
	keys, ok := r.URL.Query()["tagKeys"]
	if !ok {
		return 0, nil, validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		t, err := a.taggableOf(ctx, tx, r.PathValue("arn"))
		if err != nil {
			return err
		}
		fields, tags, err := readTags(ctx, tx, t)
		if err != nil {
			return err
		}
		for _, k := range keys {
			delete(tags, k)
		}
		return writeTags(ctx, tx, t, fields, tags)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) getTags(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	t, err := a.taggableOf(ctx, a.Store, r.PathValue("arn"))
	if err != nil {
		return 0, nil, err
	}
	_, tags, err := readTags(ctx, a.Store, t)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]map[string]string{"tags": tags}, nil
}
