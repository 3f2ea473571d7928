package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// memBatcher is an in-memory BindingBatcher and CDRBatcher.
type memBatcher struct {
	mu       sync.Mutex
	bindings map[BindingKey]pbx.Binding
	cdrs     []pbx.CDR
	writes   int   // transactions
	fail     error // returned by every write while set
}

func newMem() *memBatcher { return &memBatcher{bindings: map[BindingKey]pbx.Binding{}} }

func (m *memBatcher) WriteBindings(_ context.Context, save []pbx.Binding, del []BindingKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	for _, b := range save {
		m.bindings[BindingKey{b.AOR, b.Contact}] = b
	}
	for _, k := range del {
		delete(m.bindings, k)
	}
	return nil
}

func (m *memBatcher) Bindings(context.Context) ([]pbx.Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pbx.Binding
	for _, b := range m.bindings {
		out = append(out, b)
	}
	return out, nil
}

func (m *memBatcher) InsertCDRs(_ context.Context, cdrs []pbx.CDR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if len(cdrs) > 0 {
		m.writes++
	}
	m.cdrs = append(m.cdrs, cdrs...)
	return nil
}

func (m *memBatcher) HasCDR(_ context.Context, tenant, callID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.cdrs {
		if c.Tenant == tenant && c.CallID == callID {
			return true, nil
		}
	}
	return false, nil
}

func (m *memBatcher) state() (int, int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.bindings), len(m.cdrs), m.writes
}

func TestBindingWriterCoalescesAndFlushes(t *testing.T) {
	ctx := context.Background()
	m := newMem()
	w := NewBindingWriter(m, time.Hour, nil) // no timed flush during the test
	b := pbx.Binding{AOR: "a@x", Contact: "sip:a@1.2.3.4", CSeq: 1}
	for i := range 10 {
		b.CSeq = uint32(i + 1)
		if err := w.SaveBinding(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.SaveBinding(ctx, pbx.Binding{AOR: "b@x", Contact: "sip:b@1.2.3.4"})
	_ = w.DeleteBinding(ctx, "b@x", "sip:b@1.2.3.4")
	if n, _, _ := m.state(); n != 0 || w.Pending() != 2 {
		t.Fatalf("before the flush: %d stored, %d pending; want 0 and 2", n, w.Pending())
	}
	got, err := w.Bindings(ctx) // flushes first
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].CSeq != 10 {
		t.Fatalf("stored %+v, want a@x with CSeq 10 only", got)
	}
	if _, _, writes := m.state(); writes != 1 {
		t.Errorf("%d transactions, want 1", writes)
	}

	// A failed write keeps the changes; a newer change of the key wins.
	m.fail = errors.New("disk full")
	_ = w.SaveBinding(ctx, pbx.Binding{AOR: "c@x", Contact: "sip:c", CSeq: 1})
	if err := w.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with a failing store")
	}
	m.mu.Lock()
	m.fail = nil
	m.mu.Unlock()
	_ = w.SaveBinding(ctx, pbx.Binding{AOR: "c@x", Contact: "sip:c", CSeq: 2})
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c := m.bindings[BindingKey{"c@x", "sip:c"}]; c.CSeq != 2 {
		t.Errorf("after Close: c@x CSeq %d, want 2", c.CSeq)
	}
	// After Close: written through.
	_ = w.SaveBinding(ctx, pbx.Binding{AOR: "d@x", Contact: "sip:d"})
	if _, ok := m.bindings[BindingKey{"d@x", "sip:d"}]; !ok {
		t.Error("a change after Close was not written through")
	}
}

func TestBindingWriterTimedFlush(t *testing.T) {
	m := newMem()
	w := NewBindingWriter(m, 5*time.Millisecond, nil)
	defer w.Close(context.Background())
	_ = w.SaveBinding(context.Background(), pbx.Binding{AOR: "a@x", Contact: "sip:a"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _, _ := m.state(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the binding was not written within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func cdr(id string) pbx.CDR {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return pbx.CDR{CallID: id, Tenant: "t", Caller: "a@x", Start: t0, End: t0.Add(time.Minute),
		Result: pbx.ResultAnswered, Cause: 200}
}

// TestCDRWriterCrash: CDRs recorded but not flushed when the process dies
// are in the journal and inserted by the next OpenCDRWriter, once; a line
// cut by the crash is skipped.
func TestCDRWriterCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := newMem()
	w, err := OpenCDRWriter(ctx, m, dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Record(cdr("1"))
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	w.Record(cdr("2"))
	w.Record(cdr("3"))
	// "kill -9": no Close. Add a half-written line.
	w.mu.Lock()
	_, _ = w.journal.Write([]byte(`{"callId":"4","tenant":"t"`))
	w.mu.Unlock()
	if _, n, _ := m.state(); n != 1 {
		t.Fatalf("%d CDRs stored before the crash, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, journalPrefix+"*"))
	if len(files) != 1 {
		t.Fatalf("journal files %v, want the current one only (the flushed one removed)", files)
	}

	w2, err := OpenCDRWriter(ctx, m, dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, n, _ := m.state(); n != 3 {
		t.Fatalf("%d CDRs after replay, want 3: %+v", n, m.cdrs)
	}
	for i, want := range []string{"1", "2", "3"} {
		if got := m.cdrs[i]; got.CallID != want || !got.End.Equal(cdr(want).End) || got.Result != pbx.ResultAnswered {
			t.Errorf("CDR %d = %+v, want call %s intact", i, got, want)
		}
	}
	// Replaying again (a crash right after the replay) inserts nothing twice.
	w2.Record(cdr("5"))
	w3, err := OpenCDRWriter(ctx, m, dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, n, _ := m.state(); n != 4 {
		t.Fatalf("%d CDRs after the second replay, want 4", n)
	}
	if err := w3.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, journalPrefix+"*")); len(files) != 0 {
		t.Errorf("journal files left after a clean Close: %v", files)
	}
}

// TestCDRWriterRetry: a failed insert keeps the CDRs and their journal.
func TestCDRWriterRetry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := newMem()
	m.fail = errors.New("locked")
	w, err := OpenCDRWriter(ctx, m, dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Record(cdr("1"))
	if err := w.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with a failing store")
	}
	w.Record(cdr("2"))
	if files, _ := filepath.Glob(filepath.Join(dir, journalPrefix+"*")); len(files) != 2 {
		t.Errorf("journal files %v, want 2 (the failed batch's and the current)", files)
	}
	m.mu.Lock()
	m.fail = nil
	m.mu.Unlock()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := m.state(); n != 2 || w.Pending() != 0 {
		t.Fatalf("%d stored, %d pending; want 2 and 0", n, w.Pending())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
}
