package capacity

import (
	"fmt"
	"strings"
	"time"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// LivenessHairTrigger is the liveness-probe-hair-trigger check.
var LivenessHairTrigger = &check.Check{
	ID:        "liveness-probe-hair-trigger",
	Title:     "Liveness probe that restarts a container after one slow answer",
	Category:  "capacity",
	Severity:  check.Medium,
	Incidents: []string{"173", "174", "175"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.DaemonSets},
	Doc: `Looks at the liveness probes of Deployments, StatefulSets and DaemonSets and
reports those that restart a container after a single failed probe
(failureThreshold 1), or after less than min-window of consecutive failures
(failureThreshold x periodSeconds). A liveness probe times out after
timeoutSeconds (default 1 second); under load, a GC pause, CPU throttling or
a slow dependency, a healthy container misses one probe. With no tolerance
the kubelet kills it, its load moves to the other replicas, which then miss
theirs: a restart storm that turns "slow" into "down".

In incident 173 a production backend with timeoutSeconds 1 was restarted
while busy; in incident 174 healthy pods on a CPU-pressured node were killed
over and over; in incident 175 a database latency spike failed the 1-second
liveness probes of the primary API and the cascade took down 80% of the
service. Kubernetes' defaults (failureThreshold 3, periodSeconds 10) are
left alone.

Severity: medium.`,
	Remediation: `Keep liveness probes for deadlocks only: a cheap endpoint that does not call
dependencies, timeoutSeconds of a few seconds, failureThreshold 3 or more
(at least 30 seconds of failures before a restart), and a startupProbe for
slow starts. Put dependency checks in the readiness probe, which takes a pod
out of rotation instead of killing it.`,
	Params: []check.Param{
		// 6s, not 10s: the Kubernetes documentation's own liveness example
		// probes every 3 seconds with the default 3 failures (9s), and a
		// namespace built from it is not a restart storm waiting to happen.
		{Name: "min-window", Type: check.Duration, Default: "6s",
			Doc: "Shortest run of consecutive failures (failureThreshold x periodSeconds) accepted before a restart."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "containers", Doc: "the containers whose probe is reported"},
		{Name: "timeoutSeconds", Doc: "the probe's timeoutSeconds (the first reported container)"},
		{Name: "periodSeconds", Doc: "its periodSeconds"},
		{Name: "failureThreshold", Doc: "its failureThreshold"},
		{Name: "replicas", Doc: "the workload's desired pods"},
	},
	Run: runLivenessHairTrigger,
}

func runLivenessHairTrigger(p *check.Pass) error {
	window := p.Duration("min-window")
	for _, w := range workload.All(p.Snapshot) {
		if w.Counts.Desired == 0 {
			continue
		}
		var names []string
		var ev map[string]any
		for _, c := range w.Template.Spec.Containers {
			if c.LivenessProbe == nil {
				continue
			}
			pt := workload.Timing(c.LivenessProbe)
			timeout, period, failures := pt.Timeout, pt.Period, pt.Failure
			if failures > 1 && time.Duration(failures*period)*time.Second >= window {
				continue
			}
			names = append(names, c.Name)
			if ev == nil {
				ev = map[string]any{"timeoutSeconds": timeout, "periodSeconds": period, "failureThreshold": failures, "replicas": w.Counts.Desired}
			}
		}
		if len(names) == 0 {
			continue
		}
		ev["containers"] = names
		name := w.Meta.Namespace + "/" + w.Meta.Name
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("%s %s: liveness probe restarts after %d failure(s) of %ds", w.Kind, name, ev["failureThreshold"], ev["timeoutSeconds"]),
			Message: fmt.Sprintf("The liveness probe of container(s) %s of %s %s restarts the container after %d failed probe(s), "+
				"%ds apart, each timing out after %ds. Under load a healthy container misses a probe; the kubelet kills it, its "+
				"load moves to the other replicas, and they miss theirs: a restart storm (incidents 173, 174, 175).",
				strings.Join(names, ", "), w.Kind, name, ev["failureThreshold"], ev["periodSeconds"], ev["timeoutSeconds"]),
			Objects:  []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}},
			Evidence: ev,
		})
	}
	return nil
}
