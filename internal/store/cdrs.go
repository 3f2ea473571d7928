package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// CDRBatcher is what CDRWriter needs of a store.
type CDRBatcher interface {
	// InsertCDRs stores records in one transaction: all or nothing. It
	// must not keep cdrs after it returns (the writer reuses the array).
	InsertCDRs(ctx context.Context, cdrs []pbx.CDR) error
	// HasCDR says whether the tenant has a CDR with that Call-ID (journal
	// replay skips those already stored).
	HasCDR(ctx context.Context, tenant, callID string) (bool, error)
}

// CDRWriter stores CDRs write-behind, crash-safe: Record appends the CDR as
// one JSON line to a journal file (one write system call, no fsync) and
// queues it; a goroutine inserts the queue every flush interval in one
// transaction, then deletes the journal files the batch covered. The call
// loop never waits for the database.
//
// Crash safety: a CDR is in the journal (the kernel's page cache) before
// Record returns, so kill -9 of the process loses nothing: at the next
// start OpenCDRWriter inserts the journal's CDRs that the database does not
// have (by tenant and Call-ID) before anything else runs. A line cut short
// by the crash is skipped (its Record had not returned). A power cut can
// lose what the page cache had not written, as for SQLite's own
// synchronous=NORMAL commits. A failed insert is logged and retried with
// the next batch; its journal files stay until it succeeds.
type CDRWriter struct {
	st    CDRBatcher
	dir   string
	every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	pending []pbx.CDR
	spare   []pbx.CDR     // the last stored batch's array, emptied, for the next one
	line    bytes.Buffer  // Record's journal line, reused
	enc     *json.Encoder // writes to line
	journal *os.File      // the file Record appends to; nil if it could not be opened
	fd      uintptr       // journal's descriptor (appendLine)
	gen     uint64        // its generation
	retired []string      // journal files whose CDRs are all in pending or stored
	closed  bool

	flushMu sync.Mutex
	stop    chan struct{}
	done    chan struct{}
}

const journalPrefix, journalSuffix = "cdr-journal-", ".jsonl"

// OpenCDRWriter replays the CDR journal files in dir into st, then starts
// a writer with a fresh journal there. every <= 0 means
// DefaultFlushInterval; log nil discards. Close it before st.
func OpenCDRWriter(ctx context.Context, st CDRBatcher, dir string, every time.Duration, log *slog.Logger) (*CDRWriter, error) {
	if every <= 0 {
		every = DefaultFlushInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &CDRWriter{st: st, dir: dir, every: every, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	w.enc = json.NewEncoder(&w.line)
	last, err := w.replay(ctx)
	if err != nil {
		return nil, err
	}
	w.gen = last
	if err := w.rotate(); err != nil {
		return nil, err
	}
	go flushLoop(every, nil, w.stop, w.done, w.Flush, func(err error) {
		w.log.Error("store: insert cdrs (retried with the next batch)", "pending", w.Pending(), "err", err)
	})
	return w, nil
}

// Record journals and queues a CDR. It does not fail: a journal write
// error is logged (the CDR is still inserted with the next batch, but would
// not survive a crash before that).
func (w *CDRWriter) Record(c pbx.CDR) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, c)
	if err := w.encode(&w.pending[len(w.pending)-1]); err != nil { // a time json refuses
		w.log.Error("store: encode cdr", "call_id", c.CallID, "err", err)
	} else if w.journal != nil {
		if err := appendLine(w.journal, w.fd, w.line.Bytes()); err != nil {
			w.log.Error("store: cdr journal write", "call_id", c.CallID, "err", err)
		}
	}
	if w.closed {
		go func() { // after Close: write through, off the caller's goroutine
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := w.Flush(ctx); err != nil {
				w.log.Error("store: insert cdrs", "err", err)
			}
		}()
	}
}

// encode puts c's journal line in w.line (w.mu held): json's bytes, by
// appendCDRJSON, or by the Encoder for what that leaves to it. Given the
// queued copy's address, neither copies c to the heap.
func (w *CDRWriter) encode(c *pbx.CDR) error {
	w.line.Reset()
	if b, ok := appendCDRJSON(w.line.AvailableBuffer(), c); ok {
		w.line.Write(b) // in place: b is the buffer's own free space, unless it grew
		return nil
	}
	return w.enc.Encode(c)
}

// Pending is the number of CDRs not stored yet.
func (w *CDRWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// Flush inserts the queued CDRs now and removes the journal files they
// were in. On failure they stay queued, and their files stay.
func (w *CDRWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	batch := w.pending
	if len(batch) == 0 {
		w.mu.Unlock()
		return nil
	}
	w.pending, w.spare = w.spare, nil
	if err := w.rotate(); err != nil {
		w.log.Error("store: cdr journal rotate", "err", err)
	}
	files := w.retired
	w.retired = nil
	w.mu.Unlock()

	if err := w.st.InsertCDRs(ctx, batch); err != nil {
		w.mu.Lock()
		w.pending = append(batch, w.pending...)
		w.retired = append(files, w.retired...)
		w.mu.Unlock()
		return err
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.log.Warn("store: remove cdr journal", "file", f, "err", err)
		}
	}
	clear(batch) // the stored CDRs' strings are garbage now
	w.mu.Lock()
	w.spare = batch[:0]
	w.mu.Unlock()
	return nil
}

// rotate starts the next journal file and retires the current one (w.mu
// held, or before the writer is shared). If the new file cannot be opened
// the current one is kept.
func (w *CDRWriter) rotate() error {
	if w.dir == "" {
		return nil
	}
	next := w.gen + 1
	f, err := os.OpenFile(w.journalPath(next), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if w.journal != nil {
		_ = w.journal.Close()
		w.retired = append(w.retired, w.journalPath(w.gen))
	}
	// Fd once, here: it puts the descriptor in blocking mode, which a
	// regular file is in anyway (the netpoller does not take files).
	w.journal, w.fd, w.gen = f, f.Fd(), next
	return nil
}

func (w *CDRWriter) journalPath(gen uint64) string {
	return filepath.Join(w.dir, fmt.Sprintf("%s%016d%s", journalPrefix, gen, journalSuffix))
}

// replay inserts the CDRs of the journal files left in w.dir that the
// store does not have, deletes the files and returns the highest
// generation seen.
func (w *CDRWriter) replay(ctx context.Context) (uint64, error) {
	if w.dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return 0, fmt.Errorf("cdr journal: %w", err)
	}
	var last uint64
	var files []string
	var missing []pbx.CDR
	for _, e := range entries {
		name := e.Name()
		num, ok := strings.CutPrefix(name, journalPrefix)
		if num, ok = strings.CutSuffix(num, journalSuffix); !ok || e.IsDir() {
			continue
		}
		gen, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			continue
		}
		last = max(last, gen)
		path := filepath.Join(w.dir, name)
		files = append(files, path)
		cdrs, err := readJournal(path)
		if err != nil {
			return 0, err
		}
		for _, c := range cdrs {
			has, err := w.st.HasCDR(ctx, c.Tenant, c.CallID)
			if err != nil {
				return 0, fmt.Errorf("cdr journal replay: %w", err)
			}
			if !has && !slices.ContainsFunc(missing, func(m pbx.CDR) bool { return m.Tenant == c.Tenant && m.CallID == c.CallID }) {
				missing = append(missing, c)
			}
		}
	}
	if len(missing) > 0 {
		if err := w.st.InsertCDRs(ctx, missing); err != nil {
			return 0, fmt.Errorf("cdr journal replay: %w", err)
		}
	}
	if len(files) > 0 {
		w.log.Info("store: cdr journal replayed", "files", len(files), "inserted", len(missing))
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			return 0, fmt.Errorf("cdr journal: %w", err)
		}
	}
	return last, nil
}

// readJournal decodes the complete lines of a journal file; a last line
// without its newline (cut by a crash) is skipped, as is any line that
// does not decode.
func readJournal(path string) ([]pbx.CDR, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cdr journal: %w", err)
	}
	var out []pbx.CDR
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	complete := bytes.LastIndexByte(data, '\n') + 1
	read := 0
	for sc.Scan() {
		read += len(sc.Bytes()) + 1
		if read > complete {
			break
		}
		var c pbx.CDR
		if json.Unmarshal(sc.Bytes(), &c) == nil && c.CallID != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

// Close stops the writer after storing what is queued and removes the
// journal. It is idempotent.
func (w *CDRWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	err := w.Flush(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && len(w.pending) == 0 && w.journal != nil {
		_ = w.journal.Close()
		_ = os.Remove(w.journalPath(w.gen))
		w.journal = nil
	}
	return err
}
