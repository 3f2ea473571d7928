package cli

import (
	"context"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/hybrid"
)

// CreateEdgeToken asks for the token an edge of tenant authenticates to
// the cloud with (operator only): POST .../edges/{edge}/tokens.
func (c *Client) CreateEdgeToken(ctx context.Context, tenant, edge, name string) (Token, error) {
	var t Token
	_, err := c.do(ctx, http.MethodPost, tenantPath(tenant, "edges", edge, "tokens"), nil,
		api.EdgeTokenRequest{Name: name}, &t)
	return t, err
}

// EdgeStatus lists the tenant's edges with their status: GET .../edgeStatus.
func (c *Client) EdgeStatus(ctx context.Context, tenant string) ([]hybrid.EdgeStatus, error) {
	var list items[hybrid.EdgeStatus]
	if _, err := c.do(ctx, http.MethodGet, tenantPath(tenant, "edgeStatus"), nil, nil, &list); err != nil {
		return nil, err
	}
	if list == nil {
		return []hybrid.EdgeStatus{}, nil
	}
	return list, nil
}

// MoveUser moves a user of tenant to another home (online or an edge):
// POST .../users/{sipAddress}/move.
func (c *Client) MoveUser(ctx context.Context, tenant, sipAddress, to string, dryRun bool) (hybrid.MoveResult, error) {
	var res hybrid.MoveResult
	_, err := c.do(ctx, http.MethodPost, tenantPath(tenant, "users", sipAddress, "move"),
		ApplyOptions{DryRun: dryRun}.query(), hybrid.MoveRequest{To: to}, &res)
	return res, err
}

// NodeStatus is the node's role and hybrid mode: GET /api/v1/status.
func (c *Client) NodeStatus(ctx context.Context) (hybrid.NodeStatus, error) {
	var st hybrid.NodeStatus
	_, err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, nil, &st)
	return st, err
}
