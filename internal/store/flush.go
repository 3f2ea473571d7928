package store

import (
	"context"
	"time"
)

// flushLoop is the background of the write-behind writers: it calls flush
// every period, and at once when kick fires (nil: never), until stop is
// closed; then it closes done. A failed flush is reported to failed; what
// it did not write stays pending for the next one.
func flushLoop(every time.Duration, kick, stop <-chan struct{}, done chan<- struct{},
	flush func(context.Context) error, failed func(error)) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := flush(ctx); err != nil {
			failed(err)
		}
		cancel()
	}
}
