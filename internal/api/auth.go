package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// OperatorID is the actor id of the bootstrap operator token in the audit log.
const OperatorID = "operator"

// tokenPrefix starts every token the API issues, so leaked ones are easy to grep for.
const tokenPrefix = "sbt_"

// principal is who a request authenticated as. Tenant "" is the operator.
type principal struct {
	ID, Name, Tenant string
	Edge             string // an edge token's edge (hybrid.go); "" otherwise
}

func (p principal) operator() bool { return p.Tenant == "" }

func (p principal) actor() provision.Actor { return provision.Actor{ID: p.ID, Name: p.Name} }

type principalKey struct{}

func who(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// hashToken is the hex SHA-256 of a token, as stored.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// authenticate requires "Authorization: Bearer <token>": the operator token
// (compared in constant time over SHA-256 digests) or a stored token, looked
// up by its hash.
func (s *server) authenticate(next http.Handler) http.Handler {
	operatorSum := sha256.Sum256([]byte(s.o.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			s.fail(w, r, errUnauthorized)
			return
		}
		sum := sha256.Sum256([]byte(tok))
		var p principal
		switch {
		case s.o.Token != "" && subtle.ConstantTimeCompare(sum[:], operatorSum[:]) == 1:
			p = principal{ID: OperatorID, Name: OperatorID}
		case s.o.Tokens != nil && strings.HasPrefix(tok, tokenPrefix):
			t, err := s.o.Tokens.TokenByHash(r.Context(), hex.EncodeToString(sum[:]))
			if errors.Is(err, store.ErrNotFound) {
				s.fail(w, r, errUnauthorized)
				return
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			p = principal{ID: t.ID, Name: t.Name, Tenant: t.Tenant}
			if p.Edge, err = s.tokenEdge(r.Context(), t.ID); err != nil {
				s.fail(w, r, err)
				return
			}
		default:
			s.fail(w, r, errUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// tenantScope answers 404 — exactly as for a tenant that does not exist —
// when a tenant token asks for another tenant, so names do not leak.
func (s *server) tenantScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := who(r)
		if t := tenantParam(r); !p.operator() && t != p.Tenant {
			s.fail(w, r, tenantNotFound(t))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// operatorOnly refuses tenant tokens.
func (s *server) operatorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !who(r).operator() {
			s.fail(w, r, errForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func tenantNotFound(name string) error {
	return fmt.Errorf("tenant %q: %w", name, provision.ErrNotFound)
}

// tenantParam is the unescaped {tenant} of the route.
func tenantParam(r *http.Request) string { return pathParam(r, "tenant") }

func pathParam(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// scopeTenant returns the tenant a tenant-filtered list may show: the
// token's own tenant for tenant tokens (404 when ?tenant= names another),
// ?tenant= (possibly "") for the operator.
func scopeTenant(r *http.Request) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("tenant"))
	p := who(r)
	if p.operator() {
		return q, nil
	}
	if q != "" && q != p.Tenant {
		return "", tenantNotFound(q)
	}
	return p.Tenant, nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name,omitempty"`
}

// newToken is the answer to POST /api/v1/tokens: the only time the secret is shown.
type newToken struct {
	store.Token
	Secret string `json:"token"`
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request) {
	if s.o.Tokens == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	var req tokenRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Tenant = strings.TrimSpace(req.Tenant)
	if errs := provision.Validate(provision.Document{Tenant: req.Tenant}); errs != nil {
		s.fail(w, r, &badRequest{Field: "tenant", Message: errs[0].Message})
		return
	}
	id, err := randomHex(6)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	secret, err := randomHex(24)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tok := tokenPrefix + id + "_" + secret
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = req.Tenant + "-admin"
	}
	t := store.Token{ID: id, Name: name, Tenant: req.Tenant, Hash: hashToken(tok),
		Created: time.Now().UTC(), CreatedBy: who(r).ID}
	if err := s.o.Tokens.CreateToken(r.Context(), t, tokenAudit(r, "create", t)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+id)
	writeJSON(w, http.StatusCreated, newToken{Token: t, Secret: tok})
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) {
	if s.o.Tokens == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	ts, err := s.o.Tokens.Tokens(r.Context(), strings.TrimSpace(r.URL.Query().Get("tenant")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeItems(w, ts)
}

func (s *server) deleteToken(w http.ResponseWriter, r *http.Request) {
	if s.o.Tokens == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	id := pathParam(r, "id")
	ts, err := s.o.Tokens.Tokens(r.Context(), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := store.Token{ID: id}
	for _, x := range ts {
		if x.ID == id {
			t = x
		}
	}
	if err := s.o.Tokens.DeleteToken(r.Context(), id, tokenAudit(r, "delete", t)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tokenAudit is the audit entry of creating or revoking t: kind "token",
// named by its id, with the token (never its secret nor hash) as the state
// after a creation or before a revocation.
func tokenAudit(r *http.Request, action string, t store.Token) pbx.AuditEntry {
	p := who(r)
	state, _ := json.Marshal(t)
	e := pbx.AuditEntry{Time: time.Now().UTC(), ActorID: p.ID, ActorName: p.Name, Tenant: t.Tenant,
		Action: action, Kind: "token", Name: t.ID}
	if action == "create" {
		e.After = state
	} else {
		e.Before = state
	}
	return e
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
