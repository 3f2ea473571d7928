package api

import (
	"net/http"
	"reflect"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/planner"
	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// route is one API route. The router and the OpenAPI document are both
// made from routes(), and a test checks the two against chi.Walk.
type route struct {
	method, path string
	summary      string
	handler      http.HandlerFunc
	tenantScoped bool         // has {tenant}: tenant tokens see only their own
	operatorOnly bool         // tenant tokens get 403
	public       bool         // no token needed (served outside the auth group)
	query        []string     // query parameters
	body         reflect.Type // request body, nil for none
	response     reflect.Type // 2xx body, nil for none
	ok           int          // success status when not the method's usual one (POST: 201)
	edge         bool         // edge tokens allowed (hybrid.go); they get 403 elsewhere
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// routes lists every /api/v1 route.
func (s *server) routes() []route {
	const t = "/tenants/{tenant}"
	rs := []route{
		{method: http.MethodGet, path: "/openapi.json", summary: "This OpenAPI document", public: true},
		{method: http.MethodGet, path: "/tenants", summary: "List the tenants the token may see",
			handler: s.listTenants, response: typeOf[list[pbx.Tenant]]()},
		{method: http.MethodGet, path: t, summary: "Get a whole tenant document (no passwords)",
			handler: s.getTenant, tenantScoped: true, response: typeOf[provision.Document]()},
		{method: http.MethodPut, path: t, summary: "Apply a tenant document: create and update; with prune=true also delete what the listed kinds no longer name",
			handler: s.putTenant, tenantScoped: true, query: []string{"dryRun", "prune"},
			body: typeOf[provision.Document](), response: typeOf[provision.Result]()},
		{method: http.MethodDelete, path: t, summary: "Delete a tenant and everything it owns (operator only)",
			handler: s.deleteTenant, tenantScoped: true, operatorOnly: true, query: []string{"dryRun"},
			response: typeOf[provision.Result]()},
		{method: http.MethodGet, path: t + "/settings", summary: "Get the tenant settings",
			handler: s.getSettings, tenantScoped: true, response: typeOf[provision.Settings]()},
		{method: http.MethodPut, path: t + "/settings", summary: "Replace the tenant settings",
			handler: s.putSettings, tenantScoped: true, query: []string{"dryRun"},
			body: typeOf[provision.Settings](), response: typeOf[provision.Result]()},
		{method: http.MethodPost, path: t + "/routeTest", summary: "Route test: explain where a call from a user dialling a string would go (normalisation steps, rule, usage, routes with gateway health, or why it is rejected), without placing it",
			handler: s.routeTest, tenantScoped: true, body: typeOf[RouteTestRequest](), response: typeOf[routing.Decision](), ok: http.StatusOK},
		{method: http.MethodGet, path: t + "/pstnGatewayStatus", summary: "Live state of every PSTN gateway: Active/Demoted/Disabled, last OPTIONS, concurrent sessions, session alert (read-only, not part of the document)",
			handler: s.gatewayStatuses, tenantScoped: true, response: typeOf[list[GatewayStatus]]()},
		{method: http.MethodGet, path: t + "/pstnGateways/{name}/status", summary: "Live state of one PSTN gateway (read-only, not part of the document)",
			handler: s.gatewayStatus, tenantScoped: true, response: typeOf[GatewayStatus]()},
	}
	for _, k := range provision.Kinds() {
		item := reflect.TypeOf(k.New()).Elem()
		base := t + "/" + k.Name
		rs = append(rs,
			route{method: http.MethodGet, path: base, summary: "List " + k.Name,
				handler: s.listKind(k), tenantScoped: true, query: []string{"limit", "cursor"},
				response: reflect.TypeOf(page[any]{})},
			route{method: http.MethodGet, path: base + "/{name}", summary: "Get one " + k.Singular,
				handler: s.getObject(k), tenantScoped: true, response: item},
			route{method: http.MethodPut, path: base + "/{name}", summary: "Create or replace one " + k.Singular,
				handler: s.putObject(k), tenantScoped: true, query: []string{"dryRun"},
				body: item, response: typeOf[provision.Result]()},
			route{method: http.MethodDelete, path: base + "/{name}", summary: "Delete one " + k.Singular + " (409 while something refers to it)",
				handler: s.deleteObject(k), tenantScoped: true, query: []string{"dryRun"},
				response: typeOf[provision.Result]()},
		)
	}
	rs = append(rs,
		route{method: http.MethodPost, path: "/plan", summary: "Decision guide: recommend a topology for the answers (422 with every invalid answer by field); operator or tenant token",
			handler: s.plan, body: typeOf[planner.Answers](), response: typeOf[planner.Recommendation](), ok: http.StatusOK},
		route{method: http.MethodGet, path: "/audit", summary: "The audit log, newest first",
			handler: s.listAudit, query: []string{"tenant", "limit", "cursor"}, response: typeOf[page[pbx.AuditEntry]]()},
		route{method: http.MethodGet, path: "/cdrs", summary: "Call detail records, newest first",
			handler: s.listCDRs, query: []string{"tenant", "limit"}, response: typeOf[list[pbx.CDR]]()},
		route{method: http.MethodGet, path: "/registrations", summary: "Current registrations",
			handler: s.listRegistrations, query: []string{"tenant"}, response: typeOf[list[pbx.Binding]]()},
		route{method: http.MethodGet, path: "/tokens", summary: "List API tokens (operator only)",
			handler: s.listTokens, operatorOnly: true, query: []string{"tenant"}, response: typeOf[list[store.Token]]()},
		route{method: http.MethodPost, path: "/tokens", summary: "Create a tenant-admin token (operator only); the secret is only shown here",
			handler: s.createToken, operatorOnly: true, body: typeOf[tokenRequest](), response: typeOf[newToken]()},
		route{method: http.MethodDelete, path: "/tokens/{id}", summary: "Revoke a token (operator only)",
			handler: s.deleteToken, operatorOnly: true},
	)
	rs = append(rs, s.hybridRoutes()...)      // cloud–edge (hybrid.go)
	rs = append(rs, s.callingPlanRoutes()...) // callingplan.go
	rs = append(rs, s.operatorRoutes()...)    // operator.go
	return rs
}
