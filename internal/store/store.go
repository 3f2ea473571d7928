// Package store declares the persistence contract of Switchboard and holds its
// implementations: sqlite/ (the embedded default) and, later, postgres/.
// Domain packages never import it; the composition root wires it to them.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
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
	// SaveTenant writes the whole state of one tenant in one transaction:
	// domains, exactly the given users and exactly the given objects (users
	// and objects not listed are deleted), plus the audit entries of the
	// change. Nothing changes when it fails.
	SaveTenant(ctx context.Context, t pbx.Tenant, users []pbx.User, objects []pbx.Object, audit []pbx.AuditEntry) error
	// DeleteTenant deletes a tenant and everything it owns, recording audit;
	// ErrNotFound when absent.
	DeleteTenant(ctx context.Context, name string, audit []pbx.AuditEntry) error
	// Objects lists the objects (every kind but users and domains) of a
	// tenant ("" = all tenants), sorted by tenant, kind and name.
	Objects(ctx context.Context, tenant string) ([]pbx.Object, error)
	// Audit lists audit entries, newest first.
	Audit(ctx context.Context, f pbx.AuditFilter) ([]pbx.AuditEntry, error)
	// RecordAudit appends entries of changes that are not tenant data (the
	// operator's configuration reloaded).
	RecordAudit(ctx context.Context, entries []pbx.AuditEntry) error

	// CreateToken stores an API token (its hash, never the secret) and
	// the audit entries of its creation, in one transaction.
	CreateToken(ctx context.Context, t Token, audit ...pbx.AuditEntry) error
	// TokenByHash finds a token by the hex SHA-256 of its secret; ErrNotFound if none.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// Tokens lists the tokens of a tenant ("" = all), oldest first.
	Tokens(ctx context.Context, tenant string) ([]Token, error)
	// DeleteToken deletes a token and records audit in one transaction;
	// ErrNotFound if absent.
	DeleteToken(ctx context.Context, id string, audit ...pbx.AuditEntry) error

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

	// numbering.Store: the Calling Plan's numbers and accounts.
	numbering.Store

	Close() error
}

// Token is a stored API token. Only the hex SHA-256 of its secret is kept.
// Tenant "" is an operator token (every tenant); otherwise the token sees
// and changes that tenant only.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Tenant    string    `json:"tenant,omitempty"`
	Hash      string    `json:"-"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"createdBy,omitempty"`
}
