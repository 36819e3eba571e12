package logfile

import (
	"strconv"
	"testing"
)

// BenchmarkCreateAuto is one AUTO log file created (the daemon creates two
// per program before the first spawn, so 1000 for 500 programs).
func BenchmarkCreateAuto(b *testing.B) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		if _, err := CreateAuto(dir, "p"+strconv.Itoa(i), "stdout", "supervisor"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
