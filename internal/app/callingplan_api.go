package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// cpAPI serves the Calling Plan's API routes. Assigning a number also makes
// it the user's lineUri with numberType CallingPlan (through provisioning:
// validated, audited, applied live); releasing or unassigning it clears them.
type cpAPI struct {
	cp   *callingPlan
	prov *provision.Service
}

// api returns the API side of the Calling Plan (nil when there is none).
func (cp *callingPlan) api(prov *provision.Service) api.CallingPlan {
	if cp == nil {
		return nil
	}
	return &cpAPI{cp: cp, prov: prov}
}

var _ api.CallingPlan = (*cpAPI)(nil)

func (a *cpAPI) Search(_ context.Context, f numbering.Filter) ([]numbering.Number, error) {
	return a.cp.svc.Search(f)
}

func (a *cpAPI) Numbers(_ context.Context, tenant string) ([]numbering.Number, error) {
	return a.cp.svc.Numbers(tenant), nil
}

func (a *cpAPI) Acquire(ctx context.Context, tenant string, req api.AcquireRequest) ([]numbering.Number, error) {
	return a.cp.svc.Acquire(ctx, tenant, req.Numbers,
		numbering.Filter{Country: req.Country, AreaCode: req.AreaCode, Type: req.Type}, req.Count)
}

func (a *cpAPI) Release(ctx context.Context, tenant, number string, actor provision.Actor) (numbering.Number, error) {
	n, err := a.cp.svc.Release(ctx, tenant, number)
	if err != nil {
		return n, err
	}
	return n, a.clearLine(ctx, tenant, number, actor)
}

func (a *cpAPI) Assign(ctx context.Context, tenant, number, user string, actor provision.Actor) ([]numbering.Number, error) {
	u, ok := a.cp.dir().Resolve(tenant, strings.TrimSpace(user))
	if !ok || u.Tenant != tenant {
		return nil, fmt.Errorf("%w: %q is not a user of tenant %q", numbering.ErrNotFound, user, tenant)
	}
	ns, err := a.cp.svc.Assign(ctx, tenant, number, u.SIPAddress)
	if err != nil {
		return nil, err
	}
	if err := a.setLine(ctx, tenant, u.SIPAddress, number, "CallingPlan", actor); err != nil {
		if _, uerr := a.cp.svc.Unassign(ctx, tenant, number); uerr != nil {
			a.cp.log.Error("calling plan: undo assignment", "number", number, "err", uerr)
		}
		return nil, err
	}
	return ns, nil
}

func (a *cpAPI) Unassign(ctx context.Context, tenant, number string, actor provision.Actor) (numbering.Number, error) {
	n, err := a.cp.svc.Unassign(ctx, tenant, number)
	if err != nil {
		return n, err
	}
	return n, a.clearLine(ctx, tenant, number, actor)
}

// clearLine takes number off the user whose lineUri it is, if any.
func (a *cpAPI) clearLine(ctx context.Context, tenant, number string, actor provision.Actor) error {
	u, ok := a.cp.dir().Resolve(tenant, number)
	if !ok || u.Number() != number {
		return nil
	}
	return a.setLine(ctx, tenant, u.SIPAddress, "", "", actor)
}

// setLine sets a user's lineUri and numberType through provisioning.
func (a *cpAPI) setLine(ctx context.Context, tenant, addr, lineURI, numberType string, actor provision.Actor) error {
	if a.prov == nil {
		return nil
	}
	doc, err := a.prov.Tenant(ctx, tenant)
	if err != nil {
		return err
	}
	for _, spec := range doc.Users {
		if !strings.EqualFold(spec.SIPAddress, addr) {
			continue
		}
		spec.LineURI, spec.NumberType = lineURI, numberType
		_, err := a.prov.ApplyWith(ctx, provision.Document{Tenant: tenant, Users: []provision.UserSpec{spec}},
			provision.Options{Actor: actor})
		return err
	}
	return fmt.Errorf("%w: user %s of tenant %q", numbering.ErrNotFound, addr, tenant)
}

func (a *cpAPI) Usage(_ context.Context, tenant, month string) (numbering.Usage, error) {
	return a.cp.svc.Usage(tenant, month)
}

func (a *cpAPI) TopUp(ctx context.Context, tenant string, amount numbering.Money, actor string) (api.Credits, error) {
	bal, err := a.cp.svc.TopUp(ctx, tenant, amount, actor)
	if err != nil {
		return api.Credits{}, err
	}
	a.cp.log.Info("calling plan: credits topped up", "tenant", tenant, "amount", amount.String(),
		"balance", bal.String(), "by", actor)
	return api.Credits{Tenant: tenant, Balance: bal}, nil
}

func (a *cpAPI) SetSpendLimit(ctx context.Context, tenant, user string, limit *numbering.Money) error {
	l := numbering.Money(-1)
	if limit != nil {
		l = *limit
	}
	return a.cp.svc.SetSpendLimit(ctx, tenant, user, l)
}
