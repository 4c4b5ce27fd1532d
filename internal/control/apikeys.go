package control

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// kindApiKeyValue indexes API keys by value: values are unique, as on AWS,
// and the data plane finds a key by its value.
const kindApiKeyValue = "apikeyvalue"

const keyValueChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newKeyValue generates a 40-character key value, as AWS does.
func newKeyValue() string { return randomString(40, keyValueChars) }

var errNoApiKey = notFound("Invalid API Key identifier specified")

func validateKeyValue(v string) error {
	if len(v) < 20 {
		return badRequest("API Key value should be at least 20 characters")
	}
	if len(v) > 128 {
		return badRequest("API Key value exceeds maximum size of 128 characters")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return badRequest("API Key value contains invalid characters")
		}
	}
	return nil
}

// apiKeyView hides the value unless the caller asked for it.
func apiKeyView(k *model.ApiKey, includeValue bool) *model.ApiKey {
	out := *k
	if !includeValue {
		out.Value = ""
	}
	if out.StageKeys == nil {
		out.StageKeys = []string{}
	}
	return &out
}

func queryBool(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}

type createApiKeyInput struct {
	Name               string            `json:"name"`
	Description        string            `json:"description"`
	Enabled            bool              `json:"enabled"`
	GenerateDistinctID bool              `json:"generateDistinctId"`
	Value              string            `json:"value"`
	StageKeys          []model.StageKey  `json:"stageKeys"`
	CustomerID         string            `json:"customerId"`
	Tags               map[string]string `json:"tags"`
}

func (a *API) createApiKey(r *http.Request, body []byte) (int, any, error) {
	if r.URL.Query().Get("mode") == "import" {
		return a.importApiKeys(r, body)
	}
	var in createApiKeyInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	now := a.now().Unix()
	k := &model.ApiKey{
		ID: newID(10), Value: in.Value, Name: in.Name, Description: in.Description, Enabled: in.Enabled,
		CustomerID: in.CustomerID, CreatedDate: now, LastUpdatedDate: now, Tags: in.Tags, StageKeys: []string{},
	}
	if k.Value == "" {
		k.Value = newKeyValue()
	} else if err := validateKeyValue(k.Value); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		for _, sk := range in.StageKeys {
			if _, err := a.loadStage(ctx, tx, sk.RestApiID, sk.StageName); err != nil {
				return err
			}
			k.StageKeys = append(k.StageKeys, sk.RestApiID+"/"+sk.StageName)
		}
		return a.putNewApiKey(ctx, tx, k)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, apiKeyView(k, true), nil
}

func (a *API) putNewApiKey(ctx context.Context, tx store.Tx, k *model.ApiKey) error {
	if err := tx.Create(ctx, kindApiKeyValue, k.Value, []byte(k.ID)); err != nil {
		if errors.Is(err, store.ErrExists) {
			return conflict("API Key already exists")
		}
		return err
	}
	return putJSON(ctx, tx, model.KindApiKey, k.ID, k)
}

func (a *API) loadApiKey(ctx context.Context, rd store.Reader, id string) (*model.ApiKey, error) {
	k := new(model.ApiKey)
	if err := getJSON(ctx, rd, model.KindApiKey, id, k, errNoApiKey); err != nil {
		return nil, err
	}
	return k, nil
}

func (a *API) getApiKey(r *http.Request, _ []byte) (int, any, error) {
	k, err := a.loadApiKey(r.Context(), a.Store, r.PathValue("key"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, apiKeyView(k, queryBool(r, "includeValue")), nil
}

func (a *API) getApiKeys(r *http.Request, _ []byte) (int, any, error) {
	keys, err := listJSON[model.ApiKey](r.Context(), a.Store, model.KindApiKey, "")
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	name, customer := q.Get("name"), q.Get("customerId")
	kept := keys[:0]
	for _, k := range keys {
		if name != "" && !strings.HasPrefix(k.Name, name) {
			continue
		}
		if customer != "" && k.CustomerID != customer {
			continue
		}
		kept = append(kept, k)
	}
	includeValues := queryBool(r, "includeValues")
	for i, k := range kept {
		kept[i] = apiKeyView(k, includeValues)
	}
	p, err := paginate(r, kept, func(k *model.ApiKey) string { return k.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateApiKey(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateApiKeyInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var k *model.ApiKey
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if k, err = a.loadApiKey(ctx, tx, r.PathValue("key")); err != nil {
			return err
		}
		for _, op := range ops {
			s := op.Segs
			var err error
			switch {
			case len(s) == 1 && s[0] == "name":
				err = patchString(op, &k.Name)
			case len(s) == 1 && s[0] == "description":
				err = patchString(op, &k.Description)
			case len(s) == 1 && s[0] == "customerId":
				err = patchString(op, &k.CustomerID)
			case len(s) == 1 && s[0] == "enabled":
				err = patchBool(op, &k.Enabled)
			case len(s) == 1 && s[0] == "stages" && (op.Op == "add" || op.Op == "remove"):
				apiID, stage, _ := strings.Cut(op.value(), "/")
				if op.Op == "add" {
					if _, err := a.loadStage(ctx, tx, apiID, stage); err != nil {
						return err
					}
				}
				err = patchList(op, &k.StageKeys, op.value())
			default:
				err = errPatchPath(op)
			}
			if err != nil {
				return err
			}
		}
		k.LastUpdatedDate = a.now().Unix()
		return putJSON(ctx, tx, model.KindApiKey, k.ID, k)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, apiKeyView(k, false), nil
}

func (a *API) deleteApiKey(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		k, err := a.loadApiKey(ctx, tx, r.PathValue("key"))
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, model.KindApiKey, k.ID); err != nil {
			return err
		}
		if err := tx.Delete(ctx, kindApiKeyValue, k.Value); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// The key leaves every usage plan it was in.
		plans, err := tx.List(ctx, model.KindUsagePlan, "")
		if err != nil {
			return err
		}
		for _, p := range plans {
			err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(p.Key, k.ID))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// importApiKeys reads AWS's CSV import format: a header row naming the
// columns (name, key, description, enabled, usageplanIds; any case, any
// order), then one key per row. A usageplanIds cell may name several plans
// separated by ",", ";" or ":".
func (a *API) importApiKeys(r *http.Request, body []byte) (int, any, error) {
	if f := r.URL.Query().Get("format"); f != "csv" {
		return 0, nil, badRequest("Invalid format specified: %s. Only csv is supported", f)
	}
	failOnWarnings := queryBool(r, "failonwarnings")
	rd := csv.NewReader(strings.NewReader(string(body)))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if err != nil {
		return 0, nil, badRequest("Invalid CSV: missing header row")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["key"]; !ok {
		return 0, nil, badRequest("Invalid CSV: the header must have a 'key' column")
	}
	field := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	type newKey struct {
		k     *model.ApiKey
		plans []string
	}
	var keys []newKey
	var warnings []string
	now := a.now().Unix()
	for line := 2; ; line++ {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, badRequest("Invalid CSV at line %d: %v", line, err)
		}
		k := &model.ApiKey{ID: newID(10), Name: field(row, "name"), Value: field(row, "key"),
			Description: field(row, "description"), Enabled: true, CreatedDate: now, LastUpdatedDate: now, StageKeys: []string{}}
		if e := field(row, "enabled"); e != "" {
			k.Enabled, _ = strconv.ParseBool(e)
		}
		if verr := validateKeyValue(k.Value); verr != nil {
			warnings = append(warnings, "line "+strconv.Itoa(line)+": "+verr.(*Error).Message)
			continue
		}
		var plans []string
		for _, p := range strings.FieldsFunc(field(row, "usageplanids"), func(r rune) bool { return r == ',' || r == ';' || r == ':' }) {
			plans = append(plans, strings.TrimSpace(p))
		}
		keys = append(keys, newKey{k, plans})
	}
	if failOnWarnings && len(warnings) > 0 {
		return 0, nil, badRequest("Import failed: %s", strings.Join(warnings, "; "))
	}
	ctx := r.Context()
	ids := []string{}
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		for _, nk := range keys {
			if err := a.putNewApiKey(ctx, tx, nk.k); err != nil {
				return err
			}
			for _, planID := range nk.plans {
				if err := a.addPlanKey(ctx, tx, planID, nk.k); err != nil {
					return err
				}
			}
			ids = append(ids, nk.k.ID)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"ids": ids}
	if len(warnings) > 0 {
		out["warnings"] = warnings
	}
	return http.StatusCreated, out, nil
}
