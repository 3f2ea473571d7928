package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

func TestApplyTenant(t *testing.T) {
	doc := provision.Document{Tenant: "contoso", Domains: []string{"contoso.com"},
		Users: []provision.UserSpec{{SIPAddress: "alice@contoso.com", Password: "alice-secret"}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/api/v1/tenants/contoso" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		var got provision.Document
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil || got.Users[0].Password != "alice-secret" {
			t.Errorf("body = %+v, %v", got, err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"tenant":"contoso","created":true,"changed":true,"users":1}`)
	}))
	defer srv.Close()

	c := &Client{Server: srv.URL + "/", Token: "tok", HTTP: srv.Client()}
	res, err := c.ApplyTenant(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ApplyResult{Tenant: "contoso", Created: true, Changed: true, Users: 1}); !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
		fields      int
	}{
		{
			name:        "422 problem",
			status:      http.StatusUnprocessableEntity,
			contentType: "application/problem+json",
			body: `{"title":"Invalid document","status":422,"detail":"the document has 2 problems",` +
				`"errors":[{"field":"users[1].extension","message":"duplicate extension \"100\" (also users[0])"},` +
				`{"field":"domains[0]","message":"belongs to tenant fabrikam"}]}`,
			want: "the document has 2 problems (HTTP 422)\n" +
				"  users[1].extension: duplicate extension \"100\" (also users[0])\n" +
				"  domains[0]: belongs to tenant fabrikam",
			fields: 2,
		},
		{
			name:        "401",
			status:      http.StatusUnauthorized,
			contentType: "application/problem+json",
			body:        `{"title":"Unauthorized","status":401}`,
			want:        "unauthorized: check --token or SWITCHBOARD_TOKEN",
		},
		{
			name:        "title only",
			status:      http.StatusForbidden,
			contentType: "application/problem+json",
			body:        `{"title":"Forbidden","status":403}`,
			want:        "Forbidden (HTTP 403)",
		},
		{
			name:        "not a problem body",
			status:      http.StatusBadGateway,
			contentType: "text/html",
			body:        "<html>bad gateway</html>",
			want:        "<html>bad gateway</html> (HTTP 502)",
		},
		{
			name:   "empty body",
			status: http.StatusInternalServerError,
			want:   "Internal Server Error (HTTP 500)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := &Client{Server: srv.URL, HTTP: srv.Client()}

			_, err := c.ApplyTenant(context.Background(), provision.Document{Tenant: "contoso"})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("ApplyTenant error = %v, want *APIError", err)
			}
			if ae.Status != tt.status || len(ae.Errors) != tt.fields {
				t.Errorf("APIError = %+v", ae)
			}
			if err.Error() != tt.want {
				t.Errorf("error =\n%s\nwant\n%s", err, tt.want)
			}
			if _, err := c.CDRs(context.Background(), "", 0); err == nil || err.Error() != tt.want {
				t.Errorf("CDRs error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCDRs(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	want := []pbx.CDR{{ID: 7, CallID: "c1", Tenant: "contoso", Caller: "alice@contoso.com",
		Callee: "bob@contoso.com", Dialed: "101", Start: start, End: start.Add(time.Minute),
		Duration: 55, Result: pbx.ResultAnswered, Cause: 200, HangupBy: pbx.PartyCaller}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/cdrs" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		switch r.URL.RawQuery {
		case "limit=5&tenant=contoso":
			_ = json.NewEncoder(w).Encode(map[string]any{"items": want})
		case "limit=1":
			_ = json.NewEncoder(w).Encode(want) // a bare array
		case "":
			_, _ = io.WriteString(w, "null")
		default:
			t.Errorf("query = %q", r.URL.RawQuery)
		}
	}))
	defer srv.Close()
	c := &Client{Server: srv.URL, HTTP: srv.Client()}

	got, err := c.CDRs(context.Background(), "contoso", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Caller != want[0].Caller || !got[0].Start.Equal(start) || got[0].HangupBy != pbx.PartyCaller {
		t.Errorf("CDRs = %+v", got)
	}
	if got, err = c.CDRs(context.Background(), "", 1); err != nil || len(got) != 1 {
		t.Errorf("CDRs from a bare array = %+v, %v", got, err)
	}
	got, err = c.CDRs(context.Background(), "", 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("CDRs with null body = %#v, %v; want an empty list", got, err)
	}
}

func TestClientBadInput(t *testing.T) {
	for _, server := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		c := &Client{Server: server}
		if _, err := c.CDRs(context.Background(), "", 0); err == nil || !strings.Contains(err.Error(), "invalid server URL") {
			t.Errorf("server %q: error = %v", server, err)
		}
	}
	c := &Client{Server: "http://127.0.0.1:1"}
	if _, err := c.ApplyTenant(context.Background(), provision.Document{Tenant: " "}); err == nil {
		t.Error("ApplyTenant without a tenant succeeded")
	}
}
