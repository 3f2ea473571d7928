package api

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var pathParamRe = regexp.MustCompile(`\{([^}]+)\}`)

// openAPI serves the OpenAPI 3 document of the API, made from routes().
func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.openAPIDoc())
}

func (s *server) openAPIDoc() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes() {
		p := "/api/v1" + rt.path
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": strings.ToLower(rt.method) + operationName(rt.path),
			"responses":   responses(rt),
		}
		var params []any
		for _, m := range pathParamRe.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			typ := "string"
			switch q {
			case "limit":
				typ = "integer"
			case "dryRun", "prune":
				typ = "boolean"
			}
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.public {
			op["security"] = []any{}
		}
		if rt.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schema(rt.body, 0)}}}
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Switchboard admin API", "version": "v1",
			"description": "Tenants and every object of their documents, route test, gateway status, the decision guide, " +
				"tokens, audit log, CDRs and registrations. " +
				"Errors are RFC 7807 problem documents; field problems name the field as a document path."},
		"paths": paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

func responses(rt route) map[string]any {
	ok := map[string]any{"description": "OK"}
	if rt.response != nil {
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": schema(rt.response, 0)}}
	}
	code := "200"
	switch rt.method {
	case http.MethodPost:
		code = "201"
	case http.MethodDelete:
		if rt.response == nil {
			code, ok = "204", map[string]any{"description": "No Content"}
		}
	}
	problem := func(d string) map[string]any {
		return map[string]any{"description": d, "content": map[string]any{"application/problem+json": map[string]any{
			"schema": schema(reflect.TypeFor[problem](), 0)}}}
	}
	if rt.ok != 0 {
		code = strconv.Itoa(rt.ok)
	}
	out := map[string]any{code: ok}
	if !rt.public {
		out["401"] = problem("missing or unknown token")
		out["404"] = problem("not found (also: another tenant's resource)")
	}
	if rt.operatorOnly {
		out["403"] = problem("needs the operator token")
	}
	if rt.body != nil || rt.method == http.MethodDelete {
		out["400"] = problem("malformed request")
		out["409"] = problem("conflict")
		out["422"] = problem("invalid document: every problem with its field")
	}
	return out
}

// operationName turns /tenants/{tenant}/voiceRoutes/{name} into
// TenantsTenantVoiceRoutesName.
func operationName(path string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(path, "/") {
		part = strings.Trim(part, "{}")
		part = strings.ReplaceAll(part, ".", "")
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// schema describes a Go type as an OpenAPI schema, from its json tags.
func schema(t reflect.Type, depth int) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 8 {
		return map[string]any{}
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{} // json.RawMessage: any JSON
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schema(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schema(t.Elem(), depth+1)}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props, depth)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any, depth int) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props, depth)
				continue
			}
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schema(f.Type, depth+1)
	}
}
