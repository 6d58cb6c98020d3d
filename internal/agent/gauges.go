package agent

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/apiservice"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// sample is one series of a gauge: label values in the order of the
// metric's labels.
type sample struct {
	labels []string
	value  float64
}

// gauges are the series of the seed-condition gauges, by metric name, and
// how many series a cap cut from each.
type gauges struct {
	series    map[string][]sample
	truncated map[string]float64
}

// limits bound the label values the gauges carry.
type limits struct {
	top       int // namespaces per resource (--top-namespaces)
	maxSeries int // series per metric of the per-object gauges
}

func (g *gauges) add(metric string, s sample) {
	g.series[metric] = append(g.series[metric], s)
}

// capped keeps the first n of ss (already ordered most important first)
// and records what it cut.
func (g *gauges) capped(metric string, ss []sample, n int) {
	g.truncated[metric] = 0
	if len(ss) > n {
		g.truncated[metric] = float64(len(ss) - n)
		ss = ss[:n]
	}
	g.series[metric] = append(g.series[metric], ss...)
}

// measure computes the gauges of snapshot s and result r. Kinds that were
// not read give no series: a gauge never says zero for "unknown".
func measure(s *snapshot.Snapshot, r *check.Result, counts map[snapshot.Resource]map[string]int, lim limits, now time.Time) *gauges {
	g := &gauges{series: map[string][]sample{}, truncated: map[string]float64{}}
	read := func(res snapshot.Resource) bool { _, skipped := s.Info.SkipReason(res); return !skipped }

	if read(snapshot.APIServices) {
		terminating := 0
		if read(snapshot.Namespaces) {
			for _, ns := range s.Namespaces {
				if ns.DeletionTimestamp != nil {
					terminating++
				}
			}
		}
		var avail, blocked []sample
		for _, a := range s.APIServices {
			if !apiservice.Aggregated(a) {
				continue // served by kube-apiserver itself
			}
			c := apiservice.Available(a)
			up := c != nil && c.Status == "True"
			avail = append(avail, sample{[]string{a.Name}, b2f(up)})
			// The namespace controller cannot finish any deletion while an
			// aggregated API fails discovery: every Terminating namespace
			// waits for it (incident 004).
			held := 0
			if !up {
				held = terminating
			}
			blocked = append(blocked, sample{[]string{a.Name}, float64(held)})
		}
		g.capped("premortem_apiservice_available", avail, lim.maxSeries)
		g.capped("premortem_apiservice_blocked_namespaces", blocked, lim.maxSeries)
	}

	if read(snapshot.Namespaces) {
		var ss []sample
		for _, ns := range s.Namespaces {
			if ns.DeletionTimestamp != nil {
				ss = append(ss, sample{[]string{ns.Name}, now.Sub(ns.DeletionTimestamp.Time).Seconds()})
			}
		}
		slices.SortStableFunc(ss, func(a, b sample) int { return cmp.Compare(b.value, a.value) })
		g.capped("premortem_namespace_terminating_seconds", ss, lim.maxSeries)
	}

	var perNS []sample
	cut := 0.0
	for _, res := range slices.SortedFunc(maps.Keys(counts), func(a, b snapshot.Resource) int { return cmp.Compare(a.Name(), b.Name()) }) {
		top := topN(counts[res], lim.top)
		cut += float64(len(counts[res]) - len(top))
		for _, t := range top {
			perNS = append(perNS, sample{[]string{res.Name(), t.key}, float64(t.n)})
		}
	}
	g.series["premortem_namespace_objects"] = perNS
	g.truncated["premortem_namespace_objects"] = cut

	if read(snapshot.Jobs) {
		jobs := map[string]int{}
		for i := range s.Jobs {
			if j := &s.Jobs[i]; finished(j) && j.Spec.TTLSecondsAfterFinished == nil {
				jobs[j.Namespace]++
			}
		}
		top := topN(jobs, lim.top)
		var ss []sample
		for _, t := range top {
			ss = append(ss, sample{[]string{t.key}, float64(t.n)})
		}
		g.series["premortem_finished_jobs_without_ttl"] = ss
		g.truncated["premortem_finished_jobs_without_ttl"] = float64(len(jobs) - len(top))
	}

	if read(snapshot.Secrets) {
		g.helmReleases(s, lim)
	}

	if read(snapshot.Deployments) && read(snapshot.StatefulSets) && read(snapshot.DaemonSets) {
		var desired, ready []sample
		for _, w := range workload.All(s) {
			if !w.Classify().Critical() {
				continue
			}
			l := []string{w.Meta.Namespace, w.Kind, w.Meta.Name}
			desired = append(desired, sample{l, float64(w.Counts.Desired)})
			ready = append(ready, sample{l, float64(w.Counts.Ready)})
		}
		g.capped("premortem_critical_workload_replicas", desired, lim.maxSeries)
		g.capped("premortem_critical_workload_ready_replicas", ready, lim.maxSeries)
	}

	if read(snapshot.Nodes) {
		fields := []struct {
			name string
			of   func(corev1.NodeSystemInfo) string
		}{
			{"kubelet", func(i corev1.NodeSystemInfo) string { return i.KubeletVersion }},
			{"kernel", func(i corev1.NodeSystemInfo) string { return i.KernelVersion }},
			{"runtime", func(i corev1.NodeSystemInfo) string { return i.ContainerRuntimeVersion }},
			{"os_image", func(i corev1.NodeSystemInfo) string { return i.OSImage }},
		}
		for _, f := range fields {
			seen := map[string]bool{}
			for _, n := range s.Nodes {
				seen[f.of(n.Status.NodeInfo)] = true
			}
			g.add("premortem_node_version_variants", sample{[]string{f.name}, float64(len(seen))})
		}
	}

	if current, stale, ok := literalReferences(r); ok {
		g.add("premortem_apiserver_literal_references", sample{[]string{"current"}, float64(current)})
		g.add("premortem_apiserver_literal_references", sample{[]string{"stale"}, float64(stale)})
	}

	if a := s.Info.APIServer; a != nil && a.Certificate != nil {
		host := a.Server
		if u, err := url.Parse(a.Server); err == nil && u.Host != "" {
			host = u.Host
		}
		g.add("premortem_apiserver_certificate_expiry_timestamp_seconds", sample{[]string{host}, float64(a.Certificate.NotAfter.Unix())})
	}
	return g
}

func finished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// helm labels: release Secrets (owner=helm, name=<release>), and the
// chart label of the objects a release installs.
const (
	labelChart    = "helm.sh/chart"
	labelInstance = "app.kubernetes.io/instance"
	annoRelease   = "meta.helm.sh/release-name"
)

// chartVersion is the "-<version>" Helm appends to the chart label.
var chartVersion = regexp.MustCompile(`-v?[0-9][0-9A-Za-z.+-]*$`)

// helmReleases counts releases (their Secrets' metadata: Secret data is
// never read) per namespace and chart; the chart is read from the labels of
// the objects the release installed, "" when none says.
func (g *gauges) helmReleases(s *snapshot.Snapshot, lim limits) {
	charts := map[string]string{} // namespace/release -> chart
	for res, objs := range s.Metadata {
		if res == snapshot.Secrets {
			continue
		}
		for i := range objs {
			m := &objs[i].ObjectMeta
			rel := m.Annotations[annoRelease]
			if rel == "" {
				rel = m.Labels[labelInstance]
			}
			if c := m.Labels[labelChart]; c != "" && rel != "" {
				charts[m.Namespace+"/"+rel] = chartVersion.ReplaceAllString(c, "")
			}
		}
	}
	releases := map[string]map[string]bool{} // namespace\x00chart -> releases
	for _, sec := range s.Metadata[snapshot.Secrets] {
		if sec.Labels["owner"] != "helm" || sec.Labels["name"] == "" {
			continue
		}
		rel := sec.Labels["name"]
		key := sec.Namespace + "\x00" + charts[sec.Namespace+"/"+rel]
		if releases[key] == nil {
			releases[key] = map[string]bool{}
		}
		releases[key][rel] = true
	}
	counts := map[string]int{}
	for k, rs := range releases {
		counts[k] = len(rs)
	}
	top := topN(counts, lim.top)
	var ss []sample
	for _, t := range top {
		ns, chart, _ := strings.Cut(t.key, "\x00")
		ss = append(ss, sample{[]string{ns, chart}, float64(t.n)})
	}
	g.series["premortem_helm_releases"] = ss
	g.truncated["premortem_helm_releases"] = float64(len(counts) - len(top))
}

// literalReferences counts the literal API server addresses the
// hardcoded-apiserver-address check found, current and stale; ok is false
// when it did not run.
func literalReferences(r *check.Result) (current, stale int, ok bool) {
	if !slices.Contains(r.Ran, hardcodedCheck) {
		return 0, 0, false
	}
	for _, f := range r.Findings {
		if f.ID != hardcodedCheck {
			continue
		}
		raw, err := json.Marshal(f.Evidence["addresses"])
		if err != nil {
			continue
		}
		var found []struct {
			Current bool `json:"currentAPIServer"`
		}
		if json.Unmarshal(raw, &found) != nil {
			continue
		}
		for _, l := range found {
			if l.Current {
				current++
			} else {
				stale++
			}
		}
	}
	return current, stale, true
}

const hardcodedCheck = "hardcoded-apiserver-address"

type counted struct {
	key string
	n   int
}

// topN returns the n largest counts, ties by key.
func topN(m map[string]int, n int) []counted {
	out := make([]counted, 0, len(m))
	for k, v := range m {
		out = append(out, counted{k, v})
	}
	slices.SortFunc(out, func(a, b counted) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.key, b.key)) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
