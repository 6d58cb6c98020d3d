package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	apfsample "github.com/premortem/premortem/internal/measure"
)

// sampleCollector serves what --apiserver-sample's measure.Monitor saw
// since the last scrape: per API server and priority level, the peak and
// p99 of executing requests and the peak of waiting ones (the bursts a
// 30 s or 1 m mean hides, incident 000), and the seconds at the limit
// since the agent started. Each scrape starts a new window.
type sampleCollector struct {
	m                                   *apfsample.Monitor
	peak, p99, waiting, atLimit, failed *prometheus.Desc
}

func newSampleCollector(m *apfsample.Monitor) *sampleCollector {
	labels := []string{"apiserver", "priority_level"}
	return &sampleCollector{m: m,
		peak:    prometheus.NewDesc("premortem_apiserver_executing_requests_peak", "Most requests executing at once in a priority level of an API server, in the samples since the last scrape (--apiserver-sample).", labels, nil),
		p99:     prometheus.NewDesc("premortem_apiserver_executing_requests_p99", "99th percentile of the requests executing in a priority level of an API server, in the samples since the last scrape.", labels, nil),
		waiting: prometheus.NewDesc("premortem_apiserver_waiting_requests_peak", "Most requests waiting for a seat in a priority level of an API server, in the samples since the last scrape.", labels, nil),
		atLimit: prometheus.NewDesc("premortem_apiserver_seconds_at_limit_total", "Seconds a priority level of an API server was at its limit (requests waited for a seat), sampled every --apiserver-sample.", labels, nil),
		failed:  prometheus.NewDesc("premortem_apiserver_sample_failures_total", "Samples of an API server's priority levels that failed or took longer than the interval (at least 1 s).", []string{"apiserver"}, nil),
	}
}

func (c *sampleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.peak, c.p99, c.waiting, c.atLimit, c.failed} {
		ch <- d
	}
}

func (c *sampleCollector) Collect(ch chan<- prometheus.Metric) {
	servers := map[string]bool{}
	for _, w := range c.m.Drain() {
		servers[w.Server] = true
		ch <- prometheus.MustNewConstMetric(c.atLimit, prometheus.CounterValue, w.SecondsAtLimit, w.Server, w.Level)
		if w.Samples == 0 {
			continue // no sample since the last scrape: no peak to report
		}
		ch <- prometheus.MustNewConstMetric(c.peak, prometheus.GaugeValue, float64(w.PeakExec), w.Server, w.Level)
		ch <- prometheus.MustNewConstMetric(c.p99, prometheus.GaugeValue, float64(w.P99Exec), w.Server, w.Level)
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(w.PeakWaiting), w.Server, w.Level)
	}
	for _, s := range c.m.Servers() {
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(c.m.Failed(s)), s)
	}
}
