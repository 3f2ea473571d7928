package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// Token is an API token as the server describes it; Secret is only set
// in the answer to CreateToken.
type Token struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Tenant    string `json:"tenant,omitempty"`
	Created   string `json:"created"`
	CreatedBy string `json:"createdBy,omitempty"`
	Secret    string `json:"token,omitempty"`
}

func tenantPath(tenant string, parts ...string) string {
	p := "/api/v1/tenants/" + url.PathEscape(tenant)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// Tenants lists the tenants the token may see.
func (c *Client) Tenants(ctx context.Context) ([]pbx.Tenant, error) {
	var ts items[pbx.Tenant]
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/tenants", nil, nil, &ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// Tenant returns a tenant's whole document (no passwords).
func (c *Client) Tenant(ctx context.Context, tenant string) (provision.Document, error) {
	var d provision.Document
	_, err := c.do(ctx, http.MethodGet, tenantPath(tenant), nil, nil, &d)
	return d, err
}

// List returns every object of a kind, following the pages.
func (c *Client) List(ctx context.Context, tenant, kind string) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	cursor := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(1000)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		if _, err := c.do(ctx, http.MethodGet, tenantPath(tenant, kind), q, nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" || len(p.Items) == 0 {
			return out, nil
		}
		cursor = p.NextCursor
	}
}

// Get returns one object.
func (c *Client) Get(ctx context.Context, tenant, kind, name string) (json.RawMessage, error) {
	var raw json.RawMessage
	_, err := c.do(ctx, http.MethodGet, tenantPath(tenant, kind, name), nil, nil, &raw)
	return raw, err
}

// Delete deletes one object (kind "tenant": the tenant itself).
func (c *Client) Delete(ctx context.Context, tenant, kind, name string, dryRun bool) (ApplyResult, error) {
	path := tenantPath(tenant, kind, name)
	if kind == "tenant" {
		path = tenantPath(name)
	}
	var res ApplyResult
	_, err := c.do(ctx, http.MethodDelete, path, ApplyOptions{DryRun: dryRun}.query(), nil, &res)
	return res, err
}

// CreateToken asks for a tenant-admin token (operator only).
func (c *Client) CreateToken(ctx context.Context, tenant, name string) (Token, error) {
	var t Token
	_, err := c.do(ctx, http.MethodPost, "/api/v1/tokens", nil, map[string]string{"tenant": tenant, "name": name}, &t)
	return t, err
}

// Tokens lists tokens (operator only); tenant "" lists all.
func (c *Client) Tokens(ctx context.Context, tenant string) ([]Token, error) {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	var ts items[Token]
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/tokens", q, nil, &ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// DeleteToken revokes a token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// Audit lists audit entries newest first, at most limit (<= 0: the server's default).
func (c *Client) Audit(ctx context.Context, tenant string, limit int) ([]pbx.AuditEntry, error) {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p struct {
		Items []pbx.AuditEntry `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/audit", q, nil, &p); err != nil {
		return nil, err
	}
	if p.Items == nil {
		p.Items = []pbx.AuditEntry{}
	}
	return p.Items, nil
}
