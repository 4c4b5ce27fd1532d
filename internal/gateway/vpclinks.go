package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apigw/apigw/internal/model"
)

// vpcLinkTable is where the VPC links of the store lead on this node: each
// AVAILABLE link's target address (from --vpc-link-target), or why it
// cannot be used. It implements integration.VpcLinks.
type vpcLinkTable map[string]vpcLinkEntry

type vpcLinkEntry struct {
	addr string
	err  error
}

// VpcLinkTarget returns the address of link id's target.
func (t vpcLinkTable) VpcLinkTarget(id string) (string, error) {
	e, ok := t[id]
	if !ok {
		return "", fmt.Errorf("VPC link %s does not exist", id)
	}
	if e.err == nil && e.addr == "" {
		return "", fmt.Errorf("VPC link %s has no target address", id)
	}
	return e.addr, e.err
}

// loadVpcLinks reads every VPC link and resolves its target with the
// gateway's VpcLinkTargets.
func (g *Gateway) loadVpcLinks(ctx context.Context) (vpcLinkTable, error) {
	items, err := g.Store.List(ctx, model.KindVpcLink, "")
	if err != nil {
		return nil, err
	}
	t := make(vpcLinkTable, len(items))
	for _, it := range items {
		var l model.VpcLink
		if err := json.Unmarshal(it.Value, &l); err != nil {
			return nil, fmt.Errorf("gateway: decode VPC link %s: %w", it.Key, err)
		}
		var e vpcLinkEntry
		switch {
		case l.Status != model.VpcLinkAvailable:
			e.err = fmt.Errorf("VPC link %s is %s, not AVAILABLE", l.ID, l.Status)
		case len(l.TargetArns) == 0:
			e.err = fmt.Errorf("VPC link %s has no target", l.ID)
		default:
			addr, ok := g.VpcLinkTargets[l.TargetArns[0]]
			if !ok {
				e.err = fmt.Errorf("VPC link %s: its target %s has no address on this node (--vpc-link-target)", l.ID, l.TargetArns[0])
			}
			e.addr = addr
		}
		t[l.ID] = e
	}
	return t, nil
}
