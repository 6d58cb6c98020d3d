package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"k8s.io/client-go/rest"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/snapshot"
)

// readLive reads want from the cluster the flags point at, showing progress
// on stderr when it is a terminal. scan and snapshot save read this way.
// With count, kinds not read are counted (kube.Reader.Count).
func readLive(ctx context.Context, e *env, flags *kube.Flags, want []snapshot.Resource, count bool) (*kube.ReadResult, error) {
	counter := &kube.Counter{}
	cfg, err := restConfig(flags, kube.ClientOptions{UserAgent: userAgent(), Counter: counter})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &kube.Reader{Config: cfg, Namespace: flags.Namespace(), PageSize: flags.ChunkSize(), Log: e.log, Count: count}
	p := newProgress(e.ErrOut, 100*time.Millisecond, 0)
	r.Progress = readProgress(p)
	rr, err := r.Read(ctx, want)
	p.done()
	if err != nil {
		return nil, withExit(ExitError, err)
	}
	lists := 0
	for _, n := range rr.Pages {
		lists += n
	}
	// -v shows what the read cost; the scan benchmark parses this line.
	e.log.Info("read cluster", "server", cfg.Host, "objects", rr.Snapshot.Objects(), "kinds", len(rr.Pages),
		"listRequests", lists, "countRequests", rr.CountRequests,
		"configMapGets", rr.ConfigMapGets, "configMapDataLists", rr.ConfigMapLists, "requests", counter.Requests(), "bodyBytes", counter.BodyBytes(),
		"wireBytes", counter.WireBytes(), "restarts", rr.Restarts, "seconds", time.Since(start).Seconds())
	return rr, nil
}

// restConfig checks the flags every cluster verb shares and builds the
// client configuration from them.
func restConfig(flags *kube.Flags, opts kube.ClientOptions) (*rest.Config, error) {
	if n := flags.ChunkSize(); n <= 0 {
		return nil, withExit(ExitError, fmt.Errorf("--chunk-size %d: want a positive number", n))
	}
	cfg, err := flags.RESTConfig(opts)
	if err != nil {
		return nil, withExit(ExitError, err)
	}
	return cfg, nil
}

// softMemoryLimit keeps premortem's heap under about 1 GiB on the largest
// clusters: near the limit the garbage collector runs more often rather
// than letting garbage double the heap. GOMEMLIMIT overrides it.
const softMemoryLimit = 800 << 20

// gcPercent is the garbage collector's target for scan, snapshot save and
// agent. Nearly all of their heap is live (the snapshot, the agent's
// caches) and they make little garbage (Pod pages are decoded straight
// into the kept fields), so collecting when the heap has grown by a tenth,
// not doubled, keeps the peak near the live data. It costs CPU: at 60,000
// pods a scan took about 4 s more than at 25 (13 s), for 30 MiB less peak
// (docs/benchmarks.md). GOGC overrides it.
const gcPercent = 10

// settleMemory is called once the agent has read every kind: the initial
// reads' garbage (a streamed kind is held twice while the store takes it)
// goes back to the system at once, not over the scavenger's minutes.
func settleMemory() {
	debug.FreeOSMemory()
}

func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func userAgent() string { return "premortem/" + version }
