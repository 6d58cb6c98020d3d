package rbac

import "github.com/premortem/premortem/internal/check"

// ChartClusterRoleFile is the Helm chart's ClusterRole template, relative
// to the chart's directory (deploy/helm/premortem): generated with
// deploy/rbac, the same rules under the release's name.
const ChartClusterRoleFile = "templates/clusterrole.yaml"

// ChartClusterRole renders the chart's ClusterRole template: the read
// role's rules (as in clusterrole.yaml) with Helm's name and labels.
func ChartClusterRole(cs []*check.Check) []byte {
	return doc(
		"# premortem's read-only ClusterRole, as deploy/rbac/clusterrole.yaml: list\n"+
			"# and watch of every kind its checks read, nothing else. See docs/agent.md.",
		"apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole",
		"metadata:\n  name: {{ include \"premortem.fullname\" . }}\n  labels:\n    {{- include \"premortem.labels\" . | nindent 4 }}\n",
		"rules:\n"+readRules(cs))
}
