package daemon

import (
	"log/slog"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeeperHoldsAndHandsBack: the keeper keeps duplicates of what it was
// given across a daemon's disconnect (a crash), gives them back to the
// next one, forgets dropped keys, and ends on exit.
func TestKeeperHoldsAndHandsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keeper")
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- runKeeper(path, func() { close(ready) }) }()
	<-ready
	log := slog.New(slog.DiscardHandler)

	var p1, p2 [2]int
	if err := unix.Pipe2(p1[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := unix.Pipe2(p2[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	k, err := dialKeeper(path, log)
	if err != nil {
		t.Fatal(err)
	}
	k.keep("pid:10", []string{"1", "0"}, []int{p1[0], p2[1]})
	k.keep("pid:11", []string{"1"}, []int{p2[0]})
	k.drop("pid:11")
	unix.Close(p1[0]) // the daemon's own copies go with it
	unix.Close(p2[1])
	k.close() // a crash: the connection just ends

	k2, got := redial(t, path, log)
	it, ok := got["pid:10"]
	if len(got) != 1 || !ok || len(it.fds) != 2 || it.labels[0] != "1" || it.labels[1] != "0" {
		t.Fatalf("handed back %+v", got)
	}
	// The read end it kept is p1's: what the "child" writes is there.
	if _, err := unix.Write(p1[1], []byte("kept\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := unix.Read(it.fds[0], buf); err != nil || string(buf[:n]) != "kept\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	closeFDs(it.fds...)
	closeFDs(p1[1], p2[0])
	k2.exit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestKeeperEndsWhenNothingIsLeft: after its daemon went away, the keeper
// forgets a process whose output pipe lost its last writer (it died), and
// ends once no process is left to take over.
func TestKeeperEndsWhenNothingIsLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keeper")
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- runKeeper(path, func() { close(ready) }) }()
	<-ready
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	k, err := dialKeeper(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	k.keep("pid:30", []string{"1"}, []int{p[0]})
	unix.Close(p[0])
	k.close() // the daemon crashed; its program still runs (holds p[1])
	select {
	case err := <-done:
		t.Fatalf("the keeper ended while a program it holds runs: %v", err)
	default:
	}
	unix.Close(p[1]) // the program died
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestKeeperFlushMeansHeld: keep only queues (a spawn or an exit never
// waits for the keeper), and its fds may close at once; once flush
// returned the keeper holds them, so a crash right after (the state file
// written, the connection gone with nothing else sent) loses nothing.
func TestKeeperFlushMeansHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keeper")
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- runKeeper(path, func() { close(ready) }) }()
	<-ready
	log := slog.New(slog.DiscardHandler)
	k, err := dialKeeper(path, log)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	pipes := make([][2]int, n)
	for i := range pipes {
		if err := unix.Pipe2(pipes[i][:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		k.keep(keeperKey(1000+i), []string{"1"}, []int{pipes[i][0]})
		unix.Close(pipes[i][0]) // the pump closes its end when the child exits
	}
	k.drop(keeperKey(1000))
	k.flush()
	crash(t, k) // the connection ends without close's own wait
	k2, got := redial(t, path, log)
	if len(got) != n-1 {
		t.Fatalf("the keeper holds %d items after flush, want %d", len(got), n-1)
	}
	if _, ok := got[keeperKey(1000)]; ok {
		t.Fatal("a dropped key is still held")
	}
	// Each held read end is its own pipe's.
	for i := 1; i < n; i++ {
		it := got[keeperKey(1000+i)]
		msg := []byte{byte(i)}
		if _, err := unix.Write(pipes[i][1], msg); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4)
		if m, err := unix.Read(it.fds[0], b); err != nil || m != 1 || b[0] != byte(i) {
			t.Fatalf("pid %d: read %v, %v", 1000+i, b[:m], err)
		}
		closeFDs(it.fds...)
		unix.Close(pipes[i][1])
	}
	unix.Close(pipes[0][1])
	k.close()
	k2.exit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestKeeperSendsWithoutSpareFDs: a keep that cannot duplicate its fds
// (the daemon is out of descriptors) sends the originals at once, after
// what was queued, instead of losing them.
func TestKeeperSendsWithoutSpareFDs(t *testing.T) {
	// A keeper process of its own (the test binary's TestMain runs it):
	// an in-process one would receive into this process's short table.
	path := filepath.Join(t.TempDir(), "keeper")
	log := slog.New(slog.DiscardHandler)
	k, err := startKeeper(path, log)
	if err != nil {
		t.Fatal(err)
	}
	var p1, p2 [2]int
	if err := unix.Pipe2(p1[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := unix.Pipe2(p2[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	k.keep("pid:1", []string{"1"}, []int{p1[0]}) // queued with a duplicate

	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	low := rl
	low.Cur = uint64(max(p1[1], p2[1]) + 1)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var fill []int
	for {
		fd, err := unix.FcntlInt(uintptr(p2[0]), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			break
		}
		fill = append(fill, fd)
	}
	k.keep("pid:2", []string{"1"}, []int{p2[0]})
	closeFDs(fill...)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	unix.Close(p1[0])
	unix.Close(p2[0])
	k.flush()
	crash(t, k)
	k2, got := redial(t, path, log)
	for i, w := range []int{p1[1], p2[1]} {
		it, ok := got[keeperKey(i+1)]
		if !ok {
			t.Fatalf("pid:%d not held: %+v", i+1, got)
		}
		if _, err := unix.Write(w, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		if n, err := unix.Read(it.fds[0], b); err != nil || n != 1 || b[0] != byte(i) {
			t.Fatalf("pid:%d: read %v, %v", i+1, b[:n], err)
		}
		closeFDs(it.fds...)
		unix.Close(w)
	}
	k.close()
	k2.exit()
}

// crash ends k's connection as a dying daemon's does: no wait for what
// is queued (flush first to test what was sent).
func crash(t *testing.T, k *keeperConn) {
	t.Helper()
	if err := unix.Shutdown(k.fd, unix.SHUT_RDWR); err != nil {
		t.Fatal(err)
	}
}

// redial connects to the keeper at path again, as the next daemon does,
// and asks for all it holds.
func redial(t *testing.T, path string, log *slog.Logger) (*keeperConn, map[string]keptItem) {
	t.Helper()
	k, err := dialKeeper(path, log)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.getAll()
	if err != nil {
		t.Fatal(err)
	}
	return k, got
}
