package objects

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// Growth is the object-growth check.
var Growth = &check.Check{
	ID:        "object-growth",
	Title:     "Object counts growing fast since the baseline",
	Category:  "growth",
	Severity:  check.High,
	Incidents: []string{"001"},
	Reads:     []snapshot.Resource{snapshot.Namespaces},
	Optional: []snapshot.Resource{snapshot.Pods, snapshot.Jobs, snapshot.Services, snapshot.Deployments,
		snapshot.ConfigMaps, snapshot.Secrets, snapshot.NetworkPolicies, snapshot.ReplicaSets, snapshot.APIServices},
	Counts: true,
	Doc: `Compares object counts per kind, cluster-wide and per namespace, between a
baseline snapshot (scan --baseline) and now, and reports kinds that grew by
at least min-increase objects and by at least min-ratio (0.5 = +50%).
Needs a baseline; without one the check is not run. Kinds the baseline or the
current read skipped are not compared. Every other kind the API server
serves, custom resources included, is compared cluster-wide by its count (one
limit=1 LIST per kind, whose remainingItemCount gives the count without the
objects), when both snapshots counted it (snapshot save counts every kind).

Incident 001 was unbounded growth nobody watched: a maintenance tool installed
a Helm release per run, and Jobs, NetworkPolicies and ConfigMaps (6,000 to
12,000) piled up until Calico's agents hit their limits. A count that grows
steadily is visible weeks before it hurts, if someone compares.

A kind that grew cluster-wide is one finding, with the namespaces that grew
most in its evidence; a namespace that grew while its kind did not grow enough
cluster-wide is its own finding. Severity is medium, high when the count at
least doubled.`,
	Remediation: `Look at the newest objects of the kind (kubectl get <kind> -A --sort-by=.metadata.creationTimestamp)
and their owners and labels to find what creates them, then bound it: Job
TTLs (ttlSecondsAfterFinished), CronJob history limits, Helm --history-max, or
reusing one release instead of installing one per run.`,
	Params: []check.Param{
		{Name: "min-increase", Type: check.Int, Default: "500", Doc: "Report growth of at least this many objects..."},
		{Name: "min-ratio", Type: check.Float, Default: "0.5", Doc: "...and at least this fraction of the baseline count (0.5 = +50%)."},
		{Name: "top-namespaces", Type: check.Int, Default: "5", Doc: "How many of the fastest-growing namespaces a cluster-wide finding lists."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "resource", Doc: "the resource, as kubectl names it"},
		{Name: "before", Doc: "count in the baseline"},
		{Name: "now", Doc: "count now"},
		{Name: "delta", Doc: "now - before"},
		{Name: "growth", Doc: "growth as a percentage, or \"new\" when the baseline had none"},
		{Name: "baselineTakenAt", Doc: "when the baseline was read"},
		{Name: "perDay", Doc: "average growth per day since the baseline"},
		{Name: "topNamespaces", Doc: "for a cluster-wide finding, the namespaces that grew most: namespace, before, now, delta"},
	},
	Run: runGrowth,
}

type growth struct {
	before, now int
	delta       int
	ratio       float64 // +Inf when before is 0
	namespace   string
}

func (g growth) ratioText() string {
	if math.IsInf(g.ratio, 1) {
		return "new"
	}
	return fmt.Sprintf("+%.0f%%", g.ratio*100)
}

func runGrowth(p *check.Pass) error {
	if p.Baseline == nil {
		return p.NotRun("needs --baseline")
	}
	before, now := count(p.Baseline, p.Check.AllReads()), count(p.Snapshot, p.Check.AllReads())
	minInc, minRatio := p.Int("min-increase"), p.Float("min-ratio")
	grew := func(b, n int) (growth, bool) {
		g := growth{before: b, now: n, delta: n - b}
		if b == 0 {
			g.ratio = math.Inf(1)
		} else {
			g.ratio = float64(n-b) / float64(b)
		}
		return g, g.delta >= minInc && g.ratio >= minRatio
	}
	elapsed := p.Snapshot.Info.TakenAt.Sub(p.Baseline.Info.TakenAt)
	for _, k := range slices.Sorted(maps.Keys(now.total)) {
		b, ok := before.total[k]
		if !ok {
			continue // not read in the baseline: no comparison
		}
		kind := now.res[k].Kind
		g, fired := grew(b, now.total[k])
		var nsGrowth []growth
		for _, ns := range slices.Sorted(maps.Keys(now.perNS[k])) {
			ng, ok := grew(before.perNS[k][ns], now.perNS[k][ns])
			ng.namespace = ns
			if ng.delta > 0 && (fired || ok) {
				nsGrowth = append(nsGrowth, ng)
			}
			if ok && !fired {
				p.Report(growthFinding(p, ng, kind, k, elapsed, []check.Object{{Kind: "Namespace", Name: ns}},
					fmt.Sprintf("%ss in namespace %s", kind, ns), nil))
			}
		}
		if fired {
			slices.SortStableFunc(nsGrowth, func(a, b growth) int { return cmp.Compare(b.delta, a.delta) })
			var top []map[string]any
			for _, ng := range check.First(nsGrowth, p.Int("top-namespaces")) {
				top = append(top, map[string]any{"namespace": ng.namespace, "before": ng.before, "now": ng.now, "delta": ng.delta})
			}
			p.Report(growthFinding(p, g, kind, k, elapsed, nil, kind+"s in the cluster", top))
		}
	}
	return nil
}

func growthFinding(p *check.Pass, g growth, kind, res string, elapsed time.Duration, objects []check.Object, what string, top []map[string]any) check.Finding {
	sev := check.Medium
	if g.now >= 2*g.before {
		sev = check.High
	}
	ev := map[string]any{"resource": res, "before": g.before, "now": g.now, "delta": g.delta, "growth": g.ratioText(),
		"baselineTakenAt": check.FormatTime(p.Baseline.Info.TakenAt)}
	period := ""
	if h := elapsed.Hours(); h > 0 {
		ev["perDay"] = int(math.Round(float64(g.delta) / (h / 24)))
		period = fmt.Sprintf(" in %.1f days (%d a day)", h/24, ev["perDay"])
	}
	if top != nil {
		ev["topNamespaces"] = top
	}
	return check.Finding{
		Severity: sev,
		Title:    fmt.Sprintf("%s: %d -> %d (%s)", what, g.before, g.now, g.ratioText()),
		Message: fmt.Sprintf("%s grew from %d to %d (%+d, %s) since the baseline%s. Growth that is not bounded "+
			"ends in the control plane or a per-object controller falling over (incident 001).", what, g.before, g.now, g.delta, g.ratioText(), period),
		Objects:  objects,
		Evidence: ev,
	}
}
