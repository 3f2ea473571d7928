package store

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// BindingKey names one stored binding.
type BindingKey struct{ AOR, Contact string }

// BindingBatcher is what BindingWriter needs of a store: batched writes in
// one transaction, and the list read at start-up.
type BindingBatcher interface {
	// WriteBindings saves and deletes bindings in one transaction: all or
	// nothing. A key is in at most one of the lists.
	WriteBindings(ctx context.Context, save []pbx.Binding, del []BindingKey) error
	// Bindings lists every stored binding, expired ones included.
	Bindings(ctx context.Context) ([]pbx.Binding, error)
}

// DefaultFlushInterval is how long a binding change or a CDR waits in
// memory before its batch is written.
const DefaultFlushInterval = 100 * time.Millisecond

// bindingBatchMax starts a flush before the interval when this many
// changes are waiting.
const bindingBatchMax = 2000

// BindingWriter persists the registrar's bindings write-behind: SaveBinding
// and DeleteBinding only note the change in memory (the last change of a
// key wins) and return; a goroutine writes the changes every flush
// interval, or sooner when bindingBatchMax are waiting, in one transaction,
// and once more at Close. The REGISTER path therefore never waits for the
// database (ARCHITECTURE: "the hot path never touches the database").
//
// The trade-off (docs/performance.md, docs/adr/0004): a change is on disk
// up to one interval (100 ms) plus one commit after the 200 OK. A clean
// stop (SIGTERM) writes everything; after kill -9 or a power cut, bindings
// made or refreshed in that last interval are lost or older, and those
// phones are unreachable until their next REGISTER. A failed write is
// logged and retried with the next batch (newer changes of a key win).
//
// It implements registrar.Store and is safe for concurrent use.
type BindingWriter struct {
	st    BindingBatcher
	every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	pending map[BindingKey]bindingChange
	closed  bool

	flushMu sync.Mutex // one flush at a time, so a key's changes land in order
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

type bindingChange struct {
	b   pbx.Binding
	del bool
}

// NewBindingWriter starts the writer over st; every <= 0 means
// DefaultFlushInterval; log nil discards. Close it before st.
func NewBindingWriter(st BindingBatcher, every time.Duration, log *slog.Logger) *BindingWriter {
	if every <= 0 {
		every = DefaultFlushInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &BindingWriter{st: st, every: every, log: log, pending: map[BindingKey]bindingChange{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go flushLoop(every, w.kick, w.stop, w.done, w.Flush, func(err error) {
		w.log.Error("store: write bindings (retried with the next batch)", "pending", w.Pending(), "err", err)
	})
	return w
}

// SaveBinding queues an insert or replace of (b.AOR, b.Contact). It never
// fails; after Close it writes through.
func (w *BindingWriter) SaveBinding(ctx context.Context, b pbx.Binding) error {
	return w.change(ctx, BindingKey{b.AOR, b.Contact}, bindingChange{b: b})
}

// DeleteBinding queues the removal of (aor, contact).
func (w *BindingWriter) DeleteBinding(ctx context.Context, aor, contact string) error {
	k := BindingKey{aor, contact}
	return w.change(ctx, k, bindingChange{b: pbx.Binding{AOR: aor, Contact: contact}, del: true})
}

func (w *BindingWriter) change(ctx context.Context, k BindingKey, c bindingChange) error {
	w.mu.Lock()
	w.pending[k] = c
	n, closed := len(w.pending), w.closed
	w.mu.Unlock()
	if closed {
		return w.Flush(ctx) // write-through once closed, in order with what Close flushed
	}
	if n >= bindingBatchMax {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Bindings writes what is pending, then lists the stored bindings.
func (w *BindingWriter) Bindings(ctx context.Context) ([]pbx.Binding, error) {
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	return w.st.Bindings(ctx)
}

// Pending is the number of changes not written yet.
func (w *BindingWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// Flush writes the pending changes now, in one transaction. On failure they
// stay pending (unless a newer change of the same key arrived meanwhile).
func (w *BindingWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	batch := w.pending
	if len(batch) == 0 {
		w.mu.Unlock()
		return nil
	}
	w.pending = make(map[BindingKey]bindingChange, len(batch))
	w.mu.Unlock()

	save := make([]pbx.Binding, 0, len(batch))
	var del []BindingKey
	for k, c := range batch {
		if c.del {
			del = append(del, k)
		} else {
			save = append(save, c.b)
		}
	}
	err := w.st.WriteBindings(ctx, save, del)
	if err != nil {
		w.mu.Lock()
		for k, c := range batch {
			if _, newer := w.pending[k]; !newer {
				w.pending[k] = c
			}
		}
		w.mu.Unlock()
	}
	return err
}

// Close stops the writer after writing what is pending; later changes are
// written through. It is idempotent.
func (w *BindingWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return w.Flush(ctx)
}
