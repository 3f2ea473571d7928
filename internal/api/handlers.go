package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// List limits.
const (
	defaultCDRLimit  = 100
	maxCDRLimit      = 10000
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// page is a paginated collection: pass nextCursor as ?cursor= for the next page.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// applyOptions reads ?dryRun= and ?prune= and the actor of the request.
func applyOptions(r *http.Request) (provision.Options, error) {
	o := provision.Options{Actor: who(r).actor()}
	var err error
	if o.DryRun, err = boolParam(r, "dryRun"); err != nil {
		return o, err
	}
	o.Prune, err = boolParam(r, "prune")
	return o, err
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &badRequest{Field: name, Message: fmt.Sprintf("%q is not true or false", v)}
	}
	return b, nil
}

// putTenant applies a tenant document: 201 when the tenant was created, 200
// otherwise, with the provision.Result.
func (s *server) putTenant(w http.ResponseWriter, r *http.Request) {
	o, ok := s.changeOptions(w, r)
	if !ok {
		return
	}
	var doc provision.Document
	if err := decodeStrict(w, r, &doc); err != nil {
		s.fail(w, r, err)
		return
	}
	name := tenantParam(r)
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
	res, err := s.o.Provision.ApplyWith(r.Context(), doc, o)
	s.writeResult(w, r, res, err, res.Created, "/api/v1/tenants/"+res.Tenant)
}

// writeResult answers an apply: 201 with Location when created (and not a
// dry run), else 200.
func (s *server) writeResult(w http.ResponseWriter, r *http.Request, res provision.Result, err error, created bool, location string) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created && !res.DryRun {
		status = http.StatusCreated
		w.Header().Set("Location", location)
	}
	writeJSON(w, status, res)
}

func (s *server) getTenant(w http.ResponseWriter, r *http.Request) {
	if s.o.Provision == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	d, err := s.o.Provision.Tenant(r.Context(), tenantParam(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *server) deleteTenant(w http.ResponseWriter, r *http.Request) {
	o, ok := s.changeOptions(w, r)
	if !ok {
		return
	}
	res, err := s.o.Provision.DeleteTenant(r.Context(), tenantParam(r), o)
	s.writeResult(w, r, res, err, false, "")
}

func (s *server) getSettings(w http.ResponseWriter, r *http.Request) {
	if s.o.Provision == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	d, err := s.o.Provision.Tenant(r.Context(), tenantParam(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	settings := provision.Settings{}
	if d.Settings != nil {
		settings = *d.Settings
	}
	writeJSON(w, http.StatusOK, settings)
}

func (s *server) putSettings(w http.ResponseWriter, r *http.Request) {
	o, ok := s.changeOptions(w, r)
	if !ok {
		return
	}
	var settings provision.Settings
	if err := decodeStrict(w, r, &settings); err != nil {
		s.fail(w, r, err)
		return
	}
	name := tenantParam(r)
	if _, err := s.o.Provision.Tenant(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.o.Provision.ApplyWith(r.Context(), provision.Document{Tenant: name, Settings: &settings}, o)
	s.writeResult(w, r, res, err, false, "")
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
	if p := who(r); !p.operator() {
		tenants = slices.DeleteFunc(tenants, func(t pbx.Tenant) bool { return t.Name != p.Tenant })
	}
	writeItems(w, tenants)
}

// limitParam reads ?limit= (def when absent, 1..max).
func limitParam(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, &badRequest{Field: "limit", Message: fmt.Sprintf("%q is not a whole number from 1 to %d", v, max)}
	}
	return n, nil
}

func (s *server) listCDRs(w http.ResponseWriter, r *http.Request) {
	if s.o.CDRs == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	tenant, err := scopeTenant(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := pbx.CDRFilter{Tenant: tenant}
	if f.Limit, err = limitParam(r, defaultCDRLimit, maxCDRLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	cdrs, err := s.o.CDRs(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeItems(w, cdrs)
}

func (s *server) listAudit(w http.ResponseWriter, r *http.Request) {
	if s.o.Audit == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	tenant, err := scopeTenant(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := pbx.AuditFilter{Tenant: tenant}
	if f.Limit, err = limitParam(r, defaultPageLimit, maxPageLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before < 1 {
			s.fail(w, r, &badRequest{Field: "cursor", Message: fmt.Sprintf("%q is not a cursor of this list", c)})
			return
		}
	}
	entries, err := s.o.Audit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := page[pbx.AuditEntry]{Items: entries}
	if p.Items == nil {
		p.Items = []pbx.AuditEntry{}
	}
	if len(entries) == f.Limit {
		p.NextCursor = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, p)
}

// listRegistrations lists current bindings sorted by AOR then contact,
// optionally only those whose AOR domain belongs to ?tenant= (always the
// token's own tenant for tenant tokens).
func (s *server) listRegistrations(w http.ResponseWriter, r *http.Request) {
	if s.o.Registrations == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	name, err := scopeTenant(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var domains map[string]bool
	if name != "" {
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

// tenant finds a tenant by name; provision.ErrNotFound (wrapped) when absent.
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
	return pbx.Tenant{}, tenantNotFound(name)
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

func encodeCursor(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", &badRequest{Field: "cursor", Message: fmt.Sprintf("%q is not a cursor of this list", c)}
	}
	return string(b), nil
}

// changeOptions is the prologue of every handler that changes a tenant:
// provisioning must be wired, and ?dryRun=&prune= must parse. It answers
// the request itself when not.
func (s *server) changeOptions(w http.ResponseWriter, r *http.Request) (provision.Options, bool) {
	if s.o.Provision == nil {
		s.fail(w, r, errNotImplemented)
		return provision.Options{}, false
	}
	o, err := applyOptions(r)
	if err != nil {
		s.fail(w, r, err)
		return provision.Options{}, false
	}
	return o, true
}
