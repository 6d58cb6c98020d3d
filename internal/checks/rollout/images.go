package rollout

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// CriticalPullAlways is the critical-image-pull-always check.
var CriticalPullAlways = &check.Check{
	ID:        "critical-image-pull-always",
	Title:     "Critical workload that pulls its image on every start",
	Category:  "rollout",
	Severity:  check.Medium,
	Incidents: []string{"232", "230", "003"},
	Reads:     []snapshot.Resource{snapshot.Deployments, snapshot.StatefulSets, snapshot.DaemonSets},
	Doc: `Reports the Deployments, StatefulSets and DaemonSets the cluster cannot run
without (in kube-system, at a system-*-critical priority, or a known
networking or DNS component) with a container whose image pull policy is
Always (set, or implied by a :latest or missing tag). The kubelet then asks
the registry on every container start, even when the node has the image: a
restart, an eviction or a rollout during a registry outage, or once the
registry rate-limits (Docker Hub's anonymous limit is per source address,
which a NAT gateway shares), leaves the component down.

In incident 232 a registry outage coincided with a restart of an API
whose Deployment pulled Always, and it stayed down until the registry
returned; in incident 230 Docker Hub went offline and every pod that needed
a pull could not start; in incident 003 a rescheduled Typha pod landed on a
node without its image.

Severity: medium (it takes a registry failure and a restart together).`,
	Remediation: `Pin the image by version tag or digest and use imagePullPolicy:
IfNotPresent, so that a node that has the image never needs the registry to
restart it; serve critical images from a registry or pull-through mirror
inside the cluster's failure domain rather than straight from Docker Hub.`,
	Evidence: []check.EvidenceKey{
		{Name: "criticalBecause", Doc: "why the workload counts as critical"},
		{Name: "containers", Doc: "the containers that pull on every start: container, image, pullPolicy (as set; empty when implied by the tag), registry"},
	},
	Run: runCriticalPullAlways,
}

// pullsAlways reports whether the kubelet pulls c's image on every start:
// policy Always, or no policy and a :latest or missing tag (the API
// server's default for those).
func pullsAlways(c *corev1.Container) bool {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy == corev1.PullAlways
	}
	return strings.HasSuffix(workload.NormalizeImage(c.Image), ":latest")
}

func runCriticalPullAlways(p *check.Pass) error {
	ws := workload.All(p.Snapshot)
	for _, w := range ws {
		var always []map[string]any
		var names []string
		dockerHub := false
		spec := &w.Template.Spec
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			if !pullsAlways(&c) {
				continue
			}
			registry, _, _ := strings.Cut(workload.NormalizeImage(c.Image), "/")
			dockerHub = dockerHub || registry == "docker.io"
			always = append(always, map[string]any{"container": c.Name, "image": c.Image,
				"pullPolicy": string(c.ImagePullPolicy), "registry": registry})
			names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.Image))
		}
		if len(always) == 0 || w.Counts.Desired == 0 {
			continue
		}
		crit := w.Classify()
		if !crit.Critical() {
			continue
		}
		hub := ""
		if dockerHub {
			hub = " Docker Hub also rate-limits pulls per source address."
		}
		name := w.Meta.Namespace + "/" + w.Meta.Name
		p.Report(check.Finding{
			Severity: check.Medium,
			Title:    fmt.Sprintf("%s %s: critical, pulls its image on every start", w.Kind, name),
			Message: fmt.Sprintf("%s %s is critical (%s) and pulls on every container start: %s. A restart, eviction or "+
				"rollout while the registry is down or refusing pulls leaves it down, even on nodes that have the image "+
				"(incidents 232, 230).%s", w.Kind, name, strings.Join(crit.Reasons, ", "), strings.Join(names, ", "), hub),
			Objects:  []check.Object{{Group: "apps", Kind: w.Kind, Namespace: w.Meta.Namespace, Name: w.Meta.Name}},
			Evidence: map[string]any{"criticalBecause": crit.Reasons, "containers": always},
		})
	}
	return nil
}
