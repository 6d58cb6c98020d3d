package agent

import (
	"runtime"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/premortem/premortem/internal/check"
)

// metric is one of the agent's metrics (docs/agent.md lists them).
type metric struct {
	name, help string
	labels     []string
	counter    bool
}

// The metrics, fixed: the alert rules, docs and chart are written against
// these names and labels.
var metrics = []metric{
	{name: "premortem_build_info", help: "Always 1; the labels say which premortem runs.", labels: []string{"version", "revision", "goversion"}},
	{name: "premortem_informer_synced", help: "1 when the resource's informer has read it whole, else 0.", labels: []string{"resource"}},
	{name: "premortem_resource_objects", help: "Objects of the resource in the informer cache.", labels: []string{"resource"}},
	{name: "premortem_resource_readable", help: "1 when the resource is read now, 0 when it cannot be (RBAC, APIService down, errors).", labels: []string{"resource"}},
	{name: "premortem_list_requests_total", help: "LIST requests the agent made, by result.", labels: []string{"resource", "result"}, counter: true},
	{name: "premortem_watch_requests_total", help: "WATCH requests the agent made, by result, counted when they end.", labels: []string{"resource", "result"}, counter: true},
	{name: "premortem_evaluation_timestamp_seconds", help: "Unix time the last evaluation finished."},
	{name: "premortem_evaluation_duration_seconds", help: "How long the last evaluation took."},
	{name: "premortem_evaluation_complete", help: "1 when the last evaluation read every kind it needed and every check that applies ran, else 0."},
	{name: "premortem_check_status", help: "1 for the check's status in the last evaluation: ran, skipped (does not apply) or incomplete (could not run).", labels: []string{"check", "status"}},
	{name: "premortem_findings", help: "Findings of the last evaluation by check and severity.", labels: []string{"check", "severity"}},
	{name: "premortem_apiservice_available", help: "1 when the aggregated APIService is Available, else 0.", labels: []string{"apiservice"}},
	{name: "premortem_apiservice_blocked_namespaces", help: "Terminating namespaces held back while the APIService is unavailable.", labels: []string{"apiservice"}},
	{name: "premortem_namespace_terminating_seconds", help: "Age of the deletion of a Terminating namespace (only those).", labels: []string{"namespace"}},
	{name: "premortem_namespace_objects", help: "Objects per namespace, for the namespaces with the most of each resource.", labels: []string{"resource", "namespace"}},
	{name: "premortem_finished_jobs_without_ttl", help: "Finished Jobs without ttlSecondsAfterFinished, for the namespaces with the most.", labels: []string{"namespace"}},
	{name: "premortem_helm_releases", help: "Helm releases (their Secrets' metadata) per namespace and chart, for the largest.", labels: []string{"namespace", "chart"}},
	{name: "premortem_critical_workload_replicas", help: "Desired replicas of a critical workload.", labels: []string{"namespace", "kind", "name"}},
	{name: "premortem_critical_workload_ready_replicas", help: "Ready replicas of a critical workload.", labels: []string{"namespace", "kind", "name"}},
	{name: "premortem_node_version_variants", help: "Distinct values of a node version field across nodes.", labels: []string{"field"}},
	{name: "premortem_apiserver_literal_references", help: "Literal API server addresses in workload configuration, by whether they are a current API server.", labels: []string{"state"}},
	{name: "premortem_apiserver_certificate_expiry_timestamp_seconds", help: "notAfter of the API server's serving certificate, as Unix time.", labels: []string{"host"}},
	{name: "premortem_series_truncated", help: "Series a cap (--top-namespaces, --max-series) cut from a metric in the last evaluation.", labels: []string{"metric"}},
}

// collector builds every series at scrape time from the informers' state
// and the latest evaluation: a resolved finding's series is gone with it.
type collector struct {
	a       *Agent
	version string
	rev     string
	descs   map[string]*prometheus.Desc
}

func newCollector(a *Agent) *collector {
	c := &collector{a: a, version: a.opts.Version, rev: a.opts.Revision, descs: map[string]*prometheus.Desc{}}
	for _, m := range metrics {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, m.labels, nil)
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) emit(ch chan<- prometheus.Metric, name string, v float64, labels ...string) {
	t := prometheus.GaugeValue
	if i := slices.IndexFunc(metrics, func(m metric) bool { return m.name == name }); i >= 0 && metrics[i].counter {
		t = prometheus.CounterValue
	}
	ch <- prometheus.MustNewConstMetric(c.descs[name], t, v, labels...)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.emit(ch, "premortem_build_info", 1, c.version, c.rev, runtime.Version())
	_, ks := c.a.kindsNow()
	for _, k := range ks {
		st := k.state()
		name := k.res.Name()
		c.emit(ch, "premortem_informer_synced", b2f(st.synced), name)
		c.emit(ch, "premortem_resource_objects", float64(st.objects), name)
		c.emit(ch, "premortem_resource_readable", b2f(st.readable), name)
		for _, r := range results {
			c.emit(ch, "premortem_list_requests_total", st.lists[r], name, r)
			c.emit(ch, "premortem_watch_requests_total", st.watches[r], name, r)
		}
	}
	// Kinds not read at all: their group's discovery failed.
	if d, _ := c.a.kindsNow(); d != nil {
		for _, s := range d.Skipped {
			c.emit(ch, "premortem_informer_synced", 0, s.Resource.Name())
			c.emit(ch, "premortem_resource_readable", 0, s.Resource.Name())
		}
	}
	e := c.a.latest()
	if e == nil {
		c.emit(ch, "premortem_evaluation_complete", 0)
		return
	}
	r := e.result
	c.emit(ch, "premortem_evaluation_timestamp_seconds", float64(e.finished.UnixNano())/1e9)
	c.emit(ch, "premortem_evaluation_duration_seconds", e.duration.Seconds())
	c.emit(ch, "premortem_evaluation_complete", b2f(r.Complete()))
	for _, ck := range c.a.opts.Checks {
		c.emit(ch, "premortem_check_status", 1, ck.ID, checkStatus(r, ck.ID))
	}
	type key struct{ id, sev string }
	findings := map[key]int{}
	for _, f := range r.Findings {
		findings[key{f.ID, f.Severity.String()}]++
	}
	for k, n := range findings {
		c.emit(ch, "premortem_findings", float64(n), k.id, k.sev)
	}
	for name, ss := range e.gauges.series {
		for _, s := range ss {
			c.emit(ch, name, s.value, s.labels...)
		}
	}
	for name, n := range e.gauges.truncated {
		c.emit(ch, "premortem_series_truncated", n, name)
	}
}

func checkStatus(r *check.Result, id string) string {
	if slices.Contains(r.Ran, id) {
		return "ran"
	}
	for _, n := range r.NotRun {
		if n.ID == id && n.Incomplete {
			return "incomplete"
		}
	}
	return "skipped"
}
