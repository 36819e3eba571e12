package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rssFloor runs bench/cmd/rssfloor (run.sh builds it beside the harness)
// in its own process group and returns its VmRSS once it said ready
// (RssAnon, RssFile and Threads in the detail); then kills the group and
// reaps it.
func (h *harness) rssFloor(ctx context.Context, n int) (*cell, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(filepath.Dir(self), "rssfloor")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no rssfloor beside the harness (bench/run.sh builds it): %w", err)
	}
	cmd := exec.Command(bin, strconv.Itoa(n), h.sleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		reapOrphans() // its sleeps, reparented to the harness
	}()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	t := time.NewTimer(fleetStartTimeout)
	defer t.Stop()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			return nil, fmt.Errorf("rss floor child said %q", s)
		}
	case <-t.C:
		return nil, fmt.Errorf("rss floor child not ready after %v", fleetStartTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	kb, err := rssKB(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	c := value(float64(kb)/1024, "MB")
	c.Detail = rssBreakdown(cmd.Process.Pid)
	return c, nil
}
