package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

var _ store.Hybrid = (*DB)(nil)

// CreateEdgeToken stores a tenant token and its edge scope in one
// transaction. store.ErrConflict when the id or hash is taken.
func (db *DB) CreateEdgeToken(ctx context.Context, t store.Token, edge string) error {
	if t.ID == "" || t.Hash == "" || t.Tenant == "" || edge == "" {
		return errors.New("create edge token: empty id, hash, tenant or edge")
	}
	created := t.Created
	if created.IsZero() {
		created = time.Now()
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create edge token: %w", err)
	}
	defer rollback(tx)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO tokens (id, name, tenant, hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
		t.ID, t.Name, t.Tenant, strings.ToLower(t.Hash), formatTime(created), t.CreatedBy); err != nil {
		return fmt.Errorf("create edge token: %w", conflictErr(err))
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO edge_tokens (token_id, tenant, edge) VALUES (?1, ?2, ?3)`, t.ID, t.Tenant, edge); err != nil {
		return fmt.Errorf("create edge token: %w", conflictErr(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create edge token: %w", err)
	}
	return nil
}

// TokenEdge returns the edge of an edge token, "" for any other token.
func (db *DB) TokenEdge(ctx context.Context, tokenID string) (string, error) {
	var edge string
	err := db.r.QueryRowContext(ctx, `SELECT edge FROM edge_tokens WHERE token_id = ?1`, tokenID).Scan(&edge)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("token edge: %w", err)
	}
	return edge, nil
}

// QueueCDR appends a CDR to the upload queue.
func (db *DB) QueueCDR(ctx context.Context, c pbx.CDR) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("queue cdr %q: %w", c.CallID, err)
	}
	if _, err := db.w.ExecContext(ctx,
		`INSERT INTO hybrid_outbox (call_id, tenant, cdr, queued_at) VALUES (?1, ?2, ?3, ?4)`,
		c.CallID, c.Tenant, string(b), formatTime(time.Now())); err != nil {
		return fmt.Errorf("queue cdr %q: %w", c.CallID, err)
	}
	return nil
}

// QueuedCDRs returns up to limit queued CDRs, oldest first.
func (db *DB) QueuedCDRs(ctx context.Context, limit int) ([]store.QueuedCDR, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT seq, cdr FROM hybrid_outbox ORDER BY seq LIMIT ?1`, limit)
	if err != nil {
		return nil, fmt.Errorf("queued cdrs: %w", err)
	}
	defer rows.Close()
	out := []store.QueuedCDR{}
	for rows.Next() {
		var q store.QueuedCDR
		var body string
		if err := rows.Scan(&q.Seq, &body); err != nil {
			return nil, fmt.Errorf("queued cdrs: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &q.CDR); err != nil {
			return nil, fmt.Errorf("queued cdr %d: %w", q.Seq, err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queued cdrs: %w", err)
	}
	return out, nil
}

// DeleteQueuedCDRs removes queued CDRs by sequence number.
func (db *DB) DeleteQueuedCDRs(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	list, err := json.Marshal(seqs)
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx,
		`DELETE FROM hybrid_outbox WHERE seq IN (SELECT value FROM json_each(?1))`, string(list)); err != nil {
		return fmt.Errorf("delete queued cdrs: %w", err)
	}
	return nil
}

// CountQueuedCDRs is the number of CDRs waiting for upload.
func (db *DB) CountQueuedCDRs(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM hybrid_outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count queued cdrs: %w", err)
	}
	return n, nil
}

// HasCDR says whether tenant has a CDR with that Call-ID.
func (db *DB) HasCDR(ctx context.Context, tenant, callID string) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx,
		`SELECT 1 FROM cdrs WHERE tenant = ?1 AND call_id = ?2 LIMIT 1`, tenant, callID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("find cdr %q: %w", callID, err)
	}
	return true, nil
}
