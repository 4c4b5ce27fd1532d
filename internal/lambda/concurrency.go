package lambda

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/apigw/apigw/internal/store"
)

// Account concurrency, as AWS sets it by default: reservations may take all
// of it but UnreservedMinimum.
const (
	AccountConcurrency = 1000
	UnreservedMinimum  = 100
)

// concurrency is Lambda's Concurrency shape (PutFunctionConcurrency,
// GetFunctionConcurrency, GetFunction).
type concurrency struct {
	ReservedConcurrentExecutions *int `json:",omitempty"`
}

// concurrencyTarget resolves the function a concurrency operation names:
// reserved concurrency belongs to the function, not to a version.
func (s *Service) concurrencyTarget(r *http.Request, action string) (fnRef, error) {
	ref, err := s.resolve(r.PathValue("name"), "")
	if err != nil {
		return ref, err
	}
	if ref.Qualifier != "" {
		return ref, invalidParam("This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	return ref, s.authorize(r, action, s.functionARN(ref.Name))
}

// putFunctionConcurrency is PutFunctionConcurrency:
// PUT /2017-10-31/functions/{name}/concurrency.
func (s *Service) putFunctionConcurrency(r *http.Request, body []byte) (int, any, error) {
	ref, err := s.concurrencyTarget(r, "PutFunctionConcurrency")
	if err != nil {
		return 0, nil, err
	}
	var in concurrency
	if err := decode(body, &in); err != nil {
		return 0, nil, err
	}
	n := in.ReservedConcurrentExecutions
	switch {
	case n == nil:
		return 0, nil, validation("null", "reservedConcurrentExecutions", "Member must not be null")
	case *n < 0:
		return 0, nil, validation(quoted(strconv.Itoa(*n)), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0")
	}
	ctx := r.Context()
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := s.getRecord(ctx, tx, ref.Name)
		if err != nil {
			return err
		}
		items, err := tx.List(ctx, KindFunction, "")
		if err != nil {
			return err
		}
		reserved := *n
		for _, it := range items {
			if it.Key == ref.Name {
				continue
			}
			var other struct {
				Reserved *int `json:"reservedConcurrency"`
			}
			if err := json.Unmarshal(it.Value, &other); err != nil {
				return fmt.Errorf("lambda: decode function %s: %w", it.Key, err)
			}
			if other.Reserved != nil {
				reserved += *other.Reserved
			}
		}
		if reserved > AccountConcurrency-UnreservedMinimum {
			return invalidParam("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", UnreservedMinimum)
		}
		v := *n
		rec.Reserved = &v
		return putRecord(ctx, tx, rec)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, concurrency{ReservedConcurrentExecutions: n}, nil
}

// getFunctionConcurrency is GetFunctionConcurrency:
// GET /2019-09-30/functions/{name}/concurrency. A function without a
// reservation answers {}.
func (s *Service) getFunctionConcurrency(r *http.Request, _ []byte) (int, any, error) {
	ref, err := s.concurrencyTarget(r, "GetFunctionConcurrency")
	if err != nil {
		return 0, nil, err
	}
	rec, err := s.getRecord(r.Context(), s.Store, ref.Name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, concurrency{ReservedConcurrentExecutions: rec.Reserved}, nil
}

// deleteFunctionConcurrency is DeleteFunctionConcurrency:
// DELETE /2017-10-31/functions/{name}/concurrency.
func (s *Service) deleteFunctionConcurrency(r *http.Request, _ []byte) (int, any, error) {
	ref, err := s.concurrencyTarget(r, "DeleteFunctionConcurrency")
	if err != nil {
		return 0, nil, err
	}
	err = s.update(r.Context(), ref.Name, func(_ store.Tx, rec *functionRecord) error {
		rec.Reserved = nil
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
