// Package restart plans and runs a cluster-wide rolling restart that cannot
// take the network down (incident 003): application workloads first, in
// waves; then critical workloads one at a time, servers before their
// clients, each gated on what made the incident possible.
//
// The planner (Plan) is a pure function of a *snapshot.Snapshot; the
// executor (Execute) is the only part that talks to a cluster.
package restart

import (
	"fmt"
	"strings"

	"github.com/premortem/premortem/internal/workload"
)

// Kind is a workload kind premortem restarts, lower case as in an ID.
type Kind string

// The kinds a rollout restart applies to.
const (
	Deployment  Kind = "deployment"
	StatefulSet Kind = "statefulset"
	DaemonSet   Kind = "daemonset"
)

// Kinds lists every restartable kind in the order the plan prints them.
var Kinds = []Kind{Deployment, StatefulSet, DaemonSet}

// ParseKind accepts the names kubectl accepts for the three kinds.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "deployment", "deployments", "deploy", "deployment.apps":
		return Deployment, nil
	case "statefulset", "statefulsets", "sts", "statefulset.apps":
		return StatefulSet, nil
	case "daemonset", "daemonsets", "ds", "daemonset.apps":
		return DaemonSet, nil
	}
	return "", fmt.Errorf("unknown kind %q (want deployment, statefulset or daemonset)", s)
}

// Ref names one workload. Its String form, kind/namespace/name, is the ID
// that --force takes.
type Ref struct {
	Kind      Kind   `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r Ref) String() string { return string(r.Kind) + "/" + r.Namespace + "/" + r.Name }

// ParseRef parses kind/namespace/name.
func ParseRef(s string) (Ref, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return Ref{}, fmt.Errorf("%q: want kind/namespace/name, e.g. deployment/kube-system/calico-typha", s)
	}
	k, err := ParseKind(parts[0])
	if err != nil {
		return Ref{}, fmt.Errorf("%q: %w", s, err)
	}
	return Ref{Kind: k, Namespace: parts[1], Name: parts[2]}, nil
}

// target is a workload in the plan: its view and its ID.
type target struct {
	ref Ref
	workload.Workload
}

func newTarget(k Kind, w workload.Workload) target {
	return target{ref: Ref{Kind: k, Namespace: w.Meta.Namespace, Name: w.Meta.Name}, Workload: w}
}
