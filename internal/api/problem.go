package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/switchboard-pbx/switchboard/internal/provision"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// problem is an RFC 7807 problem document.
type problem struct {
	Type   string                 `json:"type"`
	Title  string                 `json:"title"`
	Status int                    `json:"status"`
	Detail string                 `json:"detail,omitempty"`
	Errors []provision.FieldError `json:"errors,omitempty"`
}

// badRequest is a request the API cannot make sense of (malformed JSON, an
// unknown field, a bad query parameter). Field names what is wrong, when known.
type badRequest struct {
	Field   string
	Message string
}

func (e *badRequest) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Errors of the HTTP layer itself.
var (
	errUnauthorized     = errors.New("a valid bearer token is required")
	errForbidden        = errors.New("this needs the operator token")
	errNoRoute          = errors.New("no such resource")
	errMethodNotAllowed = errors.New("method not allowed")
	errNotImplemented   = errors.New("not available on this node")
	errPanic            = errors.New("handler panicked") // 500, via the default case
)

// toProblem is the one place where errors become HTTP statuses. Internal
// details (5xx) are never shown to the client; the caller logs them.
func toProblem(err error) problem {
	p := problem{Type: "about:blank", Detail: err.Error()}
	var (
		verrs provision.ValidationErrors
		bad   *badRequest
		large *http.MaxBytesError
		used  *inUse
		inv   *invalidRequest
		conf  *ConfigError
	)
	switch {
	case errors.As(err, &conf):
		p.Status = http.StatusUnprocessableEntity
		for _, l := range conf.Lines {
			p.Errors = append(p.Errors, provision.FieldError{Field: "config", Message: l})
		}
	case errors.As(err, &inv):
		p.Status = http.StatusUnprocessableEntity
		p.Errors = inv.errs
		p.Detail = inv.detail()
	case errors.As(err, &used):
		p.Status = http.StatusConflict
		p.Errors = used.errs
		p.Detail = "still in use: deleting it would leave the tenant invalid"
	case errors.As(err, &verrs):
		p.Status = http.StatusUnprocessableEntity
		p.Errors = verrs
		p.Detail = fmt.Sprintf("the tenant document has %d problem(s)", len(verrs))
	case errors.As(err, &bad):
		p.Status = http.StatusBadRequest
		if bad.Field != "" {
			p.Errors = []provision.FieldError{{Field: bad.Field, Message: bad.Message}}
		}
	case errors.As(err, &large):
		p.Status = http.StatusRequestEntityTooLarge
		p.Detail = fmt.Sprintf("request body larger than %d bytes", large.Limit)
	case errors.Is(err, errUnauthorized):
		p.Status = http.StatusUnauthorized
	case errors.Is(err, store.ErrConflict):
		p.Status = http.StatusConflict
	case errors.Is(err, errForbidden):
		p.Status = http.StatusForbidden
	case errors.Is(err, store.ErrNotFound), errors.Is(err, provision.ErrNotFound), errors.Is(err, errNoRoute):
		p.Status = http.StatusNotFound
	case errors.Is(err, errMethodNotAllowed):
		p.Status = http.StatusMethodNotAllowed
	case errors.Is(err, errNotImplemented):
		p.Status = http.StatusNotImplemented
	default:
		p.Status = http.StatusInternalServerError
		p.Detail = "internal error"
	}
	p.Title = http.StatusText(p.Status)
	return p
}

// writeError answers with the problem for err, logging server-side failures.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := toProblem(err)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "api request failed",
			"method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// list is the envelope of every collection response.
type list[T any] struct {
	Items []T `json:"items"`
}

// writeItems answers {"items":[...]}, with [] rather than null when empty.
func writeItems[T any](w http.ResponseWriter, items []T) {
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, list[T]{Items: items})
}
