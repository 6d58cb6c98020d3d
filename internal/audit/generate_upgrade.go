package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Upgrade periods: an hour a week before the upgrade and an hour after.
var (
	UpgradeBefore = time.Date(2024, 5, 21, 12, 0, 0, 0, time.UTC)
	UpgradeAfter  = time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
)

// GenerateUpgrade writes two Metadata-level audit logs of one hour each
// whose differences are known exactly, for the tests of audit --compare
// and refs --audit (incident 004: "the cluster size is basically the same,
// no upgrades", yet a controller's upgrade had tripled its LISTs).
//
// In both hours, every minute: alice (kubectl, from 192.0.2.10) gets a pod
// (10 ms) and kubelet worker-1 (from node address 10.64.0.11) renews its
// Lease (2 ms); every fifth minute a checker outside the cluster (from
// 198.51.100.7) lists nodes (20 ms). Every third minute nodegroup-controller
// (from pod address 10.67.12.40) lists pods without resourceVersion for
// 100 ms: one LIST before, three in parallel after, so its requests and
// query time triple and its peak in flight goes from 1 to 3. Before only,
// every sixth minute, report-cron creates a Job (5 ms): it is gone after.
// After only, every second minute, deletion-protection lists nodes (50 ms):
// it is new. Both hours span the same stage times.
func GenerateUpgrade(before, after io.Writer) error {
	for _, p := range []struct {
		w     io.Writer
		start time.Time
		after bool
	}{{before, UpgradeBefore, false}, {after, UpgradeAfter, true}} {
		bw := bufio.NewWriter(p.w)
		enc := json.NewEncoder(bw)
		n := 0
		emit := func(at time.Duration, dur time.Duration, user, ua, ip, verb, uri, resource, group, ns, name string) error {
			n++
			ev := upgradeEvent{Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "Metadata",
				AuditID: fmt.Sprintf("%08d-0000-4000-8000-%012d", n, p.start.Unix()), Stage: "ResponseComplete",
				RequestURI: uri, Verb: verb, SourceIPs: []string{ip}, UserAgent: ua,
				ObjectRef: &upgradeRef{Resource: resource, APIGroup: group, Namespace: ns, Name: name, APIVersion: "v1"},
				Status:    upgradeStatus{Metadata: struct{}{}, Code: 200},
				Received:  p.start.Add(at).Format(time.RFC3339Nano), Completed: p.start.Add(at + dur).Format(time.RFC3339Nano)}
			ev.User.Username, ev.User.Groups = user, []string{"system:authenticated"}
			return enc.Encode(&ev)
		}
		for m := range 60 {
			min := time.Duration(m) * time.Minute
			var err error
			add := func(e error) {
				if err == nil {
					err = e
				}
			}
			add(emit(min, 10*time.Millisecond, "alice", "kubectl/v1.30.4 (linux/amd64) kubernetes/a51b3b7", "192.0.2.10",
				"get", "/api/v1/namespaces/team-a/pods/web-0", "pods", "", "team-a", "web-0"))
			add(emit(min+10*time.Second, 2*time.Millisecond, "system:node:worker-1", "kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7", "10.64.0.11",
				"update", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s", "leases", "coordination.k8s.io", "kube-node-lease", "worker-1"))
			if m%5 == 0 {
				add(emit(min+15*time.Second, 20*time.Millisecond, "toolschecker", "toolschecker/0.9 python-requests/2.21.0", "198.51.100.7",
					"list", "/api/v1/nodes", "nodes", "", "", ""))
			}
			if m%3 == 0 {
				parallel := 1
				if p.after {
					parallel = 3
				}
				for i := range parallel {
					add(emit(min+20*time.Second+time.Duration(i)*time.Millisecond, 100*time.Millisecond,
						"system:serviceaccount:nodegroups:nodegroup-controller", "nodegroup-controller/v0.4.0 (linux/amd64)", "10.67.12.40",
						"list", "/api/v1/pods?fieldSelector=spec.nodeName%3Dworker-1", "pods", "", "", ""))
				}
			}
			if !p.after && m%6 == 0 {
				add(emit(min+30*time.Second, 5*time.Millisecond, "system:serviceaccount:ops:report-cron", "report-cron/1.2", "10.67.3.9",
					"create", "/apis/batch/v1/namespaces/ops/jobs", "jobs", "batch", "ops", ""))
			}
			if p.after && m%2 == 0 {
				add(emit(min+40*time.Second, 50*time.Millisecond, "system:serviceaccount:nodegroups:deletion-protection", "deletion-protection/v0.4.0", "10.67.12.41",
					"list", "/api/v1/nodes?labelSelector=nodegroup%3Dng-1", "nodes", "", "", ""))
			}
			if err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

type upgradeEvent struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Level      string `json:"level"`
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	SourceIPs []string      `json:"sourceIPs"`
	UserAgent string        `json:"userAgent"`
	ObjectRef *upgradeRef   `json:"objectRef"`
	Status    upgradeStatus `json:"responseStatus"`
	Received  string        `json:"requestReceivedTimestamp"`
	Completed string        `json:"stageTimestamp"`
}

type upgradeRef struct {
	Resource   string `json:"resource"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	APIGroup   string `json:"apiGroup,omitempty"`
	APIVersion string `json:"apiVersion"`
}

type upgradeStatus struct {
	Metadata struct{} `json:"metadata"`
	Code     int      `json:"code"`
}
