package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// Account-wide throttle defaults, as AWS sets them per account and region.
const (
	DefaultAccountRate  = 10000
	DefaultAccountBurst = 5000
)

const accountThrottleID = "account"

// stageThrottle is a stage's throttle for one method, from methodSettings.
type stageThrottle struct {
	rate  float64
	burst int64
	id    string
}

// stageThrottles resolves each route's throttle from the stage's method
// settings: "{escaped resource path}/{METHOD}" first, then "*/*". A setting
// whose burst or rate limit is negative (-1, AWS's "throttling disabled")
// puts no stage throttle on the route.
func stageThrottles(apiID string, st *model.Stage, dep *Deployment) map[*Route]*stageThrottle {
	if len(st.MethodSettings) == 0 {
		return nil
	}
	out := make(map[*Route]*stageThrottle, len(dep.Routes))
	for _, rt := range dep.Routes {
		key := escapeSeg(rt.ResourcePath) + "/" + rt.Method.HTTPMethod
		ms := st.MethodSettings[key]
		if ms == nil {
			if ms = st.MethodSettings["*/*"]; ms == nil {
				continue
			}
			key = "*/*"
		}
		if ms.ThrottlingBurstLimit < 0 || ms.ThrottlingRateLimit < 0 {
			continue
		}
		out[rt] = &stageThrottle{
			rate:  ms.ThrottlingRateLimit,
			burst: ms.ThrottlingBurstLimit,
			// Each method has its own bucket, also under "*/*".
			id: "stage/" + apiID + "/" + st.StageName + "/" + rt.MethodPath,
		}
	}
	return out
}

func escapeSeg(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Identity is what metering learned about the caller, for integrations.
type Identity struct {
	APIKey   string
	APIKeyID string
	// AuthorizerKey is the usageIdentifierKey a Lambda authorizer returned,
	// the API key when the API's apiKeySource is AUTHORIZER.
	AuthorizerKey string
}

// meter runs step 4 of the pipeline: API key, then the throttles in AWS's
// order (the usage plan's per-method throttle, its throttle, the stage's
// method throttle, the account throttle), and last the plan's quota, so that
// a request a throttle refuses uses no quota. The quota is one atomic take,
// exact under concurrency; a request it refuses has taken its throttle
// tokens, as a request refused by a later throttle has taken the earlier
// ones.
func (g *Gateway) meter(ctx context.Context, h http.Header, s *state, st *Stage, rt *Route, id *Identity) error {
	lim := g.Limiter
	if lim == nil {
		if rt.Method.ApiKeyRequired {
			return fault.ErrInvalidAPIKey
		}
		return nil
	}
	now := time.Now()
	var kp *keyPlan
	if rt.Method.ApiKeyRequired {
		var value string
		if st.Api.ApiKeySource == "AUTHORIZER" {
			value = id.AuthorizerKey
		} else {
			value = h.Get("X-Api-Key")
		}
		var ak *apiKey
		if s.keys != nil && value != "" {
			ak = s.keys.lookup(value)
		}
		if ak == nil || !ak.enabled {
			return fault.ErrInvalidAPIKey
		}
		if kp = ak.plans[stageRef{st.APIID, st.Name}]; kp == nil {
			return fault.ErrInvalidAPIKey
		}
		id.APIKey, id.APIKeyID = value, ak.id
		if mt, ok := kp.methods[rt.MethodPath]; ok {
			if err := g.allow(ctx, lim, mt.id, mt.settings.RateLimit, mt.settings.BurstLimit, now); err != nil {
				return err
			}
		}
		if t := kp.throttle; t != nil {
			if err := g.allow(ctx, lim, kp.throttleID, t.RateLimit, t.BurstLimit, now); err != nil {
				return err
			}
		}
	}
	if t := st.throttles[rt]; t != nil {
		if err := g.allow(ctx, lim, t.id, t.rate, t.burst, now); err != nil {
			return err
		}
	}
	rate, burst := g.accountRate(), g.accountBurst()
	if t := s.account; t != nil {
		rate, burst = t.RateLimit, t.BurstLimit
	}
	if err := g.allow(ctx, lim, accountThrottleID, rate, burst, now); err != nil {
		return err
	}
	if kp != nil && kp.quota != nil {
		d, err := lim.Take(ctx, kp.quotaID, *kp.quota, now)
		if err != nil {
			g.limiterErrors.Add(1)
			return limitError(err)
		}
		if !d.Allowed {
			return refused(fault.ErrQuotaExceeded, d.RetryAfter)
		}
	}
	return nil
}

func (g *Gateway) allow(ctx context.Context, lim limit.Limiter, id string, rate float64, burst int64, now time.Time) error {
	d, err := lim.Allow(ctx, id, rate, burst, now)
	if err != nil {
		g.limiterErrors.Add(1)
		return limitError(err)
	}
	if !d.Allowed {
		return refused(fault.ErrThrottled, d.RetryAfter)
	}
	return nil
}

// errLimitsUnavailable answers a metered request while the shared limits
// cannot be reached and apigw was told to fail closed (--redis-failure
// closed).
var errLimitsUnavailable = &fault.Error{Type: fault.Default5XX, Status: 503, ErrorType: "ServiceUnavailableException", Message: "Service Unavailable"}

// limitError is the gateway response of a limiter that could not decide.
func limitError(err error) error {
	if errors.Is(err, limit.ErrUnavailable) {
		e := *errLimitsUnavailable
		e.Cause = err
		return &e
	}
	return fault.ConfigurationError(err)
}

// refused returns base with a Retry-After header when waiting helps.
func refused(base *fault.Error, after time.Duration) error {
	if after <= 0 {
		return base
	}
	e := *base
	secs := int64((after + time.Second - 1) / time.Second)
	e.Header = http.Header{"Retry-After": []string{strconv.FormatInt(secs, 10)}}
	return &e
}

func (g *Gateway) accountRate() float64 {
	if g.AccountRate > 0 {
		return g.AccountRate
	}
	return DefaultAccountRate
}

func (g *Gateway) accountBurst() int64 {
	if g.AccountBurst > 0 {
		return g.AccountBurst
	}
	return DefaultAccountBurst
}

// loadAccountThrottle reads the account throttle UpdateAccount stored, or
// nil when there is none.
func (g *Gateway) loadAccountThrottle(ctx context.Context) (*model.ThrottleSettings, error) {
	b, err := g.Store.Get(ctx, model.KindAccount, model.AccountSettingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s model.AccountSettings
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("gateway: decode account settings: %w", err)
	}
	return s.Throttle, nil
}
