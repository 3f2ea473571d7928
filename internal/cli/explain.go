package cli

import (
	"context"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/routing"
)

// RouteTest asks the server where a call from user dialling dial would go,
// without placing it: POST /api/v1/tenants/{tenant}/routeTest. The decision
// comes with its explanation steps.
func (c *Client) RouteTest(ctx context.Context, tenant, user, dial string) (routing.Decision, error) {
	var d routing.Decision
	_, err := c.do(ctx, http.MethodPost, tenantPath(tenant, "routeTest"), nil,
		api.RouteTestRequest{User: user, Dial: dial}, &d)
	return d, err
}

// GatewayStatus returns the live state of every PSTN gateway of the tenant:
// GET /api/v1/tenants/{tenant}/pstnGatewayStatus.
func (c *Client) GatewayStatus(ctx context.Context, tenant string) ([]api.GatewayStatus, error) {
	var sts items[api.GatewayStatus]
	if _, err := c.do(ctx, http.MethodGet, tenantPath(tenant, "pstnGatewayStatus"), nil, nil, &sts); err != nil {
		return nil, err
	}
	if sts == nil {
		return []api.GatewayStatus{}, nil
	}
	return sts, nil
}
