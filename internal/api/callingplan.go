package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// CallingPlan is the operator's Calling Plan as the API serves it: the
// number inventory, usage and credits (issue 5). The composition root
// implements it over numbering.Service; nil answers 501.
type CallingPlan interface {
	// Search lists available numbers of the inventory.
	Search(ctx context.Context, f numbering.Filter) ([]numbering.Number, error)
	// Numbers lists a tenant's numbers.
	Numbers(ctx context.Context, tenant string) ([]numbering.Number, error)
	// Acquire gives the tenant numbers (listed, or Count matching the filter).
	Acquire(ctx context.Context, tenant string, req AcquireRequest) ([]numbering.Number, error)
	// Release returns a number to the inventory (quarantined before reuse).
	Release(ctx context.Context, tenant, number string, a provision.Actor) (numbering.Number, error)
	// Assign makes number the user's (lineUri, numberType CallingPlan).
	Assign(ctx context.Context, tenant, number, user string, a provision.Actor) ([]numbering.Number, error)
	// Unassign takes the number from its user.
	Unassign(ctx context.Context, tenant, number string, a provision.Actor) (numbering.Number, error)
	// Usage is the tenant's month ("" = current).
	Usage(ctx context.Context, tenant, month string) (numbering.Usage, error)
	// TopUp adds Communications Credits to the tenant's balance.
	TopUp(ctx context.Context, tenant string, amount numbering.Money, actor string) (Credits, error)
	// SetSpendLimit sets (nil removes) a user's monthly credit spend limit.
	SetSpendLimit(ctx context.Context, tenant, user string, limit *numbering.Money) error
}

// AcquireRequest is the body of POST .../numbers: the numbers listed, or
// else Count numbers of the inventory matching the filter.
type AcquireRequest struct {
	Numbers  []string `json:"numbers,omitempty"`
	Country  string   `json:"country,omitempty"`
	AreaCode string   `json:"areaCode,omitempty"`
	Type     string   `json:"type,omitempty"` // user | service
	Count    int      `json:"count,omitempty"`
}

// AssignRequest is the body of POST .../numbers/{number}/assign.
type AssignRequest struct {
	User string `json:"user"` // SIP address of a user of the tenant
}

// TopUpRequest is the body of POST .../credits.
type TopUpRequest struct {
	Amount numbering.Money `json:"amount"`
}

// Credits is a tenant's Communications Credits balance.
type Credits struct {
	Tenant  string          `json:"tenant"`
	Balance numbering.Money `json:"balance"`
}

// SpendLimitRequest is the body of POST .../spendLimits: a user's monthly
// credit spend limit; no monthlyLimit removes it.
type SpendLimitRequest struct {
	User         string           `json:"user"`
	MonthlyLimit *numbering.Money `json:"monthlyLimit"`
}

// callingPlanRoutes are the Calling Plan routes, appended to routes().
func (s *server) callingPlanRoutes() []route {
	const t = "/tenants/{tenant}"
	return []route{
		{method: http.MethodGet, path: "/numbers", summary: "Search the operator's number inventory for available numbers (Calling Plan)",
			handler: s.searchNumbers, query: []string{"country", "areaCode", "type", "limit"}, response: typeOf[list[numbering.Number]]()},
		{method: http.MethodGet, path: t + "/numbers", summary: "The tenant's Calling Plan numbers: acquired, assigned",
			handler: s.listNumbers, tenantScoped: true, response: typeOf[list[numbering.Number]]()},
		{method: http.MethodPost, path: t + "/numbers", summary: "Acquire numbers from the inventory: the numbers listed, or count numbers matching country, areaCode and type",
			handler: s.acquireNumbers, tenantScoped: true, body: typeOf[AcquireRequest](), response: typeOf[list[numbering.Number]]()},
		{method: http.MethodDelete, path: t + "/numbers/{number}", summary: "Release a number: it leaves the tenant and its user and is quarantined before reuse",
			handler: s.releaseNumber, tenantScoped: true, response: typeOf[numbering.Number]()},
		{method: http.MethodPost, path: t + "/numbers/{number}/assign", summary: "Assign a user number to a user (its lineUri, numberType CallingPlan); the user's previous number is unassigned",
			handler: s.assignNumber, tenantScoped: true, body: typeOf[AssignRequest](), response: typeOf[list[numbering.Number]](), ok: http.StatusOK},
		{method: http.MethodPost, path: t + "/numbers/{number}/unassign", summary: "Unassign a number from its user; the tenant keeps it",
			handler: s.unassignNumber, tenantScoped: true, response: typeOf[numbering.Number](), ok: http.StatusOK},
		{method: http.MethodGet, path: t + "/usage", summary: "Calling Plan usage of a month (default: this one, UTC): pools (minutes included, used, left), credits, per user",
			handler: s.usage, tenantScoped: true, query: []string{"month"}, response: typeOf[numbering.Usage]()},
		{method: http.MethodPost, path: t + "/credits", summary: "Top up the tenant's Communications Credits (operator only)",
			handler: s.topUp, tenantScoped: true, operatorOnly: true, body: typeOf[TopUpRequest](), response: typeOf[Credits](), ok: http.StatusOK},
		{method: http.MethodPost, path: t + "/spendLimits", summary: "Set a user's monthly Communications Credits spend limit (monthlyLimit absent or null removes it)",
			handler: s.setSpendLimit, tenantScoped: true, body: typeOf[SpendLimitRequest](), ok: http.StatusNoContent},
	}
}

// cpError gives the Calling Plan's errors the meaning toProblem knows.
func cpError(err error) error {
	switch {
	case errors.Is(err, numbering.ErrInvalid):
		msg := strings.TrimPrefix(err.Error(), numbering.ErrInvalid.Error()+": ")
		return &invalidRequest{errs: provision.ValidationErrors{{Field: "request", Message: msg}}}
	case errors.Is(err, numbering.ErrNotFound):
		return fmt.Errorf("%w (%w)", err, store.ErrNotFound)
	case errors.Is(err, numbering.ErrConflict):
		return fmt.Errorf("%w (%w)", err, store.ErrConflict)
	}
	return err
}

func (s *server) cp(w http.ResponseWriter, r *http.Request) (CallingPlan, bool) {
	if s.o.CallingPlan == nil {
		s.fail(w, r, errNotImplemented)
		return nil, false
	}
	return s.o.CallingPlan, true
}

// cpTenant is cp for a route of one tenant, which must exist (404 as for
// any other tenant route otherwise).
func (s *server) cpTenant(w http.ResponseWriter, r *http.Request) (CallingPlan, string, bool) {
	tenant := tenantParam(r)
	if s.o.Provision != nil {
		if _, err := s.o.Provision.Tenant(r.Context(), tenant); err != nil {
			s.fail(w, r, err)
			return nil, "", false
		}
	}
	cp, ok := s.cp(w, r)
	return cp, tenant, ok
}

var e164Param = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// numberParam is the {number} of the path, which must be E.164.
func numberParam(r *http.Request) (string, error) {
	n := strings.TrimSpace(pathParam(r, "number"))
	if !e164Param.MatchString(n) {
		return "", &badRequest{Field: "number", Message: fmt.Sprintf("%q is not an E.164 number", n)}
	}
	return n, nil
}

// searchNumbers lists available numbers; a node without a Calling Plan
// has none.
func (s *server) searchNumbers(w http.ResponseWriter, r *http.Request) {
	cp := s.o.CallingPlan
	if cp == nil {
		writeItems(w, []numbering.Number{})
		return
	}
	q := r.URL.Query()
	f := numbering.Filter{Country: q.Get("country"), AreaCode: q.Get("areaCode"), Type: q.Get("type")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, &badRequest{Field: "limit", Message: fmt.Sprintf("%q is not a positive integer", v)})
			return
		}
		f.Limit = n
	}
	ns, err := cp.Search(r.Context(), f)
	if err != nil {
		s.fail(w, r, cpError(err))
		return
	}
	writeItems(w, ns)
}

func (s *server) listNumbers(w http.ResponseWriter, r *http.Request) {
	if cp, tenant, ok := s.cpTenant(w, r); ok {
		ns, err := cp.Numbers(r.Context(), tenant)
		if err != nil {
			s.fail(w, r, cpError(err))
			return
		}
		writeItems(w, ns)
	}
}

func (s *server) acquireNumbers(w http.ResponseWriter, r *http.Request) {
	cp, tenant, ok := s.cpTenant(w, r)
	if !ok {
		return
	}
	var req AcquireRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ns, err := cp.Acquire(r.Context(), tenant, req)
	if err != nil {
		s.fail(w, r, cpError(err))
		return
	}
	writeJSON(w, http.StatusCreated, list[numbering.Number]{Items: ns})
}

func (s *server) releaseNumber(w http.ResponseWriter, r *http.Request) {
	s.numberChange(w, r, func(cp CallingPlan, r *http.Request, tenant, num string) (numbering.Number, error) {
		return cp.Release(r.Context(), tenant, num, who(r).actor())
	})
}

// numberChange runs one change of a tenant's number (release, unassign)
// and answers with the number as it is afterwards.
func (s *server) numberChange(w http.ResponseWriter, r *http.Request,
	change func(cp CallingPlan, r *http.Request, tenant, num string) (numbering.Number, error)) {
	cp, tenant, ok := s.cpTenant(w, r)
	if !ok {
		return
	}
	num, err := numberParam(r)
	if err == nil {
		var n numbering.Number
		if n, err = change(cp, r, tenant, num); err == nil {
			writeJSON(w, http.StatusOK, n)
			return
		}
	}
	s.fail(w, r, cpError(err))
}

func (s *server) assignNumber(w http.ResponseWriter, r *http.Request) {
	cp, tenant, ok := s.cpTenant(w, r)
	if !ok {
		return
	}
	var req AssignRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	num, err := numberParam(r)
	if err == nil {
		var ns []numbering.Number
		if ns, err = cp.Assign(r.Context(), tenant, num, req.User, who(r).actor()); err == nil {
			writeItems(w, ns)
			return
		}
	}
	s.fail(w, r, cpError(err))
}

func (s *server) unassignNumber(w http.ResponseWriter, r *http.Request) {
	s.numberChange(w, r, func(cp CallingPlan, r *http.Request, tenant, num string) (numbering.Number, error) {
		return cp.Unassign(r.Context(), tenant, num, who(r).actor())
	})
}

func (s *server) usage(w http.ResponseWriter, r *http.Request) {
	if cp, tenant, ok := s.cpTenant(w, r); ok {
		u, err := cp.Usage(r.Context(), tenant, r.URL.Query().Get("month"))
		if err != nil {
			s.fail(w, r, cpError(err))
			return
		}
		writeJSON(w, http.StatusOK, u)
	}
}

func (s *server) topUp(w http.ResponseWriter, r *http.Request) {
	cp, tenant, ok := s.cpTenant(w, r)
	if !ok {
		return
	}
	var req TopUpRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := cp.TopUp(r.Context(), tenant, req.Amount, who(r).actor().Name)
	if err != nil {
		s.fail(w, r, cpError(err))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) setSpendLimit(w http.ResponseWriter, r *http.Request) {
	cp, tenant, ok := s.cpTenant(w, r)
	if !ok {
		return
	}
	var req SpendLimitRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.MonthlyLimit != nil && *req.MonthlyLimit < 0 {
		s.fail(w, r, &badRequest{Field: "monthlyLimit", Message: "must not be negative"})
		return
	}
	if err := cp.SetSpendLimit(r.Context(), tenant, req.User, req.MonthlyLimit); err != nil {
		s.fail(w, r, cpError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
