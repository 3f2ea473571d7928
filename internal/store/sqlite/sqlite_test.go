package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// openTest opens a store in a fresh temporary directory and closes it when
// the test ends.
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// testLogger writes the store's log lines through t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

func TestOpenCreatesPrivateDirAndConfiguresConnections(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "node #1?") // URI-special characters
	db, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode = %o, want 700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("database file: %v", err)
	}

	ctx := t.Context()
	for _, tc := range []struct {
		pool, pragma, want string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "busy_timeout", "5000"},
		{"writer", "foreign_keys", "1"},
		{"writer", "synchronous", "1"}, // NORMAL
		{"reader", "busy_timeout", "5000"},
		{"reader", "foreign_keys", "1"},
		{"reader", "query_only", "1"},
	} {
		pool := db.w
		if tc.pool == "reader" {
			pool = db.r
		}
		var got string
		if err := pool.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tc.pool, tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("%s PRAGMA %s = %q, want %q", tc.pool, tc.pragma, got, tc.want)
		}
	}
	if _, err := db.r.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('k', 'v')`); err == nil {
		t.Error("write through the reader pool succeeded, want query_only error")
	}
}

func TestOpenFailsWhenDirIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(t.Context(), file, nil); err == nil {
		db.Close()
		t.Fatal("Open on a regular file succeeded")
	}
	if _, err := Open(t.Context(), "", nil); err == nil {
		t.Fatal("Open with empty dir succeeded")
	}
}

func gooseVersions(t *testing.T, db *DB) (rows, maxVersion int64) {
	t.Helper()
	if err := db.r.QueryRowContext(t.Context(),
		`SELECT count(*), max(version_id) FROM goose_db_version`).Scan(&rows, &maxVersion); err != nil {
		t.Fatalf("goose_db_version: %v", err)
	}
	return rows, maxVersion
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	db, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tenant, users := contoso()
	if err := db.ApplyTenant(ctx, tenant, users); err != nil {
		t.Fatal(err)
	}
	b := binding("alice@contoso.com", "sip:alice@192.0.2.1:5060")
	if err := db.SaveBinding(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := cdr("call-1", "contoso", true)
	if c.ID, err = db.InsertCDR(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "nonce-secret", "s3cret"); err != nil {
		t.Fatal(err)
	}
	rows1, v1 := gooseVersions(t, db)
	if v1 < 1 {
		t.Fatalf("schema version = %d after Open, want >= 1", v1)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if rows2, v2 := gooseVersions(t, db); rows2 != rows1 || v2 != v1 {
		t.Errorf("after reopen goose_db_version has %d rows, version %d; want %d, %d", rows2, v2, rows1, v1)
	}
	wantTenants := []pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com", "sip.contoso.com"}}}
	if got, err := db.Tenants(ctx); err != nil || !reflect.DeepEqual(got, wantTenants) {
		t.Errorf("Tenants = %+v, %v; want %+v", got, err, wantTenants)
	}
	if got, err := db.Users(ctx, "contoso"); err != nil || !reflect.DeepEqual(got, users) {
		t.Errorf("Users = %+v, %v; want %+v", got, err, users)
	}
	if got, err := db.Bindings(ctx); err != nil || !reflect.DeepEqual(got, []pbx.Binding{b}) {
		t.Errorf("Bindings = %+v, %v; want %+v", got, err, b)
	}
	if got, err := db.CDRs(ctx, pbx.CDRFilter{}); err != nil || !reflect.DeepEqual(got, []pbx.CDR{c}) {
		t.Errorf("CDRs = %+v, %v; want %+v", got, err, c)
	}
	if got, err := db.Meta(ctx, "nonce-secret"); err != nil || got != "s3cret" {
		t.Errorf("Meta = %q, %v; want s3cret", got, err)
	}
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Go(func() {
			b := binding(fmt.Sprintf("user%02d@contoso.com", i), fmt.Sprintf("sip:u%02d@192.0.2.%d:5060", i, i+1))
			// Save twice (insert then replace) and read concurrently with other writers.
			for range 2 {
				if err := db.SaveBinding(ctx, b); err != nil {
					errs <- err
				}
				b.CSeq++
			}
			if _, err := db.Bindings(ctx); err != nil {
				errs <- err
			}
		})
	}
	// Other kinds of writes race with the bindings too.
	wg.Go(func() {
		tenant, users := contoso()
		if err := db.ApplyTenant(ctx, tenant, users); err != nil {
			errs <- err
		}
	})
	wg.Go(func() {
		if _, err := db.InsertCDR(ctx, cdr("c", "contoso", false)); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := db.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("got %d bindings, want %d", len(got), n)
	}
	for _, b := range got {
		if b.CSeq != 2 {
			t.Errorf("binding %s has CSeq %d, want 2 (second save)", b.AOR, b.CSeq)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tenant, users := contoso()
	if err := db.ApplyTenant(ctx, tenant, users); !errors.Is(err, context.Canceled) {
		t.Errorf("ApplyTenant with canceled context = %v, want context.Canceled", err)
	}
	if got, err := db.Tenants(t.Context()); err != nil || len(got) != 0 {
		t.Errorf("Tenants = %+v, %v; want none", got, err)
	}
}

func TestMeta(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	if _, err := db.Meta(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Meta(missing) = %v, want ErrNotFound", err)
	}
	for _, v := range []string{"one", "two", ""} {
		if err := db.SetMeta(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Meta(ctx, "k"); err != nil || got != v {
			t.Errorf("Meta(k) = %q, %v; want %q", got, err, v)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CEST", 2*60*60)
	for _, in := range []time.Time{
		{},
		time.Date(2025, 6, 1, 12, 30, 45, 123456789, paris),
		time.Date(2025, 6, 1, 12, 30, 45, 0, time.UTC),
		time.Now(), // carries a monotonic reading
	} {
		got, err := parseTime(formatTime(in))
		if err != nil {
			t.Fatalf("%v: %v", in, err)
		}
		if !got.Equal(in) || got.Location() != time.UTC {
			t.Errorf("round trip of %v = %v (%v)", in, got, got.Location())
		}
	}
	// Fixed width: stored text sorts like the times.
	a := formatTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	b := formatTime(time.Date(2025, 1, 1, 0, 0, 0, 100, time.UTC))
	if len(a) != len(b) || a >= b {
		t.Errorf("formatTime not fixed width / ordered: %q, %q", a, b)
	}
}
