package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// Hybrid is the cloud–edge part of a node (issue 6) as the API serves it.
// The composition root implements it; nil answers 501 (status: standalone).
type Hybrid interface {
	// Sync returns the configuration snapshot of tenant for edge (JSON)
	// and its ETag, or notModified when ifNoneMatch names that ETag.
	Sync(ctx context.Context, tenant, edge, ifNoneMatch string) (body []byte, etag string, notModified bool, err error)
	// Edges lists the edges of a tenant with their status.
	Edges(ctx context.Context, tenant string) ([]hybrid.EdgeStatus, error)
	// UploadCDRs stores the CDRs an edge made, each Call-ID once.
	UploadCDRs(ctx context.Context, tenant, edge string, cdrs []pbx.CDR) (hybrid.UploadResult, error)
	// Status is the node's hybrid status.
	Status(ctx context.Context) hybrid.NodeStatus
	// TokenEdge returns the edge a token belongs to, "" for others.
	TokenEdge(ctx context.Context, tokenID string) (string, error)
	// CreateEdgeToken stores an edge token (the edge must exist).
	CreateEdgeToken(ctx context.Context, t store.Token, edge string) error
}

// maxUpload bounds a CDR upload body.
const maxUpload = 16 << 20

var errEdgeToken = fmt.Errorf("an edge token may only sync its edge and upload its CDRs: %w", errForbidden)

// EdgeTokenRequest is the body of POST .../edges/{name}/tokens.
type EdgeTokenRequest struct {
	Name string `json:"name,omitempty"` // default edge-NAME
}

// hybridRoutes are the cloud–edge routes (appended to routes()).
func (s *server) hybridRoutes() []route {
	const t = "/tenants/{tenant}"
	return []route{
		{method: http.MethodGet, path: t + "/edges/{name}/sync", summary: "An edge's configuration snapshot: the tenant, its users with HA1 credentials and every object; ETag and If-None-Match (304). Operator or that edge's token only",
			handler: s.edgeSync, tenantScoped: true, edge: true, response: typeOf[hybrid.Snapshot]()},
		{method: http.MethodPost, path: t + "/edges/{name}/cdrs", summary: "Upload the CDRs an edge made (kept while the cloud was out of reach); idempotent by Call-ID. Operator or that edge's token only",
			handler: s.edgeCDRs, tenantScoped: true, edge: true, body: typeOf[hybrid.CDRBatch](),
			response: typeOf[hybrid.UploadResult](), ok: http.StatusOK},
		{method: http.MethodGet, path: t + "/edgeStatus", summary: "Every edge of the tenant with its status: connected (synced within 10 s), survivable (running on its own), unknown",
			handler: s.edgeStatuses, tenantScoped: true, response: typeOf[list[hybrid.EdgeStatus]]()},
		{method: http.MethodGet, path: t + "/edges/{name}/status", summary: "One edge's status",
			handler: s.edgeStatus, tenantScoped: true, response: typeOf[hybrid.EdgeStatus]()},
		{method: http.MethodPost, path: t + "/edges/{name}/tokens", summary: "Create the token an edge authenticates with (operator only); the secret is only shown here",
			handler: s.createEdgeToken, tenantScoped: true, operatorOnly: true, body: typeOf[EdgeTokenRequest](),
			response: typeOf[newToken]()},
		{method: http.MethodPost, path: t + "/users/{name}/move", summary: "Move a user to another home (online or an edge): number, settings and CDRs stay; the old home drops their registrations",
			handler: s.moveUser, tenantScoped: true, query: []string{"dryRun"}, body: typeOf[hybrid.MoveRequest](), response: typeOf[hybrid.MoveResult](),
			ok: http.StatusOK},
		{method: http.MethodGet, path: "/status", summary: "This node's role and hybrid mode (edge: connecting, connected or survivable; cloud; standalone)",
			handler: s.nodeStatus, response: typeOf[hybrid.NodeStatus]()},
	}
}

// tokenEdge is the edge of a stored token, "" for other tokens.
func (s *server) tokenEdge(ctx context.Context, id string) (string, error) {
	if s.o.Hybrid == nil {
		return "", nil
	}
	return s.o.Hybrid.TokenEdge(ctx, id)
}

// noEdgeTokens refuses edge tokens on every route not meant for edges.
func (s *server) noEdgeTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if who(r).Edge != "" {
			s.fail(w, r, errEdgeToken)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// edgeRequest checks an edge route: the tenant and the edge exist (404
// otherwise, as for any tenant route), and the token is the operator's or
// that edge's (tenant-admin tokens never see HA1 hashes).
func (s *server) edgeRequest(w http.ResponseWriter, r *http.Request) (tenant, edge string, ok bool) {
	tenant, edge = tenantParam(r), pathParam(r, "name")
	if s.o.Tenants == nil {
		s.fail(w, r, errNotImplemented)
		return "", "", false
	}
	if _, err := s.tenant(r.Context(), tenant); err != nil {
		s.fail(w, r, err)
		return "", "", false
	}
	if s.o.Hybrid == nil {
		s.fail(w, r, errNotImplemented)
		return "", "", false
	}
	if p := who(r); !p.operator() && p.Edge != edge {
		s.fail(w, r, fmt.Errorf("only the operator or edge %q may do this: %w", edge, errForbidden))
		return "", "", false
	}
	return tenant, edge, true
}

func (s *server) edgeSync(w http.ResponseWriter, r *http.Request) {
	tenant, edge, ok := s.edgeRequest(w, r)
	if !ok {
		return
	}
	body, etag, same, err := s.o.Hybrid.Sync(r.Context(), tenant, edge, r.Header.Get("If-None-Match"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-store")
	if same {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *server) edgeCDRs(w http.ResponseWriter, r *http.Request) {
	tenant, edge, ok := s.edgeRequest(w, r)
	if !ok {
		return
	}
	var batch hybrid.CDRBatch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpload))
	if err := dec.Decode(&batch); err != nil {
		var large *http.MaxBytesError
		if errors.As(err, &large) {
			s.fail(w, r, err)
			return
		}
		s.fail(w, r, &badRequest{Message: "request body is not a CDR batch: " + strings.TrimPrefix(err.Error(), "json: ")})
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		s.fail(w, r, &badRequest{Message: "request body has data after the CDR batch"})
		return
	}
	res, err := s.o.Hybrid.UploadCDRs(r.Context(), tenant, edge, batch.CDRs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// edgeList returns the edges of the tenant of the route, 404 for a tenant
// that does not exist.
func (s *server) edgeList(w http.ResponseWriter, r *http.Request) ([]hybrid.EdgeStatus, bool) {
	tenant := tenantParam(r)
	if s.o.Tenants == nil {
		s.fail(w, r, errNotImplemented)
		return nil, false
	}
	if _, err := s.tenant(r.Context(), tenant); err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if s.o.Hybrid == nil {
		s.fail(w, r, errNotImplemented)
		return nil, false
	}
	list, err := s.o.Hybrid.Edges(r.Context(), tenant)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return list, true
}

func (s *server) edgeStatuses(w http.ResponseWriter, r *http.Request) {
	if list, ok := s.edgeList(w, r); ok {
		writeItems(w, list)
	}
}

func (s *server) edgeStatus(w http.ResponseWriter, r *http.Request) {
	list, ok := s.edgeList(w, r)
	if !ok {
		return
	}
	name := pathParam(r, "name")
	i := slices.IndexFunc(list, func(e hybrid.EdgeStatus) bool { return e.Name == name })
	if i < 0 {
		s.fail(w, r, fmt.Errorf("edge %q: %w", name, provision.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, list[i])
}

func (s *server) createEdgeToken(w http.ResponseWriter, r *http.Request) {
	if s.o.Hybrid == nil || s.o.Tokens == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	var req EdgeTokenRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	tenant, edge := tenantParam(r), pathParam(r, "name")
	if s.o.Provision != nil {
		d, err := s.o.Provision.Tenant(r.Context(), tenant)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !slices.ContainsFunc(d.Edges, func(e provision.Edge) bool { return e.Name == edge }) {
			s.fail(w, r, fmt.Errorf("edge %q: %w", edge, provision.ErrNotFound))
			return
		}
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
		name = "edge-" + edge
	}
	t := store.Token{ID: id, Name: name, Tenant: tenant, Hash: hashToken(tok), Created: time.Now().UTC(),
		CreatedBy: who(r).ID}
	if err := s.o.Hybrid.CreateEdgeToken(r.Context(), t, edge); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+id)
	writeJSON(w, http.StatusCreated, newToken{Token: t, Secret: tok})
}

// moveUser changes a user's home through the ordinary apply (validated,
// audited, reloaded): the edges see it at their next sync.
func (s *server) moveUser(w http.ResponseWriter, r *http.Request) {
	if s.o.Provision == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	tenant, addr := tenantParam(r), strings.ToLower(pathParam(r, "name"))
	d, err := s.o.Provision.Tenant(r.Context(), tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req hybrid.MoveRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	to := strings.TrimSpace(req.To)
	if to == "" {
		s.fail(w, r, &invalidRequest{errs: provision.ValidationErrors{{Field: "to", Message: `required: "online" or an edge of the tenant`}}})
		return
	}
	i := slices.IndexFunc(d.Users, func(u provision.UserSpec) bool { return u.SIPAddress == addr })
	if i < 0 {
		s.fail(w, r, fmt.Errorf("user %q: %w", addr, provision.ErrNotFound))
		return
	}
	u := d.Users[i]
	res := hybrid.MoveResult{SIPAddress: u.SIPAddress, From: hybrid.Home(&pbx.User{Home: u.Home})}
	u.Home = to
	o, err := applyOptions(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	applied, err := s.o.Provision.ApplyWith(r.Context(), provision.Document{Tenant: tenant, Users: []provision.UserSpec{u}}, o)
	if err != nil {
		var verrs provision.ValidationErrors
		if errors.As(err, &verrs) {
			s.fail(w, r, &invalidRequest{errs: provision.ValidationErrors{{Field: "to", Message: fmt.Sprintf(
				"%q is neither %q nor an edge of tenant %q", to, hybrid.Online, tenant)}}})
			return
		}
		s.fail(w, r, err)
		return
	}
	res.To, res.Changed = hybrid.Home(&pbx.User{Home: to}), applied.Changed
	writeJSON(w, http.StatusOK, res)
}

// nodeStatus is the node's hybrid status; tenant tokens see no other
// tenant's edges or edge link.
func (s *server) nodeStatus(w http.ResponseWriter, r *http.Request) {
	st := hybrid.NodeStatus{Role: hybrid.RoleStandalone, Mode: hybrid.ModeStandalone}
	if s.o.Hybrid != nil {
		st = s.o.Hybrid.Status(r.Context())
	}
	if p := who(r); !p.operator() {
		st.Edges = nil
		if st.Tenant != p.Tenant {
			st.Tenant, st.Edge, st.Cloud, st.Version = "", "", nil, ""
		}
	}
	writeJSON(w, http.StatusOK, st)
}
