package supervisor

import (
	"fmt"
	"sync"
)

// spawnJob is one Host.Spawn to run for inst; a job with err (its sockets
// could not be bound) fails without one.
type spawnJob struct {
	inst *instance
	req  SpawnRequest
	err  error
}

// spawnQueue runs Host.Spawn off the owner goroutine. With a limit it keeps
// a FIFO of jobs and at most limit workers, which exit when the queue is
// empty (an idle supervisor has no spawn goroutine); without one every job
// gets its own goroutine.
type spawnQueue struct {
	limit int

	mu      sync.Mutex
	jobs    []spawnJob
	workers int
}

func newSpawnQueue(h Host) spawnQueue {
	return spawnQueue{limit: h.SpawnConcurrency()}
}

// run queues j; it never blocks.
func (q *spawnQueue) run(s *Supervisor, j spawnJob) {
	if q.limit < 1 {
		go s.doSpawn(j)
		return
	}
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	start := q.workers < q.limit
	if start {
		q.workers++
	}
	q.mu.Unlock()
	if start {
		go q.work(s)
	}
}

func (q *spawnQueue) work(s *Supervisor) {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.workers--
			q.jobs = nil // drop the backing array a burst grew
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = spawnJob{}
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		s.doSpawn(j)
	}
}

// doSpawn runs one spawn and sends its result to the owner goroutine (or
// drops it once Run has returned).
func (s *Supervisor) doSpawn(j spawnJob) {
	var child Child
	err := j.err
	if err == nil {
		child, err = s.host.Spawn(j.req)
		if err == nil && (child == nil || child.Pid() <= 0) {
			child, err = nil, fmt.Errorf("spawn of %s returned no pid", j.req.Process.Name)
		}
	}
	select {
	case s.inbox <- spawnMsg{j.inst, child, err}:
	case <-s.done:
		if err == nil {
			child.Exited() // nobody will own it
		}
	}
}
