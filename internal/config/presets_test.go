package config

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestPresets pins every preset value to the zero-downtime reference's
// tables ("The servers' own signals" and "Per-server recipe").
func TestPresets(t *testing.T) {
	S := func(s ...syscall.Signal) []syscall.Signal { return s }
	want := map[string]Preset{
		"unicorn": {GracefulStop: syscall.SIGQUIT, ImmediateStop: syscall.SIGTERM, Reload: syscall.SIGHUP,
			Reexec: syscall.SIGUSR2, Never: S(syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2), Inherit: ListenFDs},
		"puma": {GracefulStop: syscall.SIGTERM, ImmediateStop: syscall.SIGINT, Reload: syscall.SIGUSR1,
			Reexec: syscall.SIGUSR2, Never: S(syscall.SIGHUP), Inherit: ListenFDs, Ready: "http://{probe}/"},
		"gunicorn": {GracefulStop: syscall.SIGTERM, ImmediateStop: syscall.SIGQUIT, Reload: syscall.SIGHUP,
			Never: S(syscall.SIGQUIT, syscall.SIGINT, syscall.SIGUSR2), Inherit: ListenFDs},
		"starman": {GracefulStop: syscall.SIGQUIT, ImmediateStop: syscall.SIGTERM, Reload: syscall.SIGHUP,
			Never: S(syscall.SIGTERM, syscall.SIGINT), Inherit: ListenFDs | ServerStarter},
		"plain": {GracefulStop: syscall.SIGTERM, ImmediateStop: syscall.SIGKILL, Inherit: ListenFDs},
	}
	if len(Presets) != len(want) {
		t.Fatalf("%d presets, want %d", len(Presets), len(want))
	}
	for i, p := range Presets {
		if i > 0 && Presets[i-1].Name >= p.Name {
			t.Errorf("presets not in name order at %s", p.Name)
		}
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected preset %s", p.Name)
			continue
		}
		if p.GracefulStop != w.GracefulStop || p.ImmediateStop != w.ImmediateStop || p.Reload != w.Reload ||
			p.Reexec != w.Reexec || !slices.Equal(p.Never, w.Never) || p.Inherit != w.Inherit || p.Ready != w.Ready {
			t.Errorf("%s = %+v\nwant %+v", p.Name, p, w)
		}
		if p.Strategy != ReloadBlueGreen || p.Usage == "" {
			t.Errorf("%s: strategy %q usage %q", p.Name, p.Strategy, p.Usage)
		}
		// The graceful stop is never a forbidden signal, and a default
		// ready= parses.
		if slices.Contains(p.Never, p.GracefulStop) {
			t.Errorf("%s forbids its own graceful stop", p.Name)
		}
		if p.Ready != "" {
			if _, err := ParseReady(p.Ready); err != nil {
				t.Errorf("%s ready: %v", p.Name, err)
			}
		}
	}
	if p, err := LookupPreset(""); err != nil || p.Name != "plain" {
		t.Errorf("default preset %v %v", p.Name, err)
	}
	if _, err := LookupPreset("nginx"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("unknown: %v", err)
	}
	if p, _ := LookupPreset("puma"); !slices.Contains(p.Never, syscall.SIGHUP) {
		t.Error("puma must never get HUP")
	}
}

func TestParseReloadStrategy(t *testing.T) {
	for _, s := range []ReloadStrategy{ReloadBlueGreen, ReloadSignal, ReloadReexec, ReloadRestart} {
		if got, err := ParseReloadStrategy(" " + strings.ToUpper(string(s))); err != nil || got != s {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	for _, s := range []string{"", "blue-green", "signals"} {
		if _, err := ParseReloadStrategy(s); !errors.Is(err, ErrBadStrategy) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
