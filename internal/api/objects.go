package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// listKind lists the objects of one kind, by name, a page at a time.
func (s *server) listKind(k provision.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.o.Provision == nil {
			s.fail(w, r, errNotImplemented)
			return
		}
		limit, err := limitParam(r, defaultPageLimit, maxPageLimit)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		after := ""
		if c := r.URL.Query().Get("cursor"); c != "" {
			if after, err = decodeCursor(c); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		d, err := s.o.Provision.Tenant(r.Context(), tenantParam(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := page[any]{Items: []any{}}
		for _, it := range k.Items(d) {
			if after != "" && k.NameOf(it) <= after {
				continue
			}
			if len(p.Items) == limit {
				p.NextCursor = encodeCursor(k.NameOf(p.Items[len(p.Items)-1]))
				break
			}
			p.Items = append(p.Items, it)
		}
		writeJSON(w, http.StatusOK, p)
	}
}

func (s *server) getObject(k provision.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.o.Provision == nil {
			s.fail(w, r, errNotImplemented)
			return
		}
		d, err := s.o.Provision.Tenant(r.Context(), tenantParam(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		name := pathParam(r, "name")
		for _, it := range k.Items(d) {
			if k.NameOf(it) == name {
				writeJSON(w, http.StatusOK, it)
				return
			}
		}
		s.fail(w, r, fmt.Errorf("%s %q: %w", k.Singular, name, provision.ErrNotFound))
	}
}

// putObject creates or replaces one object. The body is the object; its
// name field may be left out (the URL names it) but must not contradict
// the URL. Lists of strings (domains, pstnUsages) take no body.
func (s *server) putObject(k provision.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.changeOptions(w, r)
		if !ok {
			return
		}
		tenant, name := tenantParam(r), pathParam(r, "name")
		item, err := decodeItem(w, r, k, name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		doc := k.Document(tenant, item)
		canon := k.Items(provision.Canonical(doc))[0]
		if got := k.NameOf(canon); got != name && !(k.Key != "name" && strings.EqualFold(got, name)) {
			field := k.Key
			if field == "" {
				field = "body"
			}
			s.fail(w, r, &badRequest{Field: field, Message: fmt.Sprintf("%q does not match the name in the URL (%q)", got, name)})
			return
		}
		res, err := s.o.Provision.ApplyWith(r.Context(), doc, o)
		created := false
		for _, c := range res.Changes {
			if c.Kind == k.Name && c.Action == provision.ActionCreate {
				created = true
			}
		}
		s.writeResult(w, r, res, err, created, r.URL.Path)
	}
}

// decodeItem reads the body of a PUT of one object of kind k.
func decodeItem(w http.ResponseWriter, r *http.Request, k provision.Kind, name string) (any, error) {
	if k.Key == "" { // a list of strings: the URL is the object
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return nil, &badRequest{Message: "cannot read request body"}
		}
		if b := bytes.TrimSpace(body); len(b) > 0 && !bytes.Equal(b, []byte("{}")) {
			var s string
			if json.Unmarshal(b, &s) != nil {
				return nil, &badRequest{Message: "request body must be empty or the name as a JSON string"}
			}
			return s, nil
		}
		return name, nil
	}
	p := k.New()
	if err := decodeStrict(w, r, p); err != nil {
		return nil, err
	}
	item := k.Deref(p)
	if k.NameOf(item) != "" {
		return item, nil
	}
	// Fill the name in from the URL.
	raw, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m[k.Key] = name
	if raw, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return k.Decode(raw)
}

func (s *server) deleteObject(k provision.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.changeOptions(w, r)
		if !ok {
			return
		}
		res, err := s.o.Provision.Delete(r.Context(), tenantParam(r), k, pathParam(r, "name"), o)
		if verrs, ok := err.(provision.ValidationErrors); ok {
			err = &inUse{errs: verrs}
		}
		s.writeResult(w, r, res, err, false, "")
	}
}

// inUse is a delete refused because what remains would be invalid
// (something still refers to the object): 409 with the problems.
type inUse struct{ errs provision.ValidationErrors }

func (e *inUse) Error() string { return "still in use: " + e.errs.Error() }
