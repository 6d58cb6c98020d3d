package etcd

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// ReplicaSetHistory is the replicaset-history check.
var ReplicaSetHistory = &check.Check{
	ID:       "replicaset-history",
	Title:    "Workloads keeping many old ReplicaSets",
	Category: "storage",
	Severity: check.Medium,
	Escalation: &check.Escalation{To: check.High,
		When: "one workload keeps more than ten times max-old old ReplicaSets"},
	Incidents: []string{"254", "255", "256"},
	Reads:     []snapshot.Resource{snapshot.ReplicaSets},
	Optional:  []snapshot.Resource{snapshot.Deployments},
	Doc: `Counts the ReplicaSets each workload controls (their controller
ownerReference: a Deployment, an Argo Rollout or any other owner) and reports
workloads that keep more than max-old besides the current one. Every old
ReplicaSet is a full pod template stored in etcd and held in the API
server's watch cache and in every controller that watches ReplicaSets; a
Deployment rolled out several times a day with a high or missing
revisionHistoryLimit adds them without end: 3,000 in one cluster, 139 for
one Deployment whose cleanup was blocked (incident 254), more than 19,000
in another (incident 255). Deployments created through the old
extensions/v1beta1 API kept every ReplicaSet by default (incident 256).

ReplicaSets are read metadata-only (names, owners, annotations); Deployments,
when read, add their revisionHistoryLimit and current revision to the
evidence. The Kubernetes default of 10 stays quiet under the default
max-old. One finding per namespace, naming its workloads.`,
	Remediation: `Set spec.revisionHistoryLimit on the workloads (a few revisions are enough to
roll back; the default is 10), and look at workloads that keep more than
their limit: cleanup stops while a rollout is stuck. Delete the old
ReplicaSets with zero replicas already there, e.g.
kubectl -n <ns> delete rs <name>...`,
	Params: []check.Param{
		{Name: "max-old", Type: check.Int, Default: "25", Min: "1",
			Doc: "Report a workload that keeps more old ReplicaSets than this."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "namespace", Doc: "the namespace"},
		{Name: "threshold", Doc: "max-old"},
		{Name: "oldReplicaSets", Doc: "old ReplicaSets kept by the workloads reported, together"},
		{Name: "workloads", Doc: "the workloads reported, most first (at most ten): kind, name, oldReplicaSets, revisionHistoryLimit (\"unset\" when the field is absent), oldest (creation time of its oldest ReplicaSet)"},
	},
	Run: runReplicaSetHistory,
}

func runReplicaSetHistory(p *check.Pass) error {
	byNS := piles{}
	list := p.Snapshot.Metadata[snapshot.ReplicaSets]
	for i := range list {
		if ref := metav1.GetControllerOfNoCopy(&list[i]); ref != nil {
			byNS.add(list[i].Namespace, ref.Kind, ref.Name, &list[i].ObjectMeta)
		}
	}
	deployments := map[[2]string]*appsv1.Deployment{}
	if p.Has(snapshot.Deployments) {
		for i := range p.Snapshot.Deployments {
			d := &p.Snapshot.Deployments[i]
			deployments[[2]string{d.Namespace, d.Name}] = d
		}
	}
	limit := p.Int("max-old")
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		over := byNS.over(ns, limit+1) // the current ReplicaSet is not history
		if len(over) == 0 {
			continue
		}
		sev, total := check.Medium, 0
		var objects []check.Object
		var workloads []map[string]any
		var beyond []string
		for _, o := range over {
			old := len(o.members) - 1
			total += old
			if old > 10*limit {
				sev = check.High
			}
			group := ""
			if o.kind == "Deployment" || o.kind == "StatefulSet" || o.kind == "DaemonSet" {
				group = "apps"
			}
			if len(objects) < 20 {
				objects = append(objects, check.Object{Group: group, Kind: o.kind, Namespace: ns, Name: o.name})
			}
			if len(workloads) >= 10 {
				continue
			}
			oldest := o.members[0].CreationTimestamp.Time
			for _, rs := range o.members[1:] {
				if t := rs.CreationTimestamp.Time; t.Before(oldest) {
					oldest = t
				}
			}
			w := map[string]any{"kind": o.kind, "name": o.name, "oldReplicaSets": old, "oldest": check.FormatTime(oldest)}
			if d := deployments[[2]string{ns, o.name}]; o.kind == "Deployment" && d != nil {
				w["revisionHistoryLimit"] = "unset"
				if l := d.Spec.RevisionHistoryLimit; l != nil {
					w["revisionHistoryLimit"] = int(*l)
					if old > int(*l) {
						beyond = append(beyond, o.name)
					}
				}
			}
			workloads = append(workloads, w)
		}
		top := over[0]
		note := ""
		if len(beyond) > 0 {
			note = fmt.Sprintf(" %s %s more than its revisionHistoryLimit: the cleanup is not running (a stuck rollout stops it).",
				strings.Join(check.First(beyond, 3), ", "), verb(len(beyond), "keeps", "keep"))
		}
		p.Report(check.Finding{
			Severity: sev,
			Title: fmt.Sprintf("%s in %s %s %d old ReplicaSets (most: %d for %s %s)", check.Plural(len(over), "workload", "workloads"), ns,
				verb(len(over), "keeps", "keep"), total, len(top.members)-1, top.kind, top.name),
			Message: fmt.Sprintf("In namespace %s, %s %s more than %d old ReplicaSets each, %d together. Each is a pod template "+
				"stored in etcd and cached by the API server and every controller watching ReplicaSets, and every rollout adds one "+
				"(incidents 254, 255).%s", ns, check.Plural(len(over), "workload", "workloads"), verb(len(over), "keeps", "keep"), limit, total, note),
			Objects:  objects,
			Evidence: map[string]any{"namespace": ns, "threshold": limit, "oldReplicaSets": total, "workloads": workloads},
		})
	}
	return nil
}
