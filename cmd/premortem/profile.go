package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profile starts a CPU profile into $PREMORTEM_CPUPROFILE and, when stop is
// called, writes a heap profile into $PREMORTEM_MEMPROFILE (after a GC: the
// objects live at the end, and all allocations since the start): where a
// scan's time and memory go (docs/benchmarks.md). Unset, both do nothing.
func profile() (stop func()) {
	var cpu *os.File
	if path := os.Getenv("PREMORTEM_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "premortem: cpu profile: %v\n", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if path := os.Getenv("PREMORTEM_MEMPROFILE"); path != "" {
			runtime.GC()
			f, err := os.Create(path)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "premortem: memory profile: %v\n", err)
			}
		}
	}
}
