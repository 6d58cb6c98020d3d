package objects

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// JobsWithoutTTL is the jobs-without-ttl check.
var JobsWithoutTTL = &check.Check{
	ID:        "jobs-without-ttl",
	Title:     "Finished Jobs that are never cleaned up",
	Category:  "growth",
	Severity:  check.Medium,
	Incidents: []string{"001"},
	Reads:     []snapshot.Resource{snapshot.Jobs},
	Doc: `Counts, per namespace, finished Jobs (condition Complete or Failed is True)
that have no spec.ttlSecondsAfterFinished and are not owned by a CronJob
(whose history limits clean them up). Nothing ever deletes such a Job or its
Pods; a tool that creates one per run grows the namespace without bound.

In incident 001 about 1,800 Jobs (and their NetworkPolicies and ConfigMaps)
accumulated this way before Calico fell over. The check fires when a
namespace holds more than max-per-namespace of them; evidence gives the
count, the oldest one's age and examples.`,
	Remediation: `Set spec.ttlSecondsAfterFinished on the Jobs (or in the chart or tool that
creates them) so the TTL controller deletes them, and delete the finished
ones already there, e.g.
kubectl -n <ns> delete job --field-selector status.successful=1`,
	Params: []check.Param{
		{Name: "max-per-namespace", Type: check.Int, Default: "100",
			Doc: "Report a namespace holding more finished Jobs without a TTL than this."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "count", Doc: "finished Jobs without TTL in the namespace"},
		{Name: "threshold", Doc: "max-per-namespace"},
		{Name: "oldestFinished", Doc: "how long ago the oldest one finished"},
		{Name: "examples", Doc: "names of the five oldest"},
	},
	Run: runJobsWithoutTTL,
}

// finishedAt returns when a Job finished, and whether it has.
func finishedAt(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			switch {
			case j.Status.CompletionTime != nil:
				return j.Status.CompletionTime.Time, true
			case !c.LastTransitionTime.IsZero():
				return c.LastTransitionTime.Time, true
			}
			return j.CreationTimestamp.Time, true
		}
	}
	return time.Time{}, false
}

func ownedByCronJob(j *batchv1.Job) bool {
	for _, o := range j.OwnerReferences {
		if o.Kind == "CronJob" {
			return true
		}
	}
	return false
}

func runJobsWithoutTTL(p *check.Pass) error {
	type job struct {
		name     string
		finished time.Time
	}
	byNS := map[string][]job{}
	for i := range p.Snapshot.Jobs {
		j := &p.Snapshot.Jobs[i]
		at, done := finishedAt(j)
		if !done || j.Spec.TTLSecondsAfterFinished != nil || ownedByCronJob(j) {
			continue
		}
		byNS[j.Namespace] = append(byNS[j.Namespace], job{j.Name, at})
	}
	limit := p.Int("max-per-namespace")
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		jobs := byNS[ns]
		if len(jobs) <= limit {
			continue
		}
		// Oldest first, so the examples show how far back it goes.
		slices.SortFunc(jobs, func(a, b job) int { return cmp.Or(a.finished.Compare(b.finished), cmp.Compare(a.name, b.name)) })
		oldest := check.FormatAge(p.Now.Sub(jobs[0].finished))
		objects := []check.Object{{Kind: "Namespace", Name: ns}}
		var examples []string
		for _, j := range check.First(jobs, 20) {
			objects = append(objects, check.Object{Group: "batch", Kind: "Job", Namespace: ns, Name: j.name})
			if len(examples) < 5 {
				examples = append(examples, j.name)
			}
		}
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("%d finished Jobs without TTL in %s (oldest %s)", len(jobs), ns, oldest),
			Message: fmt.Sprintf("Namespace %s holds %d finished Jobs with no ttlSecondsAfterFinished and no CronJob owner "+
				"(threshold %d); the oldest finished %s ago. Nothing deletes them, so they grow with every run (incident 001).",
				ns, len(jobs), limit, oldest),
			Objects:  objects,
			Evidence: map[string]any{"count": len(jobs), "threshold": limit, "oldestFinished": oldest, "examples": examples},
		})
	}
	return nil
}
