package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
)

// The Calling Plan's persistence (numbering.Store): the numbers tenants
// hold, credit balances, spend limits, settled usage and reservations. See
// migrations/00003_calling_plan.sql.

var _ numbering.Store = (*DB)(nil)

// CPNumbers lists every acquired or quarantined number.
func (db *DB) CPNumbers(ctx context.Context) ([]numbering.Number, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT number, country, area_code, type, tenant, assigned_to, since, quarantined_until
		 FROM cp_numbers ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	defer rows.Close()
	out := []numbering.Number{}
	for rows.Next() {
		var n numbering.Number
		var since string
		var until sql.NullString
		if err := rows.Scan(&n.Number, &n.Country, &n.AreaCode, &n.Type, &n.Tenant, &n.User, &since, &until); err != nil {
			return nil, fmt.Errorf("list numbers: %w", err)
		}
		if n.Since, err = parseTime(since); err != nil {
			return nil, fmt.Errorf("list numbers: %w", err)
		}
		if n.QuarantinedUntil, err = cpParseOptTime(until); err != nil {
			return nil, fmt.Errorf("list numbers: %w", err)
		}
		switch {
		case n.User != "":
			n.Status = numbering.StatusAssigned
		case n.Tenant != "":
			n.Status = numbering.StatusAcquired
		default:
			n.Status = numbering.StatusQuarantined
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	return out, nil
}

// SaveCPNumbers inserts or replaces numbers, all in one transaction.
func (db *DB) SaveCPNumbers(ctx context.Context, ns []numbering.Number) error {
	return db.cpTx(ctx, "save numbers", func(tx *sql.Tx) error {
		for _, n := range ns {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO cp_numbers (number, country, area_code, type, tenant, assigned_to, since, quarantined_until)
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
				 ON CONFLICT (number) DO UPDATE SET country = excluded.country, area_code = excluded.area_code,
				   type = excluded.type, tenant = excluded.tenant, assigned_to = excluded.assigned_to,
				   since = excluded.since, quarantined_until = excluded.quarantined_until`,
				n.Number, n.Country, n.AreaCode, n.Type, n.Tenant, n.User, formatTime(n.Since),
				cpOptTime(n.QuarantinedUntil)); err != nil {
				return fmt.Errorf("%s: %w", n.Number, err)
			}
		}
		return nil
	})
}

// CPState reads balances, limits, usage totals and open reservations.
func (db *DB) CPState(ctx context.Context) (numbering.State, error) {
	st := numbering.State{Balances: map[string]numbering.Money{}}
	err := db.cpReadTx(ctx, "read calling plan accounts", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT tenant, balance FROM cp_credits`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var t string
			var b int64
			if err := rows.Scan(&t, &b); err != nil {
				rows.Close()
				return err
			}
			st.Balances[t] = numbering.Money(b)
		}
		if err := cpCloseRows(rows); err != nil {
			return err
		}
		if rows, err = tx.QueryContext(ctx, `SELECT tenant, user, monthly_limit FROM cp_spend_limits`); err != nil {
			return err
		}
		for rows.Next() {
			var l numbering.SpendLimit
			if err := rows.Scan(&l.Tenant, &l.User, &l.Limit); err != nil {
				rows.Close()
				return err
			}
			st.Limits = append(st.Limits, l)
		}
		if err := cpCloseRows(rows); err != nil {
			return err
		}
		if rows, err = tx.QueryContext(ctx,
			`SELECT tenant, user, month, funding, country, plan, kind, count(*), sum(minutes), sum(amount)
			 FROM cp_usage GROUP BY tenant, user, month, funding, country, plan, kind`); err != nil {
			return err
		}
		for rows.Next() {
			var u numbering.UsageTotal
			if err := rows.Scan(&u.Tenant, &u.User, &u.Month, &u.Funding, &u.Country, &u.Plan, &u.Kind, &u.Calls,
				&u.Minutes, &u.Amount); err != nil {
				rows.Close()
				return err
			}
			st.Usage = append(st.Usage, u)
		}
		if err := cpCloseRows(rows); err != nil {
			return err
		}
		st.Reservations, err = reservations(ctx, tx)
		return err
	})
	return st, err
}

func reservations(ctx context.Context, tx *sql.Tx) ([]numbering.Reservation, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT id, call_id, tenant, user, number, month, funding, country, plan, kind, rate, minutes, created_at, answered_at
		 FROM cp_reservations ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []numbering.Reservation
	for rows.Next() {
		var r numbering.Reservation
		var created string
		var answered sql.NullString
		if err := rows.Scan(&r.ID, &r.CallID, &r.Tenant, &r.User, &r.Number, &r.Month, &r.Funding, &r.Country, &r.Plan,
			&r.Kind, &r.Rate, &r.Minutes, &created, &answered); err != nil {
			return nil, err
		}
		if r.Created, err = parseTime(created); err != nil {
			return nil, err
		}
		if r.Answered, err = cpParseOptTime(answered); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveReservation inserts or replaces a reservation.
func (db *DB) SaveReservation(ctx context.Context, r numbering.Reservation) error {
	if _, err := db.w.ExecContext(ctx,
		`INSERT INTO cp_reservations (id, call_id, tenant, user, number, month, funding, country, plan, kind, rate,
		                              minutes, created_at, answered_at)
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
		 ON CONFLICT (id) DO UPDATE SET minutes = excluded.minutes, answered_at = excluded.answered_at`,
		r.ID, r.CallID, r.Tenant, r.User, r.Number, r.Month, r.Funding, r.Country, r.Plan, r.Kind, int64(r.Rate),
		r.Minutes, formatTime(r.Created), cpOptTime(r.Answered)); err != nil {
		return fmt.Errorf("save reservation of call %q: %w", r.CallID, err)
	}
	return nil
}

// DeleteReservation forgets a reservation.
func (db *DB) DeleteReservation(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM cp_reservations WHERE id = ?1`, id); err != nil {
		return fmt.Errorf("delete reservation %q: %w", id, err)
	}
	return nil
}

// Settle records the usage, debits the balance and deletes the reservation
// in one transaction; a reservation already settled changes nothing.
func (db *DB) Settle(ctx context.Context, s numbering.Settlement) error {
	r := s.Reservation
	return db.cpTx(ctx, "settle call "+r.CallID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO cp_usage (id, call_id, tenant, user, number, month, funding, country, plan, kind, rate, minutes,
			                       amount, answered_at, settled_at, recovered)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
			 ON CONFLICT (id) DO NOTHING`,
			r.ID, r.CallID, r.Tenant, r.User, r.Number, r.Month, r.Funding, r.Country, r.Plan, r.Kind, int64(r.Rate),
			s.Minutes, int64(s.Amount), cpOptTime(r.Answered), formatTime(s.Settled), s.Recovered)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 && s.Amount != 0 {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO cp_credits (tenant, balance) VALUES (?1, -?2)
				 ON CONFLICT (tenant) DO UPDATE SET balance = balance - ?2`, r.Tenant, int64(s.Amount)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM cp_reservations WHERE id = ?1`, r.ID)
		return err
	})
}

// TopUp adds to a tenant's balance and records the top-up.
func (db *DB) TopUp(ctx context.Context, t numbering.TopUp) (numbering.Money, error) {
	var bal int64
	err := db.cpTx(ctx, "top up "+t.Tenant, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO cp_credits (tenant, balance) VALUES (?1, ?2)
			 ON CONFLICT (tenant) DO UPDATE SET balance = balance + ?2
			 RETURNING balance`, t.Tenant, int64(t.Amount)).Scan(&bal); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO cp_topups (tenant, amount, balance_after, at, actor) VALUES (?1, ?2, ?3, ?4, ?5)`,
			t.Tenant, int64(t.Amount), bal, formatTime(t.At), t.Actor)
		return err
	})
	return numbering.Money(bal), err
}

// SetSpendLimit sets or (negative limit) removes a user's monthly limit.
func (db *DB) SetSpendLimit(ctx context.Context, l numbering.SpendLimit) error {
	var err error
	if l.Limit < 0 {
		_, err = db.w.ExecContext(ctx, `DELETE FROM cp_spend_limits WHERE tenant = ?1 AND user = ?2`, l.Tenant, l.User)
	} else {
		_, err = db.w.ExecContext(ctx,
			`INSERT INTO cp_spend_limits (tenant, user, monthly_limit) VALUES (?1, ?2, ?3)
			 ON CONFLICT (tenant, user) DO UPDATE SET monthly_limit = excluded.monthly_limit`,
			l.Tenant, l.User, int64(l.Limit))
	}
	if err != nil {
		return fmt.Errorf("spend limit of %s: %w", l.User, err)
	}
	return nil
}

// cpTx runs f in a write transaction.
func (db *DB) cpTx(ctx context.Context, what string, f func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	if err := f(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// cpReadTx runs f in a read transaction (one consistent snapshot).
func (db *DB) cpReadTx(ctx context.Context, what string, f func(*sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	if err := f(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func cpCloseRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

func cpOptTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

func cpParseOptTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}
