package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// vpcLinkIDLen is the length of AWS's VPC link ids (6 lowercase
// alphanumerics, like client certificates').
const vpcLinkIDLen = 6

// vpcLinkAvailable is the statusMessage AWS gives a link that is ready.
const vpcLinkAvailable = "Your vpc link is ready for use"

func (a *API) createVpcLink(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Name        *string           `json:"name"`
		Description string            `json:"description"`
		TargetArns  []string          `json:"targetArns"`
		Tags        map[string]string `json:"tags"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.Name == nil:
		return 0, nil, validation("1 validation error detected: Value null at 'createVpcLinkInput.name' failed to satisfy constraint: Member must not be null")
	case in.TargetArns == nil:
		return 0, nil, validation("1 validation error detected: Value null at 'createVpcLinkInput.targetArns' failed to satisfy constraint: Member must not be null")
	case strings.TrimSpace(*in.Name) == "":
		return 0, nil, badRequest("Vpc link name must be non-empty")
	case len(in.TargetArns) != 1:
		// REST APIs' VPC links name exactly one network load balancer.
		return 0, nil, badRequest("Exactly one target ARN must be specified: a VPC link of a REST API targets one network load balancer")
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	link := &model.VpcLink{Name: *in.Name, Description: in.Description, TargetArns: in.TargetArns,
		Status: model.VpcLinkPending, StatusMessage: "VPC link is provisioning ENIs", Tags: in.Tags}
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		for {
			link.ID = newID(vpcLinkIDLen)
			b, err := json.Marshal(link)
			if err != nil {
				return err
			}
			if err := tx.Create(ctx, model.KindVpcLink, link.ID, b); !errors.Is(err, store.ErrExists) {
				return err
			}
		}
	})
	if err != nil {
		return 0, nil, err
	}
	// Answered PENDING, as on AWS; the link settles once the answer is out
	// (apigw has no ENIs to provision, so that is at once).
	go a.settleVpcLink(context.WithoutCancel(ctx), link.ID)
	return http.StatusAccepted, link, nil
}

// settleVpcLink moves a PENDING link to AVAILABLE when every target ARN is
// mapped to an address (--vpc-link-target), to FAILED otherwise.
func (a *API) settleVpcLink(ctx context.Context, id string) {
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		link := new(model.VpcLink)
		if err := getJSON(ctx, tx, model.KindVpcLink, id, link, errNoVpcLink); err != nil {
			return err
		}
		if link.Status != model.VpcLinkPending {
			return nil
		}
		link.Status, link.StatusMessage = model.VpcLinkAvailable, vpcLinkAvailable
		for _, arn := range link.TargetArns {
			if _, ok := a.VpcLinkTargets[arn]; !ok {
				link.Status = model.VpcLinkFailed
				link.StatusMessage = fmt.Sprintf("NLB ARN %s has no address: start apigw with --vpc-link-target %s=host:port", arn, arn)
				break
			}
		}
		return putJSON(ctx, tx, model.KindVpcLink, id, link)
	})
	if errors.Is(err, errNoVpcLink) {
		return // deleted meanwhile
	}
	if err != nil {
		a.log().Error("vpc link not settled", "id", id, "err", err)
		return
	}
	if a.Committed != nil {
		a.Committed(ctx)
	}
}

// SettleVpcLinks settles the links left PENDING by a process that stopped
// before it settled them. The server calls it at start.
func (a *API) SettleVpcLinks(ctx context.Context) error {
	links, err := listJSON[model.VpcLink](ctx, a.Store, model.KindVpcLink, "")
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.Status == model.VpcLinkPending {
			a.settleVpcLink(ctx, l.ID)
		}
	}
	return nil
}

func (a *API) loadVpcLink(ctx context.Context, rd store.Reader, id string) (*model.VpcLink, error) {
	link := new(model.VpcLink)
	if err := getJSON(ctx, rd, model.KindVpcLink, id, link, errNoVpcLink); err != nil {
		return nil, err
	}
	return link, nil
}

func (a *API) getVpcLink(r *http.Request, _ []byte) (int, any, error) {
	link, err := a.loadVpcLink(r.Context(), a.Store, r.PathValue("link"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, link, nil
}

func (a *API) getVpcLinks(r *http.Request, _ []byte) (int, any, error) {
	links, err := listJSON[model.VpcLink](r.Context(), a.Store, model.KindVpcLink, "")
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, links, func(l *model.VpcLink) string { return l.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateVpcLink(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateVpcLinkInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var link *model.VpcLink
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if link, err = a.loadVpcLink(ctx, tx, r.PathValue("link")); err != nil {
			return err
		}
		for _, op := range ops {
			if len(op.Segs) != 1 {
				return errPatchPath(op)
			}
			switch op.Segs[0] {
			case "name":
				if err := patchString(op, &link.Name); err != nil {
					return err
				}
				if strings.TrimSpace(link.Name) == "" {
					return badRequest("Vpc link name must be non-empty")
				}
			case "description":
				if err := patchString(op, &link.Description); err != nil {
					return err
				}
			default:
				return errPatchPath(op)
			}
		}
		return putJSON(ctx, tx, model.KindVpcLink, link.ID, link)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, link, nil
}

func (a *API) deleteVpcLink(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	id := r.PathValue("link")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadVpcLink(ctx, tx, id); err != nil {
			return err
		}
		users, err := vpcLinkUsers(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return badRequest("Cannot delete vpc link. Vpc link '%s', is referenced in [%s] in format of [Method:Resource].", id, strings.Join(users, ", "))
		}
		return tx.Delete(ctx, model.KindVpcLink, id)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// vpcLinkUsers lists the methods whose integration names the link, as
// "METHOD:resourceId".
func vpcLinkUsers(ctx context.Context, rd store.Reader, id string) ([]string, error) {
	resources, err := listJSON[model.Resource](ctx, rd, model.KindResource, "")
	if err != nil {
		return nil, err
	}
	var users []string
	for _, res := range resources {
		for name, m := range res.ResourceMethods {
			if ig := m.MethodIntegration; ig != nil && ig.ConnectionType == "VPC_LINK" && ig.ConnectionID == id {
				users = append(users, name+":"+res.ID)
			}
		}
	}
	sort.Strings(users)
	return users, nil
}

// checkVpcLink refuses a VPC_LINK integration whose connectionId names no
// link. One that a stage variable names is checked when it is called.
func checkVpcLink(ctx context.Context, rd store.Reader, in *model.Integration) error {
	if in.ConnectionType != "VPC_LINK" || strings.HasPrefix(in.ConnectionID, "${stageVariables.") {
		return nil
	}
	_, err := rd.Get(ctx, model.KindVpcLink, in.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoVpcLink
	}
	return err
}
