package main

import (
	"os"
	"testing"
)

func TestExeReadOnlyKB(t *testing.T) {
	kb, err := exeReadOnlyKB(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The test binary's text and rodata: at least a few hundred KiB, less
	// than its file.
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if kb < 100 || kb > fi.Size()>>10 {
		t.Errorf("text+rodata %d KiB for a %d KiB binary", kb, fi.Size()>>10)
	}
	if _, ok := rssBreakdown(os.Getpid())["ExeTextRodataKB"]; !ok {
		t.Error("rssBreakdown has no ExeTextRodataKB")
	}
}
