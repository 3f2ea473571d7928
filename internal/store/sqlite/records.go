package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// defaultCDRLimit is the number of CDRs returned when the filter sets none.
const defaultCDRLimit = 1000

// SaveBinding inserts or replaces the binding (AOR, Contact).
func (db *DB) SaveBinding(ctx context.Context, b pbx.Binding) error {
	if _, err := db.w.ExecContext(ctx, saveBindingSQL,
		b.AOR, b.Contact, b.Source, b.Transport, formatTime(b.Expires),
		b.CallID, int64(b.CSeq), b.UserAgent, b.Instance); err != nil {
		return fmt.Errorf("save binding %q of %q: %w", b.Contact, b.AOR, err)
	}
	return nil
}

// DeleteBinding removes the binding (aor, contact); it is not an error if
// there is none.
func (db *DB) DeleteBinding(ctx context.Context, aor, contact string) error {
	if _, err := db.w.ExecContext(ctx, deleteBindingSQL, aor, contact); err != nil {
		return fmt.Errorf("delete binding %q of %q: %w", contact, aor, err)
	}
	return nil
}

// Bindings lists every stored binding, expired ones included, sorted by AOR
// then contact.
func (db *DB) Bindings(ctx context.Context) ([]pbx.Binding, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT aor, contact, source, transport, expires, call_id, cseq, user_agent, instance
		 FROM bindings ORDER BY aor, contact`)
	if err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	defer rows.Close()
	out := []pbx.Binding{}
	for rows.Next() {
		var b pbx.Binding
		var expires string
		var cseq int64
		if err := rows.Scan(&b.AOR, &b.Contact, &b.Source, &b.Transport, &expires,
			&b.CallID, &cseq, &b.UserAgent, &b.Instance); err != nil {
			return nil, fmt.Errorf("list bindings: %w", err)
		}
		if b.Expires, err = parseTime(expires); err != nil {
			return nil, fmt.Errorf("list bindings: %w", err)
		}
		b.CSeq = uint32(cseq)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	return out, nil
}

// InsertCDR stores a finished call's record and returns its id. The ID field
// of c is ignored.
func (db *DB) InsertCDR(ctx context.Context, c pbx.CDR) (int64, error) {
	res, err := db.w.ExecContext(ctx, insertCDRSQL, cdrArgs(c)...)
	if err != nil {
		return 0, fmt.Errorf("insert cdr of call %q: %w", c.CallID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert cdr of call %q: %w", c.CallID, err)
	}
	return id, nil
}

// CDRs lists records newest first (by id), of f.Tenant only when it is set,
// at most f.Limit of them (1000 when f.Limit is 0 or negative).
func (db *DB) CDRs(ctx context.Context, f pbx.CDRFilter) ([]pbx.CDR, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultCDRLimit
	}
	const cols = `SELECT id, call_id, tenant, caller, callee, dialed,
	                     started_at, answered_at, ended_at, duration, result, cause, hangup_by, via, emergency, end_reason
	              FROM cdrs`
	var rows *sql.Rows
	var err error
	if f.Tenant == "" {
		rows, err = db.r.QueryContext(ctx, cols+` ORDER BY id DESC LIMIT ?1`, limit)
	} else {
		rows, err = db.r.QueryContext(ctx, cols+` WHERE tenant = ?1 ORDER BY id DESC LIMIT ?2`, f.Tenant, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list cdrs: %w", err)
	}
	defer rows.Close()
	out := []pbx.CDR{}
	for rows.Next() {
		c, err := scanCDR(rows)
		if err != nil {
			return nil, fmt.Errorf("list cdrs: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list cdrs: %w", err)
	}
	return out, nil
}

func scanCDR(rows *sql.Rows) (pbx.CDR, error) {
	var c pbx.CDR
	var start, end, result, hangupBy string
	var answer sql.NullString
	if err := rows.Scan(&c.ID, &c.CallID, &c.Tenant, &c.Caller, &c.Callee, &c.Dialed,
		&start, &answer, &end, &c.Duration, &result, &c.Cause, &hangupBy, &c.Via, &c.Emergency, &c.EndReason); err != nil {
		return c, err
	}
	c.Result = pbx.CallResult(result)
	c.HangupBy = pbx.Party(hangupBy)
	var err error
	if c.Start, err = parseTime(start); err != nil {
		return c, err
	}
	if c.End, err = parseTime(end); err != nil {
		return c, err
	}
	if answer.Valid {
		a, err := parseTime(answer.String)
		if err != nil {
			return c, err
		}
		c.Answer = &a
	}
	return c, nil
}

// Meta reads a node-level value; store.ErrNotFound if key is unset.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?1`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("meta %q: %w", key, store.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("meta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta writes a node-level value, replacing any previous one.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	if _, err := db.w.ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES (?1, ?2)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}
