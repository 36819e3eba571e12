package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
)

// restoredRig is a rig whose dispatcher starts from snap, as the next
// image's after an in-place upgrade.
func restoredRig(t *testing.T, snap Snapshot) *rig {
	// Through JSON, as the handover carries it.
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t}
	log := slog.New(slog.NewTextHandler(lockedWriter{&r.mu, &r.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.d = New(Options{Identifier: "supervisor", Log: log, Restore: &back})
	go r.d.Run()
	t.Cleanup(r.d.Close)
	return r
}

// A listener busy with an event when the daemon upgrades answers it to the
// next image, which then sends the buffered events with the serials the
// previous image gave them, and goes on counting from there.
func TestHandoverBusyListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := listenerPool("watch", 10, "REMOTE_COMMUNICATION")
		old := busyRig(t) // pid 100 holds event 0, "x"
		old.remote("y")
		old.remote("z")
		old.want(old.takeWrites()) // buffered: the listener is busy
		// Half of its answer is read before the upgrade.
		old.d.Output(100, []byte("RESULT 2\nO"))
		snap, err := old.d.Freeze(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Listeners) != 1 || snap.Listeners[0].Held == nil || snap.Listeners[0].Held.Payload != "type:t\nx" ||
			len(snap.Pools) != 1 || len(snap.Pools[0].Buf) != 2 || snap.Serial != 2 {
			t.Fatalf("snapshot: %+v", snap)
		}
		// Frozen: the rest of its answer is taken, but nothing is sent.
		old.d.Output(100, []byte("KREADY\n"))
		old.want(old.takeWrites())

		next := restoredRig(t, snap)
		next.d.Observe(supervisor.Event{Kind: supervisor.EventGroupAdded, Group: "watch", Config: pool})
		synctest.Wait()
		next.d.Adopted("watch", "watch", 100, next.stdin(100))
		next.want(next.takeWrites()) // still busy with "x"
		next.d.Output(100, []byte("K"))
		next.want(next.takeWrites()) // RESULT read, READY not yet
		next.d.Output(100, []byte("READY\n"))
		next.want(next.takeWrites(), env(100, 1, 1, "type:t\ny"))
		next.d.Output(100, []byte("RESULT 2\nOKREADY\n"))
		next.want(next.takeWrites(), env(100, 2, 2, "type:t\nz"))
		next.remote("w")
		next.d.Output(100, []byte("RESULT 2\nOKREADY\n"))
		next.want(next.takeWrites(), env(100, 3, 3, "type:t\nw"))
		if l := next.logText(); strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") {
			t.Errorf("log:\n%s", l)
		}
	})
}

// A listener that does not read the event written to it holds the freeze
// up until its deadline; the freeze fails and sending resumes.
func TestHandoverFreezeWaitsForWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, listenerPool("watch", 10, "REMOTE_COMMUNICATION"))
		block := make(chan struct{})
		r.d.Spawned("watch", "watch", 100, blockingWriter{block})
		r.d.Output(100, []byte("READY\n"))
		r.running("watch", 100)
		r.remote("x")
		synctest.Wait() // the write of "x" blocks
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := r.d.Freeze(ctx); err == nil || !strings.Contains(err.Error(), "does not read") {
			t.Fatalf("Freeze with a blocked write: %v", err)
		}
		close(block)
		// Thawed: the next event goes out once the listener answers.
		r.d.Spawned("watch", "watch", 101, r.stdin(101))
		r.d.Output(101, []byte("READY\n"))
		r.running("watch", 101)
		r.remote("y")
		got := r.takeWrites()
		if len(got) != 1 || !strings.HasPrefix(got[0], "101|") {
			t.Fatalf("after the failed freeze: %q", got)
		}
		// With every write done, a freeze succeeds.
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		if _, err := r.d.Freeze(ctx2); err != nil {
			t.Fatal(err)
		}
	})
}

type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(b []byte) (int, error) {
	<-w.release
	return len(b), nil
}
