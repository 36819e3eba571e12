package main

import (
	"os"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// The proc connector reports a child's exec with a stamp between the
// harness's fork and its wait (root only: elsewhere the rows say n/a).
func TestExecWatchSeesChildExec(t *testing.T) {
	testenv.NeedRoot(t, "the proc connector needs CAP_NET_ADMIN")
	w, err := watchExecs()
	if err != nil {
		t.Fatalf("watchExecs: %v", err)
	}
	defer w.Close()
	t0 := mono()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	t1 := mono()
	s, err := w.Exec(p.Pid, t0, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s < t0 || s > t1 {
		t.Fatalf("exec stamp %d outside [%d, %d]", s, t0, t1)
	}
	if _, err := w.Exec(p.Pid, t1+1, 50*time.Millisecond); err == nil {
		t.Fatal("an exec before since was returned")
	}
}
