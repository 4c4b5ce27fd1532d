package control

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// account is GetAccount's answer.
type account struct {
	CloudwatchRoleArn string                  `json:"cloudwatchRoleArn,omitempty"`
	ThrottleSettings  *model.ThrottleSettings `json:"throttleSettings"`
	Features          []string                `json:"features"`
	ApiKeyVersion     string                  `json:"apiKeyVersion"`
}

// Every account has usage plans, and API keys of AWS's current version.
var accountFeatures = []string{"UsagePlans"}

const apiKeyVersion = "4"

// roleARN is the shape of an IAM role's ARN.
var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

func loadAccountSettings(ctx context.Context, rd store.Reader) (*model.AccountSettings, error) {
	s := new(model.AccountSettings)
	err := getJSON(ctx, rd, model.KindAccount, model.AccountSettingsKey, s, store.ErrNotFound)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return s, nil
}

func (a *API) accountOf(ctx context.Context, rd store.Reader) (*account, error) {
	s, err := loadAccountSettings(ctx, rd)
	if err != nil {
		return nil, err
	}
	t := model.ThrottleSettings{RateLimit: a.AccountRate, BurstLimit: a.AccountBurst}
	if s.Throttle != nil {
		t = *s.Throttle
	}
	return &account{CloudwatchRoleArn: s.CloudwatchRoleArn, ThrottleSettings: &t, Features: accountFeatures, ApiKeyVersion: apiKeyVersion}, nil
}

func (a *API) getAccount(r *http.Request, _ []byte) (int, any, error) {
	acc, err := a.accountOf(r.Context(), a.Store)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, acc, nil
}

// updateAccount takes AWS's paths (/cloudwatchRoleArn, /features) and
// apigw's own /throttle/rateLimit and /throttle/burstLimit (remove
// /throttle goes back to the flags'): on AWS only support raises the
// account throttle, here the operator does.
func (a *API) updateAccount(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateAccountInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var acc *account
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		s, err := loadAccountSettings(ctx, tx)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := a.patchAccount(s, op); err != nil {
				return err
			}
		}
		if t := s.Throttle; t != nil && (t.RateLimit <= 0 || t.BurstLimit <= 0) {
			return badRequest("The account's throttle burst and rate limits must be greater than 0")
		}
		if err := putJSON(ctx, tx, model.KindAccount, model.AccountSettingsKey, s); err != nil {
			return err
		}
		acc, err = a.accountOf(ctx, tx)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, acc, nil
}

func (a *API) patchAccount(s *model.AccountSettings, op PatchOp) error {
	switch {
	case len(op.Segs) == 1 && op.Segs[0] == "cloudwatchRoleArn":
		if op.Op != "replace" && op.Op != "remove" {
			return errReplaceOnly
		}
		if err := patchString(op, &s.CloudwatchRoleArn); err != nil {
			return err
		}
		if s.CloudwatchRoleArn != "" && !roleARN.MatchString(s.CloudwatchRoleArn) {
			return badRequest("The role ARN is not well formed")
		}
		return nil
	case len(op.Segs) == 1 && op.Segs[0] == "features":
		// Usage plans are always on: adding them again changes nothing.
		if op.Op == "add" && op.value() == "UsagePlans" {
			return nil
		}
		if op.Op == "remove" && op.value() == "UsagePlans" {
			return badRequest("Usage plans cannot be disabled")
		}
		return badRequest("Invalid feature specified: %s. Valid values are [UsagePlans]", op.value())
	case len(op.Segs) == 1 && op.Segs[0] == "throttle" && op.Op == "remove":
		s.Throttle = nil
		return nil
	case len(op.Segs) == 2 && op.Segs[0] == "throttle":
		if s.Throttle == nil {
			s.Throttle = &model.ThrottleSettings{RateLimit: a.AccountRate, BurstLimit: a.AccountBurst}
		}
		if op.Op != "replace" {
			return errReplaceOnly
		}
		switch op.Segs[1] {
		case "rateLimit":
			return patchFloat(op, &s.Throttle.RateLimit)
		case "burstLimit":
			return patchInt(op, &s.Throttle.BurstLimit)
		}
	}
	return errPatchPath(op)
}
