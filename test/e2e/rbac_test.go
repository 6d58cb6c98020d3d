package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/rbac"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// TestRBACRoles applies the generated RBAC (deploy/rbac, under names of
// this test's own) to the lab and proves it is enough and no more: a scan
// of every check as the ServiceAccount reads every kind it needs (the only
// 403s are the object counts of kinds no check reads), every granted kind
// can be listed and watched (the agent's informers), writes, GETs and
// other URLs are refused, and the opt-in measure role opens /metrics and
// the APF dump and nothing else.
func TestRBACRoles(t *testing.T) {
	ctx := context.Background()
	names := rbac.Names{Namespace: "premortem-rbac-e2e", ServiceAccount: "agent", Role: "premortem-rbac-e2e", MeasureRole: "premortem-rbac-e2e-measure"}
	files := rbac.Manifests(names, checks.All())
	for _, f := range []string{rbac.NamespaceFile, rbac.ServiceAccountFile, rbac.ClusterRoleFile, rbac.ClusterRoleBindingFile} {
		create(t, ctx, f, files[f])
	}
	user := "system:serviceaccount:" + names.Namespace + ":" + names.ServiceAccount
	kubeconfig, err := cluster.UserKubeconfig(user, "system:serviceaccounts", "system:serviceaccounts:"+names.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC reaches the authorizer through its informers: wait for the role.
	waitFor(t, "the read role in force", func() bool {
		_, err := sa.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil
	})

	t.Run("scan reads everything", func(t *testing.T) {
		offset := auditSize(t)
		code, out, stderr := premortemCLI(t, "scan", "--kubeconfig", kubeconfig, "-o", "json")
		if code == cli.ExitError {
			t.Fatalf("scan: exit %d: %s", code, stderr)
		}
		var res struct {
			Info struct {
				Skipped []json.RawMessage `json:"skipped"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Info.Skipped) > 0 {
			t.Errorf("kinds not read under the generated role: %s", res.Info.Skipped)
		}
		granted := map[string]bool{}
		for _, g := range rbac.Grants(checks.All()) {
			granted[g.Resource.Resource+"."+g.Resource.Group] = true
		}
		lists := 0
		for _, ev := range auditlog.Since(t, cluster.AuditLog, offset, "premortem/") {
			if ev.User.Username != user {
				continue
			}
			if ev.Verb == "list" {
				lists++
			}
			if ev.ResponseStatus == nil || ev.ResponseStatus.Code != http.StatusForbidden {
				continue
			}
			// Counting every served kind (object-count-thresholds) is the
			// one read the role does not cover, and needs not: limit=1.
			if ev.Verb != "list" || granted[ev.Kind()] || !strings.Contains(ev.RequestURI, "limit=1&") && !strings.HasSuffix(ev.RequestURI, "limit=1") {
				t.Errorf("403 for the scan: %s %s", ev.Verb, ev.RequestURI)
			}
		}
		if lists == 0 {
			t.Fatal("no LIST by the ServiceAccount in the audit log")
		}
	})

	t.Run("list and watch every granted kind", func(t *testing.T) {
		md, err := metadata.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range rbac.Grants(checks.All()) {
			r := g.Resource
			res := md.Resource(schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource})
			_, err := res.List(ctx, metav1.ListOptions{Limit: 1})
			if apierrors.IsNotFound(err) {
				continue // not served by the lab (Calico's kinds)
			}
			if err != nil {
				t.Errorf("list %s: %v", r.Name(), err)
			}
			timeout := int64(1)
			w, err := res.Watch(ctx, metav1.ListOptions{TimeoutSeconds: &timeout})
			if err != nil {
				t.Errorf("watch %s: %v", r.Name(), err)
				continue
			}
			w.Stop()
		}
	})

	t.Run("read only", func(t *testing.T) {
		_, err := sa.CoreV1().ConfigMaps(names.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		wantForbidden(t, "create configmap", err)
		_, err = sa.CoreV1().Secrets("kube-system").Get(ctx, "anything", metav1.GetOptions{})
		wantForbidden(t, "get secret", err)
		err = sa.CoreV1().Pods("kube-system").Delete(ctx, "anything", metav1.DeleteOptions{})
		wantForbidden(t, "delete pod", err)
		for _, path := range append(slices.Clone(rbac.MeasureURLs), "/debug/pprof/") {
			_, err := sa.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
			wantForbidden(t, "GET "+path+" without the measure role", err)
		}
	})

	t.Run("measure role", func(t *testing.T) {
		for _, f := range []string{rbac.MeasureClusterRoleFile, rbac.MeasureClusterRoleBindingFile} {
			create(t, ctx, f, files[f])
		}
		get := func(path string) error {
			_, err := sa.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
			return err
		}
		waitFor(t, "the measure role in force", func() bool { return get(rbac.MeasureURLs[0]) == nil })
		for _, path := range rbac.MeasureURLs {
			if err := get(path); err != nil {
				t.Errorf("GET %s with the measure role: %v", path, err)
			}
		}
		for _, path := range []string{"/debug/pprof/", "/debug/api_priority_and_fairness/dump_requests", "/logs/"} {
			wantForbidden(t, "GET "+path+" with the measure role", get(path))
		}
	})
}

// create creates the objects of one generated manifest with the admin client.
func create(t *testing.T, ctx context.Context, name string, data []byte) {
	t.Helper()
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c := cluster.Client
	var err error
	switch meta.Kind {
	case "Namespace":
		var o corev1.Namespace
		if err = yaml.UnmarshalStrict(data, &o); err == nil {
			_, err = c.CoreV1().Namespaces().Create(ctx, &o, metav1.CreateOptions{})
		}
	case "ServiceAccount":
		var o corev1.ServiceAccount
		if err = yaml.UnmarshalStrict(data, &o); err == nil {
			_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
		}
	case "ClusterRole":
		var o rbacv1.ClusterRole
		if err = yaml.UnmarshalStrict(data, &o); err == nil {
			_, err = c.RbacV1().ClusterRoles().Create(ctx, &o, metav1.CreateOptions{})
		}
	case "ClusterRoleBinding":
		var o rbacv1.ClusterRoleBinding
		if err = yaml.UnmarshalStrict(data, &o); err == nil {
			_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, &o, metav1.CreateOptions{})
		}
	default:
		t.Fatalf("%s: unexpected kind %q", name, meta.Kind)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: got %v, want forbidden", what, err)
	}
}
