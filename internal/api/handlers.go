package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// CDR list limits.
const (
	defaultCDRLimit = 100
	maxCDRLimit     = 10000
)

// putTenant applies a tenant document: 201 when the tenant was created, 200
// otherwise, with the provision.Result.
func (s *server) putTenant(w http.ResponseWriter, r *http.Request) {
	if s.o.Provision == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	var doc provision.Document
	if err := decodeStrict(w, r, &doc); err != nil {
		s.fail(w, r, err)
		return
	}
	name := chi.URLParam(r, "tenant")
	if got := strings.TrimSpace(doc.Tenant); got != name {
		errs := provision.Validate(doc)
		if !slices.ContainsFunc(errs, func(e provision.FieldError) bool { return e.Field == "tenant" }) {
			mismatch := provision.FieldError{Field: "tenant",
				Message: fmt.Sprintf("%q does not match the tenant in the URL (%q)", got, name)}
			errs = append(provision.ValidationErrors{mismatch}, errs...)
		}
		s.fail(w, r, errs)
		return
	}
	res, err := s.o.Provision.Apply(r.Context(), doc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/tenants/"+res.Tenant)
	}
	writeJSON(w, status, res)
}

func (s *server) listTenants(w http.ResponseWriter, r *http.Request) {
	if s.o.Tenants == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	tenants, err := s.o.Tenants(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeItems(w, tenants)
}

// listUsers lists a tenant's users without their credentials.
func (s *server) listUsers(w http.ResponseWriter, r *http.Request) {
	if s.o.Tenants == nil || s.o.Users == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	t, err := s.tenant(r.Context(), chi.URLParam(r, "tenant"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	users, err := s.o.Users(r.Context(), t.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range users {
		users[i].Credentials = nil
	}
	writeItems(w, users)
}

func (s *server) listCDRs(w http.ResponseWriter, r *http.Request) {
	if s.o.CDRs == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	q := r.URL.Query()
	f := pbx.CDRFilter{Tenant: strings.TrimSpace(q.Get("tenant")), Limit: defaultCDRLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCDRLimit {
			s.fail(w, r, &badRequest{Field: "limit",
				Message: fmt.Sprintf("%q is not a whole number from 1 to %d", v, maxCDRLimit)})
			return
		}
		f.Limit = n
	}
	cdrs, err := s.o.CDRs(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeItems(w, cdrs)
}

// listRegistrations lists current bindings sorted by AOR then contact,
// optionally only those whose AOR domain belongs to ?tenant=.
func (s *server) listRegistrations(w http.ResponseWriter, r *http.Request) {
	if s.o.Registrations == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	var domains map[string]bool
	if name := strings.TrimSpace(r.URL.Query().Get("tenant")); name != "" {
		if s.o.Tenants == nil {
			s.fail(w, r, errNotImplemented)
			return
		}
		t, err := s.tenant(r.Context(), name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		domains = make(map[string]bool, len(t.Domains))
		for _, d := range t.Domains {
			domains[strings.ToLower(d)] = true
		}
	}
	var out []pbx.Binding
	for _, b := range s.o.Registrations() {
		if domains == nil || domains[aorDomain(b.AOR)] {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b pbx.Binding) int {
		return cmp.Or(strings.Compare(a.AOR, b.AOR), strings.Compare(a.Contact, b.Contact))
	})
	writeItems(w, out)
}

// tenant finds a tenant by name; store.ErrNotFound (wrapped) when absent.
func (s *server) tenant(ctx context.Context, name string) (pbx.Tenant, error) {
	tenants, err := s.o.Tenants(ctx)
	if err != nil {
		return pbx.Tenant{}, err
	}
	for _, t := range tenants {
		if t.Name == name {
			return t, nil
		}
	}
	return pbx.Tenant{}, fmt.Errorf("tenant %q: %w", name, store.ErrNotFound)
}

// aorDomain returns the lowercased host of an address of record, tolerating
// a "sip:" scheme and URI parameters.
func aorDomain(aor string) string {
	aor = strings.TrimPrefix(strings.ToLower(aor), "sip:")
	_, host, _ := strings.Cut(aor, "@")
	host, _, _ = strings.Cut(host, ";")
	host, _, _ = strings.Cut(host, ":")
	return host
}
