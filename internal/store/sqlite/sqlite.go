// Package sqlite is the embedded default implementation of store.Store: one
// SQLite file (dir/switchboard.db) accessed through the pure-Go driver
// modernc.org/sqlite, with its schema kept by SQL migrations embedded in the
// binary and applied with goose at Open.
//
// Concurrency: writes go through a pool of exactly one connection, so writers
// queue in database/sql instead of fighting over the SQLite write lock (no
// SQLITE_BUSY between goroutines of one process); reads use a separate pool of
// query-only connections that, in WAL mode, never block and are never blocked
// by the writer. busy_timeout covers another process opening the same file.
//
// Times are stored as fixed-width UTC text with nanoseconds and are read back
// as time.Time in UTC. SIP addresses and domain names are stored lowercase.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/switchboard-pbx/switchboard/internal/store"
)

// FileName is the name of the database file inside the data directory.
const FileName = "switchboard.db"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is a store.Store backed by a SQLite database file. It is safe for
// concurrent use.
type DB struct {
	w   *sql.DB // writer: exactly one connection
	r   *sql.DB // readers: query-only connections
	log *slog.Logger
	// cdrInserts are InsertCDRs' statements on w, largest first (batch.go).
	cdrInserts []cdrInsert
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database in dir, creating dir with mode
// 0700 if it does not exist, and applies pending migrations. log may be nil.
func Open(ctx context.Context, dir string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, errors.New("open store: empty data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	log = log.With(slog.String("db", path))

	w, err := sql.Open("sqlite", writerDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, w, log); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One writer connection, kept open for the life of the DB. Set after
	// migrating: goose may use a second connection for migrations marked
	// NO TRANSACTION.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	r, err := sql.Open("sqlite", readerDSN(path))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	ins, err := prepareCDRInserts(ctx, w)
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &DB{w: w, r: r, log: log, cdrInserts: ins}, nil
}

// Close closes the prepared statements and both connection pools.
func (db *DB) Close() error {
	return errors.Join(closeCDRInserts(db.cdrInserts), db.r.Close(), db.w.Close())
}

// writerDSN is the DSN of the writer pool: WAL, NORMAL sync (durable at
// checkpoints, safe against corruption), foreign keys enforced, and
// BEGIN IMMEDIATE so a transaction takes the write lock up front (waiting
// busy_timeout for another process) rather than failing on lock upgrade.
func writerDSN(path string) string {
	return "file:" + escapePath(path) +
		"?_pragma=busy_timeout(5000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=temp_store(MEMORY)" +
		"&_txlock=immediate"
}

// readerDSN is the DSN of the reader pool; query_only turns any accidental
// write into an error instead of a second writer.
func readerDSN(path string) string {
	return "file:" + escapePath(path) +
		"?_pragma=busy_timeout(5000)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=query_only(1)"
}

// escapePath escapes the characters that end or escape the path part of an
// SQLite URI filename.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(p)
}

// migrate applies the embedded migrations not yet recorded in the database.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log),
	)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// p.Close would close db; the provider holds nothing else.
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "store migration applied",
			slog.Int64("version", r.Source.Version),
			slog.String("file", filepath.Base(r.Source.Path)),
			slog.Duration("took", r.Duration))
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	log.DebugContext(ctx, "store schema ready", slog.Int64("version", v))
	return nil
}

// timeLayout formats times fixed-width (so they sort as text) with
// nanoseconds; always used on UTC times, so the zone is "Z".
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// rollback ends a transaction that was not committed; after Commit it is a
// no-op returning sql.ErrTxDone, which is ignored.
func rollback(tx *sql.Tx) {
	_ = tx.Rollback()
}
