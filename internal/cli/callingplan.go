package cli

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
)

// The Calling Plan's API (issue 5): the number inventory, usage and credits.

// SearchNumbers lists available numbers: GET /api/v1/numbers.
func (c *Client) SearchNumbers(ctx context.Context, f numbering.Filter) ([]numbering.Number, error) {
	q := url.Values{}
	for k, v := range map[string]string{"country": f.Country, "areaCode": f.AreaCode, "type": f.Type} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return c.numbers(ctx, http.MethodGet, "/api/v1/numbers", q, nil)
}

// Numbers lists a tenant's numbers: GET /api/v1/tenants/{tenant}/numbers.
func (c *Client) Numbers(ctx context.Context, tenant string) ([]numbering.Number, error) {
	return c.numbers(ctx, http.MethodGet, tenantPath(tenant, "numbers"), nil, nil)
}

// AcquireNumbers acquires numbers for a tenant: POST .../numbers.
func (c *Client) AcquireNumbers(ctx context.Context, tenant string, req api.AcquireRequest) ([]numbering.Number, error) {
	return c.numbers(ctx, http.MethodPost, tenantPath(tenant, "numbers"), nil, req)
}

// ReleaseNumber releases a tenant's number: DELETE .../numbers/{number}.
func (c *Client) ReleaseNumber(ctx context.Context, tenant, number string) (numbering.Number, error) {
	var n numbering.Number
	_, err := c.do(ctx, http.MethodDelete, tenantPath(tenant, "numbers", number), nil, nil, &n)
	return n, err
}

// AssignNumber assigns a number to a user: POST .../numbers/{number}/assign.
func (c *Client) AssignNumber(ctx context.Context, tenant, number, user string) ([]numbering.Number, error) {
	return c.numbers(ctx, http.MethodPost, tenantPath(tenant, "numbers", number, "assign"), nil, api.AssignRequest{User: user})
}

// UnassignNumber takes a number from its user: POST .../numbers/{number}/unassign.
func (c *Client) UnassignNumber(ctx context.Context, tenant, number string) (numbering.Number, error) {
	var n numbering.Number
	_, err := c.do(ctx, http.MethodPost, tenantPath(tenant, "numbers", number, "unassign"), nil, nil, &n)
	return n, err
}

// Usage returns a tenant's Calling Plan usage of month ("" = this one).
func (c *Client) Usage(ctx context.Context, tenant, month string) (numbering.Usage, error) {
	q := url.Values{}
	if month != "" {
		q.Set("month", month)
	}
	var u numbering.Usage
	_, err := c.do(ctx, http.MethodGet, tenantPath(tenant, "usage"), q, nil, &u)
	return u, err
}

// TopUp adds Communications Credits: POST .../credits (operator token).
func (c *Client) TopUp(ctx context.Context, tenant string, amount numbering.Money) (api.Credits, error) {
	var cr api.Credits
	_, err := c.do(ctx, http.MethodPost, tenantPath(tenant, "credits"), nil, api.TopUpRequest{Amount: amount}, &cr)
	return cr, err
}

// SetSpendLimit sets (nil removes) a user's monthly spend limit.
func (c *Client) SetSpendLimit(ctx context.Context, tenant, user string, limit *numbering.Money) error {
	_, err := c.do(ctx, http.MethodPost, tenantPath(tenant, "spendLimits"), nil,
		api.SpendLimitRequest{User: user, MonthlyLimit: limit}, nil)
	return err
}

func (c *Client) numbers(ctx context.Context, method, path string, q url.Values, body any) ([]numbering.Number, error) {
	var ns items[numbering.Number]
	if _, err := c.do(ctx, method, path, q, body, &ns); err != nil {
		return nil, err
	}
	if ns == nil {
		return []numbering.Number{}, nil
	}
	return ns, nil
}

// Reload makes the server read its configuration file again (operator
// token): POST /api/v1/operator/reload. A refused file is an *APIError
// whose Errors are its FILE:LINE problems.
func (c *Client) Reload(ctx context.Context) (api.ReloadResult, error) {
	var r api.ReloadResult
	_, err := c.do(ctx, http.MethodPost, "/api/v1/operator/reload", nil, nil, &r)
	return r, err
}
