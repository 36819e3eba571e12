package main

import (
	"math"
	"testing"
)

// The floor runs real splice and write calls; a few MiB are enough to see
// that both move every byte and report a positive cost.
func TestKernelFloorMeasures(t *testing.T) {
	h := &harness{tmp: t.TempDir()}
	sp, wr := h.kernelFloor(4 << 20)
	for name, c := range map[string]*cell{"splice": sp, "write": wr} {
		if c.NA != "" {
			t.Fatalf("%s: n/a: %s", name, c.NA)
		}
		if !(c.Value > 0) || len(c.Samples) != floorReps {
			t.Errorf("%s: value %v, samples %v", name, c.Value, c.Samples)
		}
	}
}

func TestCPUPerGiBAndFloorAt(t *testing.T) {
	gib := float64(1<<30) / 1e6 // MB/s that is 1 GiB/s
	if got := cpuPerGiB(value(gib, "MB/s"), value(50, "%")).Value; math.Abs(got-0.5) > 1e-9 {
		t.Errorf("cpuPerGiB = %v, want 0.5 s/GiB", got)
	}
	if got := floorAt(value(0.25, "s/GiB"), value(2*gib, "MB/s")).Value; math.Abs(got-50) > 1e-9 {
		t.Errorf("floorAt = %v, want 50 %%", got)
	}
	if c := cpuPerGiB(na("x"), value(1, "%")); c.NA == "" {
		t.Error("cpuPerGiB of an n/a throughput has a value")
	}
	if c := floorAt(value(1, "s/GiB"), na("x")); c.NA == "" {
		t.Error("floorAt of an n/a throughput has a value")
	}
}
