package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// Batched writes for the write-behind queues of package store
// (store.BindingWriter, store.CDRWriter): one transaction, one commit, for
// many rows, off the request and call goroutines.

const (
	saveBindingSQL = `INSERT INTO bindings (aor, contact, source, transport, expires, call_id, cseq, user_agent, instance)
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
		 ON CONFLICT (aor, contact) DO UPDATE SET
		   source = excluded.source,
		   transport = excluded.transport,
		   expires = excluded.expires,
		   call_id = excluded.call_id,
		   cseq = excluded.cseq,
		   user_agent = excluded.user_agent,
		   instance = excluded.instance`
	deleteBindingSQL = `DELETE FROM bindings WHERE aor = ?1 AND contact = ?2`
	insertCDRSQL     = `INSERT INTO cdrs (call_id, tenant, caller, callee, dialed,
		                   started_at, answered_at, ended_at, duration, result, cause, hangup_by, via, emergency, end_reason)
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)`
)

// WriteBindings saves and deletes bindings in one transaction: all or
// nothing. A key should not be in both lists.
func (db *DB) WriteBindings(ctx context.Context, save []pbx.Binding, del []store.BindingKey) error {
	if len(save) == 0 && len(del) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write bindings: %w", err)
	}
	defer rollback(tx)
	if len(save) > 0 {
		st, err := tx.PrepareContext(ctx, saveBindingSQL)
		if err != nil {
			return fmt.Errorf("write bindings: %w", err)
		}
		defer st.Close()
		for _, b := range save {
			if _, err := st.ExecContext(ctx, b.AOR, b.Contact, b.Source, b.Transport, formatTime(b.Expires),
				b.CallID, int64(b.CSeq), b.UserAgent, b.Instance); err != nil {
				return fmt.Errorf("save binding %q of %q: %w", b.Contact, b.AOR, err)
			}
		}
	}
	if len(del) > 0 {
		st, err := tx.PrepareContext(ctx, deleteBindingSQL)
		if err != nil {
			return fmt.Errorf("write bindings: %w", err)
		}
		defer st.Close()
		for _, k := range del {
			if _, err := st.ExecContext(ctx, k.AOR, k.Contact); err != nil {
				return fmt.Errorf("delete binding %q of %q: %w", k.Contact, k.AOR, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write bindings: %w", err)
	}
	return nil
}

// InsertCDRs stores finished calls' records in one transaction: all or
// nothing. The ID fields are ignored.
func (db *DB) InsertCDRs(ctx context.Context, cdrs []pbx.CDR) error {
	if len(cdrs) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert cdrs: %w", err)
	}
	defer rollback(tx)
	st, err := tx.PrepareContext(ctx, insertCDRSQL)
	if err != nil {
		return fmt.Errorf("insert cdrs: %w", err)
	}
	defer st.Close()
	for _, c := range cdrs {
		if _, err := st.ExecContext(ctx, cdrArgs(c)...); err != nil {
			return fmt.Errorf("insert cdr of call %q: %w", c.CallID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert cdrs: %w", err)
	}
	return nil
}

// cdrArgs are the parameters of insertCDRSQL.
func cdrArgs(c pbx.CDR) []any {
	var answer sql.NullString
	if c.Answer != nil {
		answer = sql.NullString{String: formatTime(*c.Answer), Valid: true}
	}
	return []any{c.CallID, c.Tenant, c.Caller, c.Callee, c.Dialed,
		formatTime(c.Start), answer, formatTime(c.End),
		c.Duration, string(c.Result), c.Cause, string(c.HangupBy), c.Via, c.Emergency, c.EndReason}
}
