package signaling

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// laterTx stands for one of sipgo's client transactions while it is being
// created on a goroutine of its own (transactionTo). Creating one may wait
// on the network — a TCP or TLS connection to a trunk, a DNS lookup —
// which a call's closures and the front's readers, where a leg is dialled,
// never do. Its responses go to the sink it was created with.
type laterTx struct {
	mu     sync.Mutex
	tx     sip.ClientTransaction // once created
	err    error                 // why it ended before it was created
	gaveUp bool                  // Terminate before it was created
	done   chan struct{}
	once   sync.Once
}

var _ sip.ClientTransaction = (*laterTx)(nil)

func newLaterTx() *laterTx { return &laterTx{done: make(chan struct{})} }

// set records the created transaction; false when it was given up
// meanwhile (the caller ends it). Done follows the transaction's end.
func (l *laterTx) set(tx sip.ClientTransaction) bool {
	l.mu.Lock()
	if l.gaveUp {
		l.mu.Unlock()
		return false
	}
	l.tx = tx
	l.mu.Unlock()
	if !tx.OnTerminate(func(string, error) { l.finish() }) {
		l.finish() // ended already
	}
	return true
}

// fail ends it: the transaction could not be created.
func (l *laterTx) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	l.finish()
}

func (l *laterTx) finish() { l.once.Do(func() { close(l.done) }) }

func (l *laterTx) created() sip.ClientTransaction {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tx
}

// Terminate ends the transaction, or, before it exists, gives it up.
func (l *laterTx) Terminate() {
	l.mu.Lock()
	if tx := l.tx; tx != nil {
		l.mu.Unlock()
		tx.Terminate()
		return
	}
	l.gaveUp = true
	if l.err == nil {
		l.err = sip.ErrTransactionCanceled
	}
	l.mu.Unlock()
	l.finish()
}

// OnTerminate registers f with the transaction; false before it exists
// (Done tells its end in every case).
func (l *laterTx) OnTerminate(f sip.FnTxTerminate) bool {
	if tx := l.created(); tx != nil {
		return tx.OnTerminate(f)
	}
	return false
}

// Done is closed when the transaction ends, or could not be created.
func (l *laterTx) Done() <-chan struct{} { return l.done }

// Err is the transaction's error, or why it could not be created.
func (l *laterTx) Err() error {
	if tx := l.created(); tx != nil {
		return tx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Responses is nil: the responses go to the sink.
func (l *laterTx) Responses() <-chan *sip.Response { return nil }

// OnRetransmission registers f with the transaction; false before it
// exists (the sink gets the transaction itself with its responses).
func (l *laterTx) OnRetransmission(f sip.FnTxResponse) bool {
	if tx := l.created(); tx != nil {
		return tx.OnRetransmission(f)
	}
	return false
}
