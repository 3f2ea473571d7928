package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"

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
	// cdrColumns is the number of parameters of a CDR row (cdrArgs).
	cdrColumns = 15
	// maxCDRRows is the most rows one INSERT of InsertCDRs carries: 960
	// parameters, below SQLite's historical limit of 999.
	maxCDRRows = 64
)

// cdrInsert is a prepared INSERT of a fixed number of CDR rows.
type cdrInsert struct {
	rows int
	st   *sql.Stmt
}

// prepareCDRInserts prepares, on the writer, the multi-row INSERTs that
// InsertCDRs cuts a batch into: maxCDRRows rows, a quarter of that, and so
// on down to one row, largest first. Preparing once saves compiling the
// statements for every batch; a batch of n rows takes at most
// n/maxCDRRows + 9 statement executions instead of n.
func prepareCDRInserts(ctx context.Context, w *sql.DB) ([]cdrInsert, error) {
	var out []cdrInsert
	for rows := maxCDRRows; rows >= 1; rows /= 4 {
		st, err := w.PrepareContext(ctx, insertCDRsSQL(rows))
		if err != nil {
			closeCDRInserts(out)
			return nil, fmt.Errorf("prepare cdr insert: %w", err)
		}
		out = append(out, cdrInsert{rows: rows, st: st})
	}
	return out, nil
}

func closeCDRInserts(ins []cdrInsert) error {
	var errs []error
	for _, in := range ins {
		errs = append(errs, in.st.Close())
	}
	return errors.Join(errs...)
}

// insertCDRsSQL is an INSERT of rows CDRs, cdrColumns anonymous
// parameters a row in the order of cdrArgs.
func insertCDRsSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO cdrs (call_id, tenant, caller, callee, dialed,
		 started_at, answered_at, ended_at, duration, result, cause, hangup_by, via, emergency, end_reason) VALUES `)
	row := "(?" + strings.Repeat(", ?", cdrColumns-1) + ")"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

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
// nothing. The ID fields are ignored. The rows go in multi-row INSERTs
// prepared once (prepareCDRInserts): most of a row's cost in a batch was
// the statement execution around it (binding through database/sql, and
// the driver's watcher goroutine for the context), not SQLite's insert.
func (db *DB) InsertCDRs(ctx context.Context, cdrs []pbx.CDR) error {
	if len(cdrs) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert cdrs: %w", err)
	}
	defer rollback(tx)
	args := make([]any, 0, min(len(cdrs), maxCDRRows)*cdrColumns)
	for _, in := range db.cdrInserts {
		if len(cdrs) < in.rows {
			continue
		}
		st := tx.StmtContext(ctx, in.st)
		for len(cdrs) >= in.rows {
			args = args[:0]
			for _, c := range cdrs[:in.rows] {
				args = appendCDRArgs(args, c)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert cdrs (of calls %q to %q): %w", cdrs[0].CallID, cdrs[in.rows-1].CallID, err)
			}
			cdrs = cdrs[in.rows:]
			// A second's CDRs are tens of milliseconds of CPU, and Go
			// lets a goroutine run 10 ms before it preempts it: let the
			// SIP readers in between statements (≈ 1 ms each), or a
			// message waits for the flush (the tail of the bench's
			// response times; docs/performance.md).
			runtime.Gosched()
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert cdrs: %w", err)
	}
	return nil
}

// cdrArgs are the parameters of insertCDRSQL.
func cdrArgs(c pbx.CDR) []any {
	return appendCDRArgs(make([]any, 0, cdrColumns), c)
}

// appendCDRArgs appends the cdrColumns parameters of c's row.
func appendCDRArgs(args []any, c pbx.CDR) []any {
	var answer sql.NullString
	if c.Answer != nil {
		answer = sql.NullString{String: formatTime(*c.Answer), Valid: true}
	}
	return append(args, c.CallID, c.Tenant, c.Caller, c.Callee, c.Dialed,
		formatTime(c.Start), answer, formatTime(c.End),
		c.Duration, string(c.Result), c.Cause, string(c.HangupBy), c.Via, c.Emergency, c.EndReason)
}
