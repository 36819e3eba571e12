package supervisor

import (
	"container/heap"
	"time"
)

// timer is one deadline owned by the owner goroutine. Every process owns at
// most one (its state decides what the deadline means); the "waiting for"
// reporter owns another. Deadlines live in a heap and the run loop arms a
// single runtime timer for the earliest, so an idle daemon has no timers.
type timer struct {
	at   time.Time
	idx  int // index in the heap; -1 when not armed
	fire func(c *core)
}

func (t *timer) armed() bool { return t.idx >= 0 }

type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

// arm sets t to fire at at, replacing any earlier deadline of t.
func (h *timerHeap) arm(t *timer, at time.Time) {
	t.at = at
	if t.armed() {
		heap.Fix(h, t.idx)
		return
	}
	heap.Push(h, t)
}

// cancel disarms t; it is a no-op when t is not armed.
func (h *timerHeap) cancel(t *timer) {
	if t.armed() {
		heap.Remove(h, t.idx)
	}
}

// popDue removes and returns the earliest timer if it is due at now.
func (h *timerHeap) popDue(now time.Time) *timer {
	if len(*h) == 0 || (*h)[0].at.After(now) {
		return nil
	}
	return heap.Pop(h).(*timer)
}
