package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// The cloud's side of the deployment, served to edges and admins through
// the API (api.Hybrid): configuration snapshots, edge status, CDR uploads,
// edge tokens and this node's status.

var errNoHybridStore = errors.New("this node's store keeps no hybrid state")

// edgeOf checks that edge is an edge of tenant and returns it.
func (h *hybridNode) edgeOf(ctx context.Context, tenant, edge string) (provision.Edge, error) {
	objs, err := h.n.st.Objects(ctx, tenant)
	if err != nil {
		return provision.Edge{}, err
	}
	for _, e := range edgesOf(objs) {
		if e.Name == edge {
			return e, nil
		}
	}
	return provision.Edge{}, fmt.Errorf("edge %q of tenant %q: %w", edge, tenant, provision.ErrNotFound)
}

func edgesOf(objs []pbx.Object) []provision.Edge {
	var out []provision.Edge
	for _, o := range objs {
		if o.Kind != "edges" {
			continue
		}
		var e provision.Edge
		if err := json.Unmarshal(o.Spec, &e); err == nil && e.Name != "" {
			out = append(out, e)
		}
	}
	return out
}

// Sync returns the configuration snapshot of tenant for one of its edges:
// the JSON and its ETag, or notModified when the edge already has it. Each
// call counts as the edge's sign of life (its status).
func (h *hybridNode) Sync(ctx context.Context, tenant, edge, ifNoneMatch string) (body []byte, etag string, notModified bool, err error) {
	if _, err := h.edgeOf(ctx, tenant, edge); err != nil {
		return nil, "", false, err
	}
	if body, etag, err = h.snapshot(ctx, tenant); err != nil {
		return nil, "", false, err
	}
	h.mu.Lock()
	h.lastSync[tenant+"/"+edge] = h.now()
	h.mu.Unlock()
	for _, t := range strings.Split(ifNoneMatch, ",") {
		if strings.TrimSpace(t) == etag {
			return nil, etag, true, nil
		}
	}
	return body, etag, false, nil
}

// snapshot encodes the tenant's snapshot once per configuration: every
// edge polls every second, and the answer only changes with a reload.
func (h *hybridNode) snapshot(ctx context.Context, tenant string) ([]byte, string, error) {
	h.mu.Lock()
	if s, ok := h.snapshots[tenant]; ok {
		h.mu.Unlock()
		return s.body, s.etag, nil
	}
	gen := h.snapGen
	h.mu.Unlock()
	tenants, err := h.n.st.Tenants(ctx)
	if err != nil {
		return nil, "", err
	}
	i := slices.IndexFunc(tenants, func(t pbx.Tenant) bool { return t.Name == tenant })
	if i < 0 {
		return nil, "", fmt.Errorf("tenant %q: %w", tenant, provision.ErrNotFound)
	}
	users, err := h.n.st.Users(ctx, tenant)
	if err != nil {
		return nil, "", err
	}
	objs, err := h.n.st.Objects(ctx, tenant)
	if err != nil {
		return nil, "", err
	}
	body, etag, err := hybrid.NewSnapshot(tenants[i], users, objs).Encode()
	if err != nil {
		return nil, "", err
	}
	h.mu.Lock()
	if gen == h.snapGen { // no reload meanwhile: still the configuration
		h.snapshots[tenant] = snapshotJSON{body: body, etag: etag}
	}
	h.mu.Unlock()
	return body, etag, nil
}

// tenantEdge is one edge's status with its tenant.
type tenantEdge struct {
	tenant string
	status hybrid.EdgeStatus
}

// edgeStatuses lists the edges of tenant ("" = every tenant) known to the
// published configuration, with what the syncs say of them.
func (h *hybridNode) edgeStatuses(tenant string) []tenantEdge {
	v := h.view()
	if v == nil || h.isEdge() {
		return nil
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []tenantEdge
	for t, edges := range v.edges {
		if tenant != "" && t != tenant {
			continue
		}
		for name, a := range edges {
			st := hybrid.EdgeStatus{Name: name, SIPAddress: a.addr}
			last := h.lastSync[t+"/"+name]
			st.Status = hybrid.StatusOf(last, now)
			if !last.IsZero() {
				l := last.UTC()
				st.LastSync = &l
			}
			out = append(out, tenantEdge{tenant: t, status: st})
		}
	}
	slices.SortFunc(out, func(a, b tenantEdge) int {
		return strings.Compare(a.tenant+"/"+a.status.Name, b.tenant+"/"+b.status.Name)
	})
	return out
}

// Edges lists the edges of a tenant with their status and users (GET
// .../edgeStatus): the configured ones, whether or not they ever synced.
func (h *hybridNode) Edges(ctx context.Context, tenant string) ([]hybrid.EdgeStatus, error) {
	objs, err := h.n.st.Objects(ctx, tenant)
	if err != nil {
		return nil, err
	}
	users, err := h.n.st.Users(ctx, tenant)
	if err != nil {
		return nil, err
	}
	homed := map[string]int{}
	for i := range users {
		homed[hybrid.Home(&users[i])]++
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []hybrid.EdgeStatus{}
	for _, e := range edgesOf(objs) {
		st := hybrid.EdgeStatus{Name: e.Name, Description: e.Description, SIPAddress: e.SIPAddress, Users: homed[e.Name]}
		last := h.lastSync[tenant+"/"+e.Name]
		if h.isEdge() {
			st.Status = hybrid.StatusUnknown // an edge knows nothing of its peers
		} else {
			st.Status = hybrid.StatusOf(last, now)
		}
		if !last.IsZero() {
			l := last.UTC()
			st.LastSync = &l
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b hybrid.EdgeStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// UploadCDRs stores the CDRs an edge of tenant uploads, each Call-ID once:
// a batch sent again (its answer was lost) adds nothing.
func (h *hybridNode) UploadCDRs(ctx context.Context, tenant, edge string, cdrs []pbx.CDR) (hybrid.UploadResult, error) {
	res := hybrid.UploadResult{Received: len(cdrs)}
	if h.hs == nil {
		return res, errNoHybridStore
	}
	if _, err := h.edgeOf(ctx, tenant, edge); err != nil {
		return res, err
	}
	h.uploadMu.Lock()
	defer h.uploadMu.Unlock()
	for _, c := range cdrs {
		if c.CallID == "" {
			continue
		}
		c.ID, c.Tenant = 0, tenant
		has, err := h.hs.HasCDR(ctx, tenant, c.CallID)
		if err != nil {
			return res, err
		}
		if has {
			continue
		}
		if _, err := h.n.st.InsertCDR(ctx, c); err != nil {
			return res, err
		}
		res.Inserted++
	}
	if res.Inserted > 0 {
		h.n.log.Info("cdrs uploaded by an edge", "tenant", tenant, "edge", edge, "received", res.Received,
			"new", res.Inserted)
	}
	return res, nil
}

// TokenEdge returns the edge an API token belongs to ("" for others).
func (h *hybridNode) TokenEdge(ctx context.Context, tokenID string) (string, error) {
	if h.hs == nil {
		return "", nil
	}
	return h.hs.TokenEdge(ctx, tokenID)
}

// CreateEdgeToken stores an edge token after checking the edge exists.
func (h *hybridNode) CreateEdgeToken(ctx context.Context, t store.Token, edge string) error {
	if h.hs == nil {
		return errNoHybridStore
	}
	if _, err := h.edgeOf(ctx, t.Tenant, edge); err != nil {
		return err
	}
	return h.hs.CreateEdgeToken(ctx, t, edge)
}

// Status is this node's hybrid status (switchboard status).
func (h *hybridNode) Status(ctx context.Context) hybrid.NodeStatus {
	st := hybrid.NodeStatus{Role: hybrid.RoleStandalone, Mode: h.mode()}
	if !h.isEdge() {
		for _, e := range h.edgeStatuses("") {
			st.Edges = append(st.Edges, e.status)
		}
		if st.Mode == hybrid.ModeCloud {
			st.Role = hybrid.RoleCloud
		}
		return st
	}
	st.Role, st.Tenant, st.Edge = hybrid.RoleEdge, h.cloud.Tenant, h.self
	st.Cloud = &hybrid.CloudLink{API: h.cloud.API, SIP: h.cloud.SIP}
	h.mu.Lock()
	synced, version := h.syncedAt, h.version
	h.mu.Unlock()
	st.Version = version
	if !synced.IsZero() {
		s := synced.UTC()
		st.LastSync = &s
	}
	if h.mon.Mode() != hybrid.ModeConnecting {
		c := h.mon.LastContact().UTC()
		st.LastContact = &c
	}
	if h.hs != nil {
		if n, err := h.hs.CountQueuedCDRs(ctx); err == nil {
			st.PendingCDRs = n
		}
	}
	return st
}
