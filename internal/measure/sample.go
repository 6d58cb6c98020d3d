package measure

import (
	"context"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Sampler reads one API server's priority levels (DumpPath). measure runs
// one per server for a window; the agent can run one per server for good.
type Sampler struct {
	r *reader
	// Timeout bounds one sample; a sample that takes longer is lost, and
	// counted as failed.
	Timeout time.Duration
}

// NewSampler returns a sampler of s, each sample bounded by timeout.
func NewSampler(s Server, timeout time.Duration) (*Sampler, error) {
	r, err := newReader(s)
	if err != nil {
		return nil, err
	}
	return &Sampler{r: r, Timeout: timeout}, nil
}

// sampleTimeout bounds one sample taken every interval. A sample that
// takes longer than the interval is late for the next one; one that takes
// longer than a second at the default interval is itself a sign of
// saturation, counted as failed.
func sampleTimeout(interval time.Duration) time.Duration { return max(interval, time.Second) }

// Server is the server sampled.
func (s *Sampler) Server() Server { return s.r.server }

// Sample reads the priority levels once.
func (s *Sampler) Sample(ctx context.Context) ([]LevelSample, error) {
	return s.r.dump(ctx, s.Timeout)
}

// Series is one server's samples over a window: the offset of each
// successful sample and, aligned with it, each level's counts.
type Series struct {
	Offsets []float64
	Levels  map[string]*LevelSeries
	// Failed samples: no answer within the timeout, or an error.
	Failed     int
	FirstError error
	// Truncated: the window held more samples than the series keeps.
	Truncated bool
}

// LevelSeries is one priority level's counts, one per sample.
type LevelSeries struct {
	Executing []int
	Waiting   []int
}

func (s *Series) add(offset float64, levels []LevelSample) {
	if s.Levels == nil {
		s.Levels = map[string]*LevelSeries{}
	}
	n := len(s.Offsets)
	s.Offsets = append(s.Offsets, offset)
	for _, l := range levels {
		ls := s.Levels[l.Name]
		if ls == nil {
			// A level created during the window had nothing before.
			ls = &LevelSeries{Executing: make([]int, n), Waiting: make([]int, n)}
			s.Levels[l.Name] = ls
		}
		if len(ls.Executing) > n {
			continue // a level named twice in one dump: the first row counts
		}
		ls.Executing = append(ls.Executing, l.Executing)
		ls.Waiting = append(ls.Waiting, l.Waiting)
	}
	for _, ls := range s.Levels {
		// A level deleted during the window holds nothing after.
		for len(ls.Executing) <= n {
			ls.Executing = append(ls.Executing, 0)
			ls.Waiting = append(ls.Waiting, 0)
		}
	}
}

// run samples every interval from start until ctx ends, keeping at most
// max samples. A 403 ends it: the permission will not appear mid-window.
func (s *Sampler) run(ctx context.Context, start time.Time, interval time.Duration, max int) *Series {
	out := &Series{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		levels, err := s.Sample(ctx)
		switch {
		case ctx.Err() != nil:
			return out
		case err != nil:
			out.Failed++
			if out.FirstError == nil {
				out.FirstError = err
			}
			if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) {
				return out
			}
		case len(out.Offsets) >= max:
			out.Truncated = true
			return out
		default:
			out.add(time.Since(start).Seconds(), levels)
		}
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

// Stats are the peak, mean and 99th percentile of a series of counts.
type Stats struct {
	Peak int     `json:"peak"`
	Mean float64 `json:"mean"`
	P99  int     `json:"p99"`
}

// StatsOf summarises values (zero for none).
func StatsOf(values []int) Stats {
	if len(values) == 0 {
		return Stats{}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	total := 0
	for _, v := range values {
		total += v
	}
	// Nearest rank: the smallest value at or above 99% of the samples.
	rank := (99*len(sorted) + 99) / 100
	return Stats{Peak: sorted[len(sorted)-1], Mean: float64(total) / float64(len(values)), P99: sorted[max(rank-1, 0)]}
}

// sampleAll runs one sampler per server until ctx ends.
func sampleAll(ctx context.Context, samplers []*Sampler, start time.Time, interval time.Duration, max int) []*Series {
	out := make([]*Series, len(samplers))
	var wg sync.WaitGroup
	for i, s := range samplers {
		wg.Go(func() { out[i] = s.run(ctx, start, interval, max) })
	}
	wg.Wait()
	return out
}
