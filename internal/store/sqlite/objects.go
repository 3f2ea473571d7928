package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// SaveTenant writes the whole state of tenant t in one transaction: its
// domains and exactly the given users (as ApplyTenant), exactly the given
// objects (objects of the tenant not listed are deleted), and the audit
// entries describing the change. Nothing changes when it fails.
func (db *DB) SaveTenant(ctx context.Context, t pbx.Tenant, users []pbx.User, objects []pbx.Object, audit []pbx.AuditEntry) error {
	domains, us, err := normalize(t, users)
	if err != nil {
		return fmt.Errorf("save tenant %q: %w", t.Name, err)
	}
	for _, o := range objects {
		if o.Tenant != "" && o.Tenant != t.Name {
			return fmt.Errorf("save tenant %q: object %s %q names tenant %q", t.Name, o.Kind, o.Name, o.Tenant)
		}
		if o.Kind == "" || !json.Valid(o.Spec) {
			return fmt.Errorf("save tenant %q: object %s %q: empty kind or invalid JSON", t.Name, o.Kind, o.Name)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save tenant %q: %w", t.Name, err)
	}
	defer rollback(tx)
	a := applier{tx: tx, tenant: t.Name, now: formatTime(time.Now())}
	if err := a.apply(ctx, domains, us); err != nil {
		return fmt.Errorf("save tenant %q: %w", t.Name, conflictErr(err))
	}
	if err := a.objects(ctx, objects); err != nil {
		return fmt.Errorf("save tenant %q: %w", t.Name, conflictErr(err))
	}
	if err := insertAudit(ctx, tx, audit); err != nil {
		return fmt.Errorf("save tenant %q: %w", t.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save tenant %q: %w", t.Name, err)
	}
	db.log.InfoContext(ctx, "tenant saved", slog.String("tenant", t.Name),
		slog.Int("users", len(us)), slog.Int("objects", len(objects)), slog.Int("changes", len(audit)))
	return nil
}

// objects makes the tenant's objects exactly the given ones, keeping the
// creation time of those that stay.
func (a applier) objects(ctx context.Context, objects []pbx.Object) error {
	keys := make([]string, len(objects))
	for i, o := range objects {
		keys[i] = o.Kind + "\x00" + o.Name
	}
	list, err := jsonList(keys)
	if err != nil {
		return err
	}
	if _, err := a.tx.ExecContext(ctx,
		`DELETE FROM objects WHERE tenant = ?1
		 AND kind || char(0) || name NOT IN (SELECT value FROM json_each(?2))`,
		a.tenant, list); err != nil {
		return fmt.Errorf("delete objects: %w", err)
	}
	for _, o := range objects {
		if _, err := a.tx.ExecContext(ctx,
			`INSERT INTO objects (tenant, kind, name, spec, created_at, updated_at)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
			 ON CONFLICT (tenant, kind, name) DO UPDATE SET
			   spec = excluded.spec,
			   updated_at = CASE WHEN objects.spec = excluded.spec THEN objects.updated_at ELSE excluded.updated_at END`,
			a.tenant, o.Kind, o.Name, string(o.Spec), a.now); err != nil {
			return fmt.Errorf("upsert %s %q: %w", o.Kind, o.Name, err)
		}
	}
	return nil
}

// DeleteTenant deletes a tenant with its domains, users, credentials and
// objects, and records audit, in one transaction. store.ErrNotFound when
// there is no such tenant.
func (db *DB) DeleteTenant(ctx context.Context, name string, audit []pbx.AuditEntry) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete tenant %q: %w", name, err)
	}
	defer rollback(tx)
	res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE name = ?1`, name)
	if err != nil {
		return fmt.Errorf("delete tenant %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete tenant %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("tenant %q: %w", name, store.ErrNotFound)
	}
	if err := insertAudit(ctx, tx, audit); err != nil {
		return fmt.Errorf("delete tenant %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete tenant %q: %w", name, err)
	}
	db.log.InfoContext(ctx, "tenant deleted", slog.String("tenant", name))
	return nil
}

// Objects lists the objects of tenant ("" = every tenant), sorted by
// tenant, kind and name.
func (db *DB) Objects(ctx context.Context, tenant string) ([]pbx.Object, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT tenant, kind, name, spec FROM objects
		 WHERE ?1 = '' OR tenant = ?1
		 ORDER BY tenant, kind, name`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	defer rows.Close()
	out := []pbx.Object{}
	for rows.Next() {
		var o pbx.Object
		var spec string
		if err := rows.Scan(&o.Tenant, &o.Kind, &o.Name, &spec); err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		o.Spec = json.RawMessage(spec)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	return out, nil
}

func insertAudit(ctx context.Context, tx *sql.Tx, entries []pbx.AuditEntry) error {
	for _, e := range entries {
		changes, err := json.Marshal(nonNilChanges(e.Changes))
		if err != nil {
			return fmt.Errorf("encode audit changes: %w", err)
		}
		at := e.Time
		if at.IsZero() {
			at = time.Now()
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO audit (at, actor_id, actor_name, tenant, action, kind, name, before, after, changes)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`,
			formatTime(at), e.ActorID, e.ActorName, e.Tenant, e.Action, e.Kind, e.Name,
			nullJSON(e.Before), nullJSON(e.After), string(changes)); err != nil {
			return fmt.Errorf("insert audit entry: %w", err)
		}
	}
	return nil
}

// Audit lists audit entries newest first (see pbx.AuditFilter); Limit <= 0
// means 100.
func (db *DB) Audit(ctx context.Context, f pbx.AuditFilter) ([]pbx.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, at, actor_id, actor_name, tenant, action, kind, name, before, after, changes
		 FROM audit
		 WHERE (?1 = '' OR tenant = ?1) AND (?2 <= 0 OR id < ?2)
		 ORDER BY id DESC LIMIT ?3`, f.Tenant, f.Before, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []pbx.AuditEntry{}
	for rows.Next() {
		var e pbx.AuditEntry
		var at, changes string
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &e.Tenant, &e.Action, &e.Kind, &e.Name,
			&before, &after, &changes); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		if e.Time, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
			return nil, fmt.Errorf("list audit: changes of entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}

func nonNilChanges(c []pbx.FieldChange) []pbx.FieldChange {
	if c == nil {
		return []pbx.FieldChange{}
	}
	return c
}

// CreateToken stores a token (its hash only). store.ErrConflict when the id
// or hash is taken.
func (db *DB) CreateToken(ctx context.Context, t store.Token, audit ...pbx.AuditEntry) error {
	if t.ID == "" || t.Hash == "" {
		return errors.New("create token: empty id or hash")
	}
	created := t.Created
	if created.IsZero() {
		created = time.Now()
	}
	return db.inTx(ctx, "create token", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO tokens (id, name, tenant, hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
			t.ID, t.Name, t.Tenant, strings.ToLower(t.Hash), formatTime(created), t.CreatedBy); err != nil {
			return conflictErr(err)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// TokenByHash finds a token by the hex SHA-256 of its secret;
// store.ErrNotFound when none matches.
func (db *DB) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	ts, err := db.tokens(ctx, `WHERE hash = ?1`, strings.ToLower(hash))
	if err != nil {
		return store.Token{}, err
	}
	if len(ts) == 0 {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	return ts[0], nil
}

// Tokens lists the tokens of tenant ("" = all), oldest first.
func (db *DB) Tokens(ctx context.Context, tenant string) ([]store.Token, error) {
	return db.tokens(ctx, `WHERE ?1 = '' OR tenant = ?1`, tenant)
}

func (db *DB) tokens(ctx context.Context, where string, arg string) ([]store.Token, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, name, tenant, hash, created_at, created_by FROM tokens `+where+` ORDER BY created_at, id`, arg)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		var t store.Token
		var created string
		if err := rows.Scan(&t.ID, &t.Name, &t.Tenant, &t.Hash, &created, &t.CreatedBy); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if t.Created, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return slices.Clip(out), nil
}

// DeleteToken deletes a token by id; store.ErrNotFound when absent.
func (db *DB) DeleteToken(ctx context.Context, id string, audit ...pbx.AuditEntry) error {
	return db.inTx(ctx, "delete token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?1`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("token %q: %w", id, store.ErrNotFound)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// RecordAudit appends audit entries in one transaction.
func (db *DB) RecordAudit(ctx context.Context, entries []pbx.AuditEntry) error {
	return db.inTx(ctx, "record audit", func(tx *sql.Tx) error { return insertAudit(ctx, tx, entries) })
}

// inTx runs fn in a write transaction and commits it; errors are wrapped
// with what.
func (db *DB) inTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
