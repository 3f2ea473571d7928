package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// Client calls a Switchboard server's admin API (/api/v1).
type Client struct {
	Server string       // base URL, e.g. http://127.0.0.1:8080
	Token  string       // sent as "Authorization: Bearer TOKEN" when not empty
	HTTP   *http.Client // nil means http.DefaultClient
}

// ApplyResult is the server's answer to applying one tenant document.
type ApplyResult struct {
	Tenant  string   `json:"tenant"`
	Created bool     `json:"created"` // the tenant did not exist before
	Changed bool     `json:"changed"` // something was (in a dry run: would be) written
	DryRun  bool     `json:"dryRun,omitempty"`
	Users   int      `json:"users"`   // users in the tenant after the apply
	Changes []Change `json:"changes"` // what was (would be) created, updated, deleted
}

// Change is one object created, updated or deleted (see provision.Change).
type Change struct {
	Action string            `json:"action"` // create | update | delete
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	Fields []pbx.FieldChange `json:"fields,omitempty"`
}

// ApplyOptions are the query options of an apply.
type ApplyOptions struct {
	DryRun bool // the server computes the changes and writes nothing
	Prune  bool // delete objects of the listed kinds that the document does not name
}

func (o ApplyOptions) query() url.Values {
	q := url.Values{}
	if o.DryRun {
		q.Set("dryRun", "true")
	}
	if o.Prune {
		q.Set("prune", "true")
	}
	return q
}

// APIError is an error answer of the API, read from its RFC 7807
// problem+json body when there is one.
type APIError struct {
	Status int                    // HTTP status code
	Title  string                 // problem title
	Detail string                 // problem detail, or the start of a non-problem body
	Errors []provision.FieldError // per-field problems (422)
}

func (e *APIError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return "unauthorized: check --token or SWITCHBOARD_TOKEN"
	}
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d)", msg, e.Status)
	for _, fe := range e.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", fe.Field, fe.Message)
	}
	return b.String()
}

// ApplyTenant creates or replaces the tenant described by d:
// PUT /api/v1/tenants/{tenant} with d as JSON. It is idempotent; the result
// says whether anything changed. Error answers are returned as *APIError.
func (c *Client) ApplyTenant(ctx context.Context, d provision.Document) (ApplyResult, error) {
	return c.ApplyTenantWith(ctx, d, ApplyOptions{})
}

// ApplyTenantWith is ApplyTenant with options (?dryRun=, ?prune=).
func (c *Client) ApplyTenantWith(ctx context.Context, d provision.Document, o ApplyOptions) (ApplyResult, error) {
	tenant := provision.Canonical(d).Tenant
	if tenant == "" {
		return ApplyResult{}, errors.New("apply: document has no tenant")
	}
	var res ApplyResult
	status, err := c.do(ctx, http.MethodPut, "/api/v1/tenants/"+url.PathEscape(tenant), o.query(), d, &res)
	if err != nil {
		return ApplyResult{}, err
	}
	if status == http.StatusCreated {
		res.Created = true
	}
	if res.Tenant == "" {
		res.Tenant = tenant
	}
	return res, nil
}

// CDRs lists call detail records, newest first as the server orders them:
// GET /api/v1/cdrs?tenant=&limit=, answered with {"items":[...]} (a bare
// JSON array is accepted too). An empty tenant means every tenant the
// token may see; limit <= 0 leaves the limit to the server.
func (c *Client) CDRs(ctx context.Context, tenant string, limit int) ([]pbx.CDR, error) {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var cdrs items[pbx.CDR]
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/cdrs", q, nil, &cdrs); err != nil {
		return nil, err
	}
	if cdrs == nil {
		return []pbx.CDR{}, nil
	}
	return cdrs, nil
}

// items is a list the API wraps as {"items":[...]}; a bare array or null
// is accepted as well.
type items[T any] []T

func (l *items[T]) UnmarshalJSON(data []byte) error {
	if b := bytes.TrimSpace(data); len(b) > 0 && b[0] == '{' {
		var w struct {
			Items []T `json:"items"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return err
		}
		*l = w.Items
		return nil
	}
	return json.Unmarshal(data, (*[]T)(l))
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// do sends one request with an optional JSON body and decodes a 2xx JSON
// answer into out. It returns the status code.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) (int, error) {
	base, err := url.Parse(strings.TrimRight(c.Server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return 0, fmt.Errorf("invalid server URL %q (expected http://HOST:PORT or https://HOST:PORT)", c.Server)
	}
	u := base.JoinPath(path)
	u.RawQuery = q.Encode()

	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "switchboard-cli")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, readAPIError(resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// readAPIError builds an APIError from an error answer: its problem+json
// body when it has one, else the start of its text.
func readAPIError(resp *http.Response) error {
	e := &APIError{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var p struct {
		Title  string                 `json:"title"`
		Detail string                 `json:"detail"`
		Errors []provision.FieldError `json:"errors"`
	}
	if json.Unmarshal(data, &p) == nil {
		e.Title, e.Detail, e.Errors = p.Title, p.Detail, p.Errors
		return e
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = strings.ToValidUTF8(text[:200], "") + "…"
	}
	e.Detail = text
	return e
}
