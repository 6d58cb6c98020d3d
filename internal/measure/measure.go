// Package measure measures what a window of time (one deploy, one command)
// costs each API server of a cluster: requests by verb and resource, CPU
// seconds and egress bytes from /metrics read once at each end, and the
// executing and waiting requests of each API Priority and Fairness level
// sampled every interval (one second by default), the resolution at which
// the short saturations of incident 000 show. It also estimates whether the
// other servers could absorb the heaviest one's load (N-1).
//
// The pieces are a library: Discover finds the servers, Sampler reads one
// server's priority levels (the agent can run it for good), Run measures a
// window, and the writers render the Report.
package measure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Options of one measured window.
type Options struct {
	// Interval between samples of the priority levels (default 1s).
	Interval time.Duration
	// Duration of the window when Command is nil.
	Duration time.Duration
	// Command runs during the window, which lasts as long as it does, then
	// Settle longer: what it set off (watch events, controllers) is counted.
	Command     func(ctx context.Context) error
	CommandLine []string
	Settle      time.Duration
	// MaxSamples per server (default a day's worth at Interval); past it
	// sampling stops and the report says so.
	MaxSamples int
	// MaxMetricsBytes bounds one /metrics answer (default 256 MiB).
	MaxMetricsBytes int64
	Log             *slog.Logger
}

// Run measures one window on servers. It returns an error only when no
// server could be read at all for a reason other than permission; what
// could not be read otherwise is in Report.NotRead. An interrupted window
// (ctx cancelled) is still reported, up to the interruption.
func Run(ctx context.Context, servers []Server, opts Options) (*Report, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = int(24 * time.Hour / opts.Interval)
	}
	if opts.MaxMetricsBytes <= 0 {
		opts.MaxMetricsBytes = defaultMaxScrape
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Command == nil && opts.Duration <= 0 {
		return nil, errors.New("no command and no duration: nothing bounds the window")
	}
	if len(servers) == 0 {
		return nil, errors.New("no API server to measure")
	}
	samplers := make([]*Sampler, len(servers))
	for i, s := range servers {
		var err error
		if samplers[i], err = NewSampler(s, sampleTimeout(opts.Interval)); err != nil {
			return nil, err
		}
	}

	// After an interruption the end of the window is still read, briefly.
	final := context.WithoutCancel(ctx)
	// The window runs from the first /metrics read to the end of the last:
	// every request the deltas count was received within it.
	start := time.Now()
	before, beforeErr := scrapeAll(ctx, samplers, opts.MaxMetricsBytes)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var series []*Series
	var wg sync.WaitGroup
	wg.Go(func() { series = sampleAll(sampleCtx, samplers, start, opts.Interval, opts.MaxSamples) })

	var commandErr error
	if opts.Command != nil {
		commandErr = opts.Command(ctx)
		opts.Log.Info("command finished", "seconds", time.Since(start).Seconds(), "err", commandErr)
		sleep(ctx, opts.Settle)
	} else {
		sleep(ctx, opts.Duration)
	}
	stopSampling()
	wg.Wait()
	afterCtx, cancel := context.WithTimeout(final, 2*samplers[0].r.timeout)
	defer cancel()
	after, afterErr := scrapeAll(afterCtx, samplers, opts.MaxMetricsBytes)
	end := time.Now()

	r := &Report{Schema: Schema, Start: start.UTC(), End: end.UTC(), Seconds: end.Sub(start).Seconds(),
		IntervalSeconds: opts.Interval.Seconds(), Command: opts.CommandLine}
	if commandErr != nil {
		r.CommandError = commandErr.Error()
	}
	if ctx.Err() != nil {
		r.Notes = append(r.Notes, "interrupted: the window ends at the interruption")
	}
	unreadable := 0
	for i, s := range servers {
		sr := serverReport(s, before[i], after[i], series[i], opts.Interval)
		metricsErr := errors.Join(beforeErr[i], afterErr[i])
		var missing []string
		if after[i] != nil {
			missing = after[i].missing()
		}
		var dumpErr error
		if series[i].FirstError != nil && (len(series[i].Offsets) == 0 || apierrors.IsForbidden(series[i].FirstError)) {
			dumpErr = series[i].FirstError
		} else if series[i].Failed > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %d of %d samples failed or were late (first: %s): the series has gaps", s.URL, series[i].Failed, series[i].Failed+len(series[i].Offsets), firstLine(series[i].FirstError)))
		}
		if series[i].Truncated {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: sampling stopped after %d samples", s.URL, opts.MaxSamples))
		}
		if sr.Restarted {
			r.Notes = append(r.Notes, fmt.Sprintf("%s restarted during the window: its counters restarted from zero, its deltas count from the restart", s.URL))
		}
		sr.NotRead = notRead(sr, metricsErr, dumpErr, missing)
		r.NotRead = append(r.NotRead, sr.NotRead...)
		if !sr.MetricsRead && len(sr.Offsets) == 0 && !forbidden(metricsErr) && !forbidden(dumpErr) {
			unreadable++
		}
		r.Servers = append(r.Servers, sr)
	}
	if unreadable == len(servers) {
		return nil, errors.Join(beforeErr...)
	}
	r.Total = totals(r.Servers, opts.Interval)
	r.Headroom = headroom(r.Servers, r.Seconds)
	return r, nil
}

func forbidden(err error) bool {
	return err != nil && (apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err))
}

// scrapeAll reads /metrics of every server at once.
func scrapeAll(ctx context.Context, samplers []*Sampler, maxBytes int64) ([]*scrape, []error) {
	out := make([]*scrape, len(samplers))
	errs := make([]error, len(samplers))
	var wg sync.WaitGroup
	for i, s := range samplers {
		wg.Go(func() { out[i], errs[i] = s.r.scrapeMetrics(ctx, maxBytes) })
	}
	wg.Wait()
	return out, errs
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
