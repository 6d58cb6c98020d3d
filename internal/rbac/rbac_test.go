package rbac

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/snapshot"
)

// deployDir is deploy/rbac, from this package's directory.
var deployDir = filepath.Join("..", "..", "deploy", "rbac")

func TestRules(t *testing.T) {
	podsV2 := snapshot.Pods
	podsV2.Version = "v2"
	tests := []struct {
		name   string
		checks []*check.Check
		want   []rbacv1.PolicyRule
	}{
		{"nothing read", []*check.Check{{ID: "a"}}, nil},
		{
			"groups sorted, core first, resources sorted and merged per group",
			[]*check.Check{
				{ID: "a", Reads: []snapshot.Resource{snapshot.Deployments, snapshot.Pods}},
				{ID: "b", Reads: []snapshot.Resource{snapshot.Nodes}, Optional: []snapshot.Resource{snapshot.DaemonSets}},
			},
			[]rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"nodes", "pods"}, Verbs: []string{"list", "watch"}},
				{APIGroups: []string{"apps"}, Resources: []string{"daemonsets", "deployments"}, Verbs: []string{"list", "watch"}},
			},
		},
		{
			"one grant for a kind at two versions, read by two checks",
			[]*check.Check{
				{ID: "a", Reads: []snapshot.Resource{snapshot.Pods}},
				{ID: "b", Optional: []snapshot.Resource{podsV2}},
			},
			[]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}}},
		},
		{
			"same resource name in two groups is two grants",
			[]*check.Check{{ID: "a", Reads: []snapshot.Resource{snapshot.NetworkPolicies, snapshot.CalicoNetworkPolicies}}},
			[]rbacv1.PolicyRule{
				{APIGroups: []string{"crd.projectcalico.org"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list", "watch"}},
				{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list", "watch"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rules(tt.checks)
			if !equalRules(got, tt.want) {
				t.Errorf("Rules:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestGrantsNameTheChecks(t *testing.T) {
	podsV2 := snapshot.Pods
	podsV2.Version = "v2"
	got := Grants([]*check.Check{
		{ID: "a", Reads: []snapshot.Resource{snapshot.Pods}},
		{ID: "b", Reads: []snapshot.Resource{snapshot.Nodes}},
		{ID: "c", Optional: []snapshot.Resource{podsV2}},
	})
	want := []Grant{{snapshot.Nodes, []string{"b"}}, {snapshot.Pods, []string{"a", "c"}}}
	if len(got) != len(want) {
		t.Fatalf("Grants = %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].Resource.Same(want[i].Resource) || !slices.Equal(got[i].Checks, want[i].Checks) {
			t.Errorf("Grants[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestRenderedRoleParses: the hand-rendered YAML says what Rules says.
func TestRenderedRoleParses(t *testing.T) {
	cs := checks.All()
	files := Manifests(Default, cs)
	role := parseRole(t, ClusterRoleFile, files[ClusterRoleFile])
	if role.Name != Default.Role || !equalRules(role.Rules, Rules(cs)) {
		t.Errorf("clusterrole.yaml parses as %s %+v, want %s %+v", role.Name, role.Rules, Default.Role, Rules(cs))
	}
	measure := parseRole(t, MeasureClusterRoleFile, files[MeasureClusterRoleFile])
	if measure.Name != Default.MeasureRole || !equalRules(measure.Rules, MeasureRules()) {
		t.Errorf("measure-clusterrole.yaml parses as %s %+v", measure.Name, measure.Rules)
	}
	for _, f := range []string{ClusterRoleBindingFile, MeasureClusterRoleBindingFile} {
		var b rbacv1.ClusterRoleBinding
		if err := yaml.UnmarshalStrict(files[f], &b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != Default.ServiceAccount ||
			b.Subjects[0].Namespace != Default.Namespace || b.RoleRef.Kind != "ClusterRole" {
			t.Errorf("%s: %+v", f, b)
		}
	}
}

// TestRoleGrantsEveryRead reads the committed ClusterRole, not the
// generator: it fails when a check reads a kind the shipped role does not
// grant list and watch on.
func TestRoleGrantsEveryRead(t *testing.T) {
	role := readRole(t, ClusterRoleFile)
	missing := map[string][]string{} // "verb resource" -> checks
	var order []string
	for _, c := range checks.All() {
		for _, r := range c.AllReads() {
			for _, verb := range ReadVerbs {
				if !grants(role.Rules, r, verb) {
					k := verb + " " + r.Name()
					if missing[k] == nil {
						order = append(order, k)
					}
					missing[k] = append(missing[k], c.ID)
				}
			}
		}
	}
	for _, k := range order {
		t.Errorf("deploy/rbac/%s does not grant %s, which %s read; regenerate it with: make docs",
			ClusterRoleFile, k, strings.Join(missing[k], ", "))
	}
}

// TestRolesReadOnly: every role in deploy/rbac grants get, list and watch
// only, names every group, resource and URL (no "*"), and the read role
// grants no non-resource URL; the measure role exactly MeasureURLs.
func TestRolesReadOnly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v); generate them with: make docs", deployDir, err)
	}
	roles := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range bytes.Split(data, []byte("\n---\n")) {
			var kind struct{ Kind string }
			if err := yaml.Unmarshal(d, &kind); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if kind.Kind != "ClusterRole" && kind.Kind != "Role" {
				continue
			}
			roles++
			role := parseRole(t, f, d)
			if role.AggregationRule != nil {
				t.Errorf("%s: %s aggregates other roles", f, role.Name)
			}
			for _, r := range role.Rules {
				if bad := readOnlyViolations(r); len(bad) > 0 {
					t.Errorf("%s: role %s rule %+v: %s", f, role.Name, r, strings.Join(bad, "; "))
				}
			}
		}
	}
	if roles < 2 {
		t.Errorf("found %d roles in %s, want the read role and the measure role", roles, deployDir)
	}
	if r := readRole(t, ClusterRoleFile); slices.ContainsFunc(r.Rules, func(p rbacv1.PolicyRule) bool { return len(p.NonResourceURLs) > 0 }) {
		t.Errorf("%s grants non-resource URLs; they belong in the opt-in %s", ClusterRoleFile, MeasureClusterRoleFile)
	}
	m := readRole(t, MeasureClusterRoleFile)
	var urls []string
	for _, r := range m.Rules {
		if len(r.Resources) > 0 || !slices.Equal(r.Verbs, []string{"get"}) {
			t.Errorf("%s: rule %+v, want get on non-resource URLs only", MeasureClusterRoleFile, r)
		}
		urls = append(urls, r.NonResourceURLs...)
	}
	if !slices.Equal(urls, MeasureURLs) {
		t.Errorf("%s grants %v, want exactly %v", MeasureClusterRoleFile, urls, MeasureURLs)
	}
}

func TestReadOnlyViolations(t *testing.T) {
	tests := []struct {
		rule rbacv1.PolicyRule
		bad  int
	}{
		{rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}, 0},
		{rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete"}}, 1},
		{rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"*"}}, 1},
		{rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"list"}}, 2},
		{rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/*"}, Verbs: []string{"list"}}, 1},
		{rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}}, 1},
		{rbacv1.PolicyRule{NonResourceURLs: []string{"/debug/*"}, Verbs: []string{"get"}}, 1},
		{rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}, 0},
		{rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"*"}, Verbs: []string{"get"}}, 1},
	}
	for _, tt := range tests {
		if got := readOnlyViolations(tt.rule); len(got) != tt.bad {
			t.Errorf("readOnlyViolations(%+v) = %q, want %d", tt.rule, got, tt.bad)
		}
	}
}

// readOnlyViolations says what in r is more than reading named things.
func readOnlyViolations(r rbacv1.PolicyRule) []string {
	var bad []string
	for _, v := range r.Verbs {
		if !slices.Contains(AllowedVerbs, v) {
			bad = append(bad, "verb "+v)
		}
	}
	for _, field := range [][]string{r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs} {
		for _, v := range field {
			if strings.Contains(v, "*") {
				bad = append(bad, "wildcard "+v)
			}
		}
	}
	for _, res := range r.Resources {
		// A subresource (pods/exec, pods/log, serviceaccounts/token) is an
		// action or another object's data, never what a check reads.
		if strings.Contains(res, "/") && !strings.Contains(res, "*") {
			bad = append(bad, "subresource "+res)
		}
	}
	return bad
}

// grants reports whether rules allow verb on every object of r.
func grants(rules []rbacv1.PolicyRule, r snapshot.Resource, verb string) bool {
	return slices.ContainsFunc(rules, func(p rbacv1.PolicyRule) bool {
		return slices.Contains(p.APIGroups, r.Group) && slices.Contains(p.Resources, r.Resource) &&
			slices.Contains(p.Verbs, verb) && len(p.ResourceNames) == 0
	})
}

func readRole(t *testing.T, name string) rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatalf("%v; generate it with: make docs", err)
	}
	return parseRole(t, name, data)
}

func parseRole(t *testing.T, name string, data []byte) rbacv1.ClusterRole {
	t.Helper()
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return role
}

func equalRules(a, b []rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y rbacv1.PolicyRule) bool {
		return slices.Equal(x.APIGroups, y.APIGroups) && slices.Equal(x.Resources, y.Resources) &&
			slices.Equal(x.Verbs, y.Verbs) && slices.Equal(x.NonResourceURLs, y.NonResourceURLs) &&
			slices.Equal(x.ResourceNames, y.ResourceNames)
	})
}
