package obs

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// LineBuffer batches the log's lines into one write to its destination
// every interval, or at once when maxPending bytes are waiting, instead of
// one write system call per line: at load a routine call logs two lines
// ("call answered", "call ended"), and their two writes were ≈ 1.5 % of
// the CPU a call costs (docs/performance.md, session 8).
//
// A line reaches the destination at most interval after it was logged.
// Close writes what is pending; a process killed outright (SIGKILL, or a
// crash outside the recovered handlers, whose trace the runtime writes to
// stderr itself) loses at most that interval of lines.
type LineBuffer struct {
	dst io.Writer

	mu      sync.Mutex
	pending bytes.Buffer
	spare   bytes.Buffer // the other half: written out while pending fills
	wmu     sync.Mutex   // one write to dst at a time, in order

	stop chan struct{}
	done chan struct{}
}

// maxPending is how much may wait before a Write flushes by itself.
const maxPending = 64 << 10

// NewLineBuffer writes to dst every interval (> 0) until Close.
func NewLineBuffer(dst io.Writer, interval time.Duration) *LineBuffer {
	b := &LineBuffer{dst: dst, stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

// Write keeps a copy of p to write later; it never fails.
func (b *LineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.pending.Write(p)
	full := b.pending.Len() >= maxPending
	b.mu.Unlock()
	if full {
		b.Flush()
	}
	return len(p), nil
}

// Flush writes what is pending now.
func (b *LineBuffer) Flush() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	if b.pending.Len() == 0 {
		b.mu.Unlock()
		return
	}
	b.pending, b.spare = b.spare, b.pending
	b.pending.Reset()
	b.mu.Unlock()
	_, _ = b.dst.Write(b.spare.Bytes()) // a log that cannot be written has nowhere to say so
	if b.spare.Cap() > 4*maxPending {
		b.spare = bytes.Buffer{}
	}
}

func (b *LineBuffer) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			b.Flush()
			return
		case <-t.C:
			b.Flush()
		}
	}
}

// Close writes what is pending and stops the timer. Lines written after
// Close are written at the next Flush, or when maxPending fills.
func (b *LineBuffer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return nil
}
