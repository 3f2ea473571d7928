package callctl

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// A call's closures run one at a time in the order posted: one posted
// while another runs is queued (post returns at once) and run by the
// goroutine running the call, after it; once the call has ended, what is
// posted is dropped and done is closed.
func TestPostRunsInOrderOneAtATime(t *testing.T) {
	e := &Engine{}
	e.wg.Add(1)
	c := &call{e: e, done: make(chan struct{})}
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	got := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(order) }

	started, release := make(chan struct{}), make(chan struct{})
	go c.post(func() {
		note("a")
		close(started)
		<-release
		c.post(func() { note("c"); c.ended = true }) // from inside: after what is queued already
	})
	<-started
	returned := make(chan struct{})
	go func() {
		c.post(func() { note("b") })
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("post waited for the running closure")
	}
	if o := got(); !slices.Equal(o, []string{"a"}) {
		t.Fatalf("ran %v while a runs, want [a]", o)
	}
	close(release)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("done not closed after the call ended")
	}
	c.post(func() { note("late") })
	if o := got(); !slices.Equal(o, []string{"a", "b", "c"}) {
		t.Fatalf("ran %v, want [a b c]", o)
	}
	e.wg.Wait() // the engine no longer waits for the call
}
