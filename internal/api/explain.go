package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/planner"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// RouteTestRequest is the body of POST /api/v1/tenants/{tenant}/routeTest.
type RouteTestRequest struct {
	// User is the caller: a SIP address, user part, extension or number of
	// one of the tenant's users.
	User string `json:"user"`
	// Dial is the string the user dials, as typed ("555-0199", "+1 206 …").
	Dial string `json:"dial"`
}

// GatewayStatus is the live state of one PSTN gateway (PRODUCT.md §4). It
// is read-only and deliberately not part of the tenant document, so that
// "get -o yaml | apply -f -" stays a no-op.
type GatewayStatus struct {
	FQDN string `json:"fqdn"`
	// Status is Active, Demoted or Disabled; Unknown when the node has no
	// compiled routing for the tenant (see the server log).
	Status              string    `json:"status"`
	LastOptions         time.Time `json:"lastOptions,omitzero"` // last OPTIONS answered by or received from it
	LastFailure         time.Time `json:"lastFailure,omitzero"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	Sessions            int       `json:"sessions"`                        // concurrent calls through it now
	MaxSessions         int       `json:"maxConcurrentSessions,omitempty"` // 0: unlimited
	SessionAlert        bool      `json:"sessionAlert"`                    // at or above 90 % of maxConcurrentSessions
}

// StatusUnknown is the status of a configured gateway the node does not route with.
const StatusUnknown = "Unknown"

// routeTest explains where a call would go, without placing it.
func (s *server) routeTest(w http.ResponseWriter, r *http.Request) {
	if s.o.RouteTest == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	var req RouteTestRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var errs provision.ValidationErrors
	if strings.TrimSpace(req.User) == "" {
		errs = append(errs, provision.FieldError{Field: "user", Message: "required: the caller's SIP address, user part or extension"})
	}
	if req.Dial == "" {
		errs = append(errs, provision.FieldError{Field: "dial", Message: "required: the string the caller dials"})
	}
	if errs != nil {
		s.fail(w, r, &invalidRequest{errs: errs})
		return
	}
	d, err := s.o.RouteTest(r.Context(), tenantParam(r), strings.TrimSpace(req.User), req.Dial)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// gatewayStatuses lists the live state of every gateway of the tenant.
func (s *server) gatewayStatuses(w http.ResponseWriter, r *http.Request) {
	sts, err := s.statusOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeItems(w, sts)
}

// gatewayStatus is the live state of one gateway.
func (s *server) gatewayStatus(w http.ResponseWriter, r *http.Request) {
	sts, err := s.statusOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := pathParam(r, "name")
	for _, st := range sts {
		if strings.EqualFold(st.FQDN, name) {
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	k, _ := provision.KindByName("pstnGateways")
	s.fail(w, r, fmt.Errorf("%s %q: %w", k.Singular, name, provision.ErrNotFound))
}

// statusOf is the state of every gateway the tenant's document lists, by
// FQDN. The document is read first, so that a missing tenant answers
// exactly as on every other tenant route.
func (s *server) statusOf(r *http.Request) ([]GatewayStatus, error) {
	if s.o.Provision == nil {
		return nil, errNotImplemented
	}
	tenant := tenantParam(r)
	d, err := s.o.Provision.Tenant(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	if s.o.GatewayStatus == nil {
		return nil, errNotImplemented
	}
	live, err := s.o.GatewayStatus(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	out := make([]GatewayStatus, 0, len(d.PSTNGateways))
	for _, g := range d.PSTNGateways {
		i := slices.IndexFunc(live, func(st GatewayStatus) bool { return strings.EqualFold(st.FQDN, g.FQDN) })
		switch {
		case i >= 0:
			out = append(out, live[i])
		case !g.Enabled:
			out = append(out, GatewayStatus{FQDN: g.FQDN, Status: "Disabled", MaxSessions: g.MaxConcurrentSessions})
		default:
			out = append(out, GatewayStatus{FQDN: g.FQDN, Status: StatusUnknown, MaxSessions: g.MaxConcurrentSessions})
		}
	}
	slices.SortFunc(out, func(a, b GatewayStatus) int {
		return cmp.Compare(strings.ToLower(a.FQDN), strings.ToLower(b.FQDN))
	})
	return out, nil
}

// plan runs the decision guide (PRODUCT.md §1) on the answers in the body.
func (s *server) plan(w http.ResponseWriter, r *http.Request) {
	var a planner.Answers
	if err := decodeStrict(w, r, &a); err != nil {
		s.fail(w, r, err)
		return
	}
	op := planner.Operator{CallingPlanCountries: planner.DefaultCallingPlanCountries()}
	if s.o.Planner != nil {
		op = *s.o.Planner
	}
	rec, err := planner.Plan(a, op)
	var verrs planner.ValidationErrors
	if errors.As(err, &verrs) {
		fes := make(provision.ValidationErrors, len(verrs))
		for i, e := range verrs {
			fes[i] = provision.FieldError{Field: e.Field, Message: e.Message}
		}
		s.fail(w, r, &invalidRequest{errs: fes, what: "the answers"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// invalidRequest is a well-formed request whose values are wrong: 422 with
// every problem by field.
type invalidRequest struct {
	errs provision.ValidationErrors
	what string // "the answers"; empty: "the request"
}

func (e *invalidRequest) Error() string { return e.errs.Error() }

func (e *invalidRequest) detail() string {
	return fmt.Sprintf("%d problem(s) with %s", len(e.errs), cmp.Or(e.what, "the request"))
}
