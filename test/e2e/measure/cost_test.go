package measure_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/measure"
)

// TestSamplerCost measures what sampling costs an API server, on the idle
// lab: the requests and bytes of one sampler at 1 s, counted on its own
// connection; and the API server's CPU seconds over windows sampled once
// (none), every second, and every 10 ms (a hundred times the default, to
// lift the per-sample cost above the server's idle noise). It prints the
// figures recorded in docs/benchmarks.md and asserts nothing about them.
// It runs only when asked:
//
//	PREMORTEM_MEASURE_BENCH=1 go test ./test/e2e/measure -run TestSamplerCost -v
func TestSamplerCost(t *testing.T) {
	needLab(t)
	if os.Getenv("PREMORTEM_MEASURE_BENCH") == "" {
		t.Skip("a benchmark: PREMORTEM_MEASURE_BENCH=1 runs it")
	}
	ctx := context.Background()
	counter := &kube.Counter{}
	cfg := kube.Configure(cluster.Config, kube.ClientOptions{UserAgent: "measure-cost", Counter: counter})
	found, err := measure.Discover(ctx, cfg, kube.DefaultPageSize, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := measure.NewSampler(found.Servers[0], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const samples = 30
	start := time.Now()
	for range samples {
		if _, err := sampler.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sampler at 1s: %d requests in %.1fs = %.2f req/s; %d wire bytes received = %.0f B/s (%.0f per sample); %d body bytes per sample\n",
		counter.Requests(), secs, float64(counter.Requests())/secs, counter.WireBytes(), float64(counter.WireBytes())/secs,
		float64(counter.WireBytes())/samples, counter.BodyBytes()/samples)

	const window, rounds = 30 * time.Second, 3
	for i := range rounds {
		for _, interval := range []time.Duration{time.Hour, time.Second, 10 * time.Millisecond} {
			r, err := measure.Run(ctx, found.Servers, measure.Options{Interval: interval, Duration: window})
			if err != nil {
				t.Fatal(err)
			}
			s := r.Servers[0]
			fmt.Printf("round %d interval %-6s window %.1fs: %5d samples, apiserver CPU %.3fs = %.2f%% of one core\n",
				i+1, interval, r.Seconds, s.SamplesTaken, s.CPUSeconds, 100*s.CPUSeconds/r.Seconds)
		}
	}
}
