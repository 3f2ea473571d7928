package media

import "sync"

// pollerBase is what every poller keeps under its lock: its sockets'
// slots, how many there are, and whether stop has begun.
type pollerBase[T comparable] struct {
	mu       sync.Mutex
	stopping bool
	slots    slotTable[T]
	count    int // sockets registered
}

// load is the number of sockets registered: streams go to the least loaded
// poller.
func (b *pollerBase[T]) load() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// beginStop refuses new sockets from now on.
func (b *pollerBase[T]) beginStop() {
	b.mu.Lock()
	b.stopping = true
	b.mu.Unlock()
}

// slotTable numbers the sockets of a poller with small integers (the
// number an epoll event carries), reusing the numbers of removed sockets.
// Not safe for concurrent use: the poller's lock guards it.
type slotTable[T comparable] struct {
	slots []T // by slot; the zero value: free
	free  []int32
}

// take stores v in a free slot and returns its number.
func (t *slotTable[T]) take(v T) int32 {
	if len(t.free) == 0 {
		var zero T
		t.free = append(t.free, int32(len(t.slots)))
		t.slots = append(t.slots, zero)
	}
	slot := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	t.slots[slot] = v
	return slot
}

// get returns what slot holds (the zero value when free).
func (t *slotTable[T]) get(slot int32) T { return t.slots[slot] }

// release frees slot and returns what it held.
func (t *slotTable[T]) release(slot int32) T {
	var zero T
	v := t.slots[slot]
	t.slots[slot] = zero
	t.free = append(t.free, slot)
	return v
}
