package control

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/apigw/apigw/internal/edge"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// errClientCertificateNotFound is AWS's answer to an operation on an
// unknown client certificate. A stage naming one gets errNoClientCertificate
// (a 400) instead.
var errClientCertificateNotFound = notFound("Invalid Client Certificate identifier specified")

// clientCertificateIDLen is the length of AWS's client certificate ids
// (6 lowercase alphanumerics).
const clientCertificateIDLen = 6

func (a *API) generateClientCertificate(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Description string            `json:"description"`
		Tags        map[string]string `json:"tags"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	if a.Seal == nil {
		return 0, nil, errors.New("control: no sealer for client certificate keys")
	}
	now := a.now()
	certPEM, keyDER, notAfter, err := edge.NewClientCertificate(now)
	if err != nil {
		return 0, nil, err
	}
	rec := &model.ClientCertificateRecord{ClientCertificate: model.ClientCertificate{
		Description: in.Description, PemEncodedCertificate: certPEM, Tags: in.Tags,
		CreatedDate: now.Unix(), ExpirationDate: notAfter.Unix(),
	}}
	ctx := r.Context()
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		for {
			rec.ClientCertificateID = newID(clientCertificateIDLen)
			sealed, err := a.Seal(keyDER, model.ClientCertificateAAD(rec.ClientCertificateID))
			if err != nil {
				return err
			}
			rec.SealedPrivateKey = sealed
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			err = tx.Create(ctx, model.KindClientCertificate, rec.ClientCertificateID, b)
			if !errors.Is(err, store.ErrExists) {
				return err
			}
		}
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, &rec.ClientCertificate, nil
}

func (a *API) loadClientCertificate(ctx context.Context, rd store.Reader, id string) (*model.ClientCertificateRecord, error) {
	rec := new(model.ClientCertificateRecord)
	if err := getJSON(ctx, rd, model.KindClientCertificate, id, rec, errClientCertificateNotFound); err != nil {
		return nil, err
	}
	return rec, nil
}

func (a *API) getClientCertificate(r *http.Request, _ []byte) (int, any, error) {
	rec, err := a.loadClientCertificate(r.Context(), a.Store, r.PathValue("cert"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &rec.ClientCertificate, nil
}

func (a *API) getClientCertificates(r *http.Request, _ []byte) (int, any, error) {
	recs, err := listJSON[model.ClientCertificateRecord](r.Context(), a.Store, model.KindClientCertificate, "")
	if err != nil {
		return 0, nil, err
	}
	certs := make([]*model.ClientCertificate, len(recs))
	for i, rec := range recs {
		certs[i] = &rec.ClientCertificate
	}
	p, err := paginate(r, certs, func(c *model.ClientCertificate) string { return c.ClientCertificateID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateClientCertificate(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateClientCertificateInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var rec *model.ClientCertificateRecord
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if rec, err = a.loadClientCertificate(ctx, tx, r.PathValue("cert")); err != nil {
			return err
		}
		for _, op := range ops {
			if len(op.Segs) != 1 || op.Segs[0] != "description" {
				return errPatchPath(op)
			}
			if err := patchString(op, &rec.Description); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, model.KindClientCertificate, rec.ClientCertificateID, rec)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &rec.ClientCertificate, nil
}

func (a *API) deleteClientCertificate(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		err := tx.Delete(ctx, model.KindClientCertificate, r.PathValue("cert"))
		if errors.Is(err, store.ErrNotFound) {
			return errClientCertificateNotFound
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// checkClientCertificate refuses a stage's clientCertificateId that names
// no client certificate, as AWS does.
func (a *API) checkClientCertificate(ctx context.Context, rd store.Reader, id string) error {
	if id == "" {
		return nil
	}
	if _, err := a.loadClientCertificate(ctx, rd, id); err != nil {
		if err == errClientCertificateNotFound {
			return errNoClientCertificate
		}
		return err
	}
	return nil
}
