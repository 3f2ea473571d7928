// Package store declares the persistence contract of Switchboard and holds its
// implementations: sqlite/ (the embedded default) and, later, postgres/.
// Domain packages never import it; the composition root wires it to them.
package store

import (
	"context"
	"errors"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrNotFound is returned when a named object does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a change would break a uniqueness rule
// (a domain owned by another tenant, for example).
var ErrConflict = errors.New("conflict")

// Store is everything Switchboard persists. Implementations must be safe for
// concurrent use.
type Store interface {
	// ApplyTenant creates or replaces a tenant with its domains and exactly the
	// given users (users of the tenant not listed are deleted), in one
	// transaction. Users carry HA1 credentials only, never passwords.
	ApplyTenant(ctx context.Context, t pbx.Tenant, users []pbx.User) error
	// Tenants lists every tenant, sorted by name.
	Tenants(ctx context.Context) ([]pbx.Tenant, error)
	// Users lists the users of a tenant ("" = all tenants), sorted by sipAddress,
	// with their credentials.
	Users(ctx context.Context, tenant string) ([]pbx.User, error)

	// SaveBinding inserts or replaces the binding (AOR, Contact).
	SaveBinding(ctx context.Context, b pbx.Binding) error
	// DeleteBinding removes the binding (AOR, Contact); no error if absent.
	DeleteBinding(ctx context.Context, aor, contact string) error
	// Bindings lists every stored binding (expired ones included; the registrar filters).
	Bindings(ctx context.Context) ([]pbx.Binding, error)

	// InsertCDR stores a finished call's record and returns its id.
	InsertCDR(ctx context.Context, c pbx.CDR) (int64, error)
	// CDRs lists records, newest first.
	CDRs(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, error)

	// Meta reads a node-level value (e.g. the nonce secret); ErrNotFound if unset.
	Meta(ctx context.Context, key string) (string, error)
	// SetMeta writes a node-level value.
	SetMeta(ctx context.Context, key, value string) error

	Close() error
}
