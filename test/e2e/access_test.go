package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/cli"
)

const accessIDs = "cluster-wide-node-agent,hardcoded-apiserver-address,apiserver-endpoints-mismatch,apf-shared-priority-level,apiserver-cert-names"

// scanAccess runs a whole scan (every check, as a user would).
func scanAccess(t *testing.T, args ...string) *check.Result {
	t.Helper()
	args = append([]string{"scan", "-o", "json"}, args...)
	code, out, stderr := premortemCLI(t, args...)
	if code == cli.ExitError {
		t.Fatalf("scan: exit %d\n%s", code, stderr)
	}
	var res check.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("scan output: %v\n%s", err, out)
	}
	for _, n := range res.NotRun {
		t.Logf("not run: %s: %s", n.ID, n.Reason)
		if strings.Contains(accessIDs, n.ID) {
			t.Errorf("access check %s did not run: %s", n.ID, n.Reason)
		}
	}
	return &res
}

// findFinding returns the finding of check id whose objects include o.
func findFinding(res *check.Result, id, o string) *check.Finding {
	for i, f := range res.Findings {
		if f.ID != id {
			continue
		}
		for _, obj := range f.Objects {
			if obj.String() == o {
				return &res.Findings[i]
			}
		}
	}
	return nil
}

// heavyAgent creates, in its own namespace, a DaemonSet whose ServiceAccount
// may watch every pod and a FlowSchema that serves it at workload-high, the
// level of kube-controller-manager (apf-shared-priority-level).
func heavyAgent(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c := cluster.Client
	const ns, name = "e2e-access", "heavy-agent"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must(err)
	_, err = c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	must(err)
	_, err = c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}}}}, metav1.CreateOptions{})
	must(err)
	_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: ns + "-" + name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}}}, metav1.CreateOptions{})
	must(err)
	_, err = c.FlowcontrolV1().FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-high"},
			MatchingPrecedence:         850,
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount,
					ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: ns, Name: name}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"},
					ClusterScope: true, Namespaces: []string{"*"}}},
			}},
		}}, metav1.CreateOptions{})
	must(err)
	labels := map[string]string{"app": name}
	_, err = c.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				ServiceAccountName: name, Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				Containers: []corev1.Container{{Name: "agent", Image: "example.org/agent:1"}}}}}}, metav1.CreateOptions{})
	must(err)
	// Other tests compare scans taken moments apart: remove what was
	// created and wait until it is gone. The namespace stays (empty): in
	// this lab a deleted namespace stays Terminating (scenario 004) and
	// would show up in other checks.
	t.Cleanup(func() {
		ctx := context.Background()
		_ = c.FlowcontrolV1().FlowSchemas().Delete(ctx, ns+"-"+name, metav1.DeleteOptions{})
		_ = c.RbacV1().ClusterRoleBindings().Delete(ctx, ns+"-"+name, metav1.DeleteOptions{})
		_ = c.RbacV1().ClusterRoles().Delete(ctx, ns+"-"+name, metav1.DeleteOptions{})
		_ = c.CoreV1().ServiceAccounts(ns).Delete(ctx, name, metav1.DeleteOptions{})
		background := metav1.DeletePropagationBackground
		_ = c.AppsV1().DaemonSets(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
		// Pods on a node whose runtime is down (scenario 004) are never
		// confirmed gone by their kubelet: delete them at once.
		zero := int64(0)
		waitFor(t, "the heavy agent's DaemonSet and pods to be deleted", func() bool {
			_, err := c.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
			pods, perr := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if perr != nil {
				return false
			}
			for _, p := range pods.Items {
				_ = c.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			}
			return apierrors.IsNotFound(err) && len(pods.Items) == 0
		})
	})
}

// TestAccessChecks is incidents 000 and 002 in the lab: scan reports the
// per-node collector that may watch every pod, the ConfigMap that carries
// the lab API server's literal address, the name missing from the serving
// certificate, the kubernetes Service without endpoints, and a heavy agent
// in the controllers' priority level; and a scan of a saved snapshot (which
// records the certificate) reports the same.
func TestAccessChecks(t *testing.T) {
	heavyAgent(t)
	server, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	live := scanAccess(t, "--kubeconfig", cluster.Kubeconfig)
	for _, f := range live.Findings {
		if strings.Contains(accessIDs, f.ID) {
			t.Logf("%s %s %v: %s", f.Severity, f.ID, f.Objects, f.Title)
		}
	}

	f := findFinding(live, "cluster-wide-node-agent", "DaemonSet observability/otel-collector")
	if f == nil || f.Severity != check.High || !strings.Contains(f.Title, "pods") {
		t.Errorf("cluster-wide-node-agent: want a high finding for the otel-collector DaemonSet watching pods, got %+v", f)
	}

	f = findFinding(live, "hardcoded-apiserver-address", "ConfigMap observability/otel-collector-config")
	switch {
	case f == nil:
		t.Error("hardcoded-apiserver-address: no finding names ConfigMap observability/otel-collector-config")
	case f.Objects[0].String() != "DaemonSet observability/otel-collector" || f.Severity != check.High:
		t.Errorf("hardcoded-apiserver-address: %s %v, want high for the DaemonSet and its ConfigMap", f.Severity, f.Objects)
	default:
		ev, _ := json.Marshal(f.Evidence)
		// The lab's own API server (current) and the legacy one (gone).
		for _, want := range []string{
			fmt.Sprintf(`{"address":%q,"currentAPIServer":true`, server.Hostname()),
			`{"address":"10.64.0.117","currentAPIServer":false`,
		} {
			if !strings.Contains(string(ev), want) {
				t.Errorf("hardcoded-apiserver-address evidence lacks %s: %s", want, ev)
			}
		}
	}
	if f := findFinding(live, "hardcoded-apiserver-address", "Deployment tool-checker/toolschecker"); f == nil || !strings.Contains(f.Title, removedName) {
		t.Errorf("hardcoded-apiserver-address: want the toolschecker Deployment and %s, got %+v", removedName, f)
	}

	var cert *check.Finding
	for i, f := range live.Findings {
		if f.ID == "apiserver-cert-names" && strings.Contains(f.Title, "does not cover "+removedName) {
			cert = &live.Findings[i]
		}
	}
	if cert == nil {
		t.Errorf("apiserver-cert-names: no finding for %s", removedName)
	} else if !strings.Contains(cert.Message, "kubeconfig in ConfigMap tool-checker/checker-kubeconfig") {
		t.Errorf("apiserver-cert-names: %s does not say where the name is used", cert.Message)
	}

	// --endpoint-reconciler-type=none: one API server, no endpoints.
	if f := findFinding(live, "apiserver-endpoints-mismatch", "Service default/kubernetes"); f == nil || !strings.Contains(f.Title, "has no endpoints") {
		t.Errorf("apiserver-endpoints-mismatch: want the lab's empty kubernetes endpoints, got %+v", f)
	}

	if f := findFinding(live, "apf-shared-priority-level", "ServiceAccount e2e-access/heavy-agent"); f == nil ||
		!strings.Contains(f.Title, "workload-high") || !strings.Contains(f.Title, "kube-controller-manager") {
		t.Errorf("apf-shared-priority-level: want the heavy agent sharing workload-high with kube-controller-manager, got %+v", f)
	}
	if f := findFinding(live, "apf-shared-priority-level", "ServiceAccount observability/otel-collector"); f != nil {
		t.Errorf("apf-shared-priority-level: otel-collector is in workload-low, got %s", f.Title)
	}

	// Offline: the snapshot records the serving certificate; the same
	// findings come back.
	path := filepath.Join(t.TempDir(), "lab.json")
	if code, _, stderr := premortemCLI(t, "snapshot", "save", "--kubeconfig", cluster.Kubeconfig, path); code == cli.ExitError {
		t.Fatalf("snapshot save: %s", stderr)
	}
	offline := scanAccess(t, "--snapshot", path)
	// (Compared by check and objects: the heavy agent's DaemonSet may have
	// been scheduled on more nodes in between.)
	key := func(f check.Finding) string { return fmt.Sprint(f.ID, f.Objects) }
	for _, f := range live.Findings {
		if !strings.Contains(accessIDs, f.ID) {
			continue
		}
		found := false
		for _, g := range offline.Findings {
			found = found || key(g) == key(f)
		}
		if !found {
			t.Errorf("offline scan lacks %s: %s", f.ID, f.Title)
		}
	}
}
