// Package etcd checks what the cluster stores: objects near the size etcd
// accepts, revisions and records that pile up, and churn nothing bounds.
package etcd

import (
	"github.com/premortem/premortem/internal/check"
)

// All are the package's checks, in catalog order.
var All = []*check.Check{ConfigMapNearSizeLimit, ReplicaSetHistory, HelmReleaseHistory, ChurnWithoutQuota}

// helmRecord returns the release a Helm release record belongs to, from
// its labels: Helm 3 labels owner=helm, name=<release>; Helm 2's Tiller
// OWNER=TILLER, NAME=<release>.
func helmRecord(labels map[string]string) (string, bool) {
	if labels["owner"] == "helm" && labels["name"] != "" {
		return labels["name"], true
	}
	if labels["OWNER"] == "TILLER" && labels["NAME"] != "" {
		return labels["NAME"], true
	}
	return "", false
}

// verb agrees a verb with a count: verb(1, "keeps", "keep").
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
