package fanout_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/premortem/premortem/internal/audit"
	"github.com/premortem/premortem/internal/cli"
)

const (
	namespace = "fanout"
	backendSA = "nodegroup-webhook"
	// listsPerDelete is what the backend lists for each DELETE: the known
	// answer.
	listsPerDelete = 6
	deletes        = 5
)

// TestWebhookFanOutInAuditLog: a validating webhook on ConfigMap DELETE
// whose backend, as its own ServiceAccount, lists the pods of five nodes in
// parallel without resourceVersion on each call; a mutating webhook on the
// same DELETEs that lists nothing but names itself in the audit event.
// After five deletions premortem audit, reading the lab's audit log,
// reports the backend with five bursts of six LISTs, the deleting user and
// the mutating webhook.
func TestWebhookFanOutInAuditLog(t *testing.T) {
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
	ctx := context.Background()
	c := cluster.Client
	user := "system:serviceaccount:" + namespace + ":" + backendSA
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: backendSA},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"list"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: backendSA},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: backendSA},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: backendSA}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := cluster.UserKubeconfig(user, "system:serviceaccounts", "system:serviceaccounts:"+namespace)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	backend, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	caPEM, url := serveWebhooks(t, func(ctx context.Context) error {
		// The node group's nodes by label, then the pods of each node, in
		// parallel: incident 004's deletion protection.
		if _, err := backend.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "nodegroup=ng-1"}); err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, listsPerDelete)
		for i := range listsPerDelete - 1 {
			wg.Go(func() {
				_, err := backend.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fmt.Sprintf("spec.nodeName=ng-1-worker-%d", i)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	timeout := int32(10)
	rules := []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"fanout-test": "yes"}}
	validate, mutate := url+"/validate", url+"/mutate"
	if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "nodegroup-protection"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "protect.fanout.example.com", AdmissionReviewVersions: []string{"v1"},
			SideEffects: &none, FailurePolicy: &fail, TimeoutSeconds: &timeout, Rules: rules, ObjectSelector: selector,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &validate, CABundle: caPEM}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "fanout-audit"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mutate.fanout.example.com", AdmissionReviewVersions: []string{"v1"},
			SideEffects: &none, FailurePolicy: &fail, TimeoutSeconds: &timeout, Rules: rules, ObjectSelector: selector,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &mutate, CABundle: caPEM}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for i := range deletes {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("nodegroup-%d", i), Labels: map[string]string{"fanout-test": "yes"}}}
		if _, err := c.CoreV1().ConfigMaps(namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The webhook configurations take effect once the API server's
	// informer has them: the first deletes may pass unadmitted. Retry a
	// canary until both webhooks are called, then delete the five.
	canary := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"fanout-test": "yes"}}}
	for start := time.Now(); ; {
		canary.Name = fmt.Sprintf("canary-%d", time.Now().UnixNano())
		if _, err := c.CoreV1().ConfigMaps(namespace).Create(ctx, canary, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		v, m := validated.Load(), mutated.Load()
		if err := c.CoreV1().ConfigMaps(namespace).Delete(ctx, canary.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if validated.Load() > v && mutated.Load() > m {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the webhooks were never called")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := range deletes {
		if err := c.CoreV1().ConfigMaps(namespace).Delete(ctx, fmt.Sprintf("nodegroup-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var out, errOut bytes.Buffer
	code := cli.Run(ctx, []string{"audit", cluster.AuditLog, "-o", "json"}, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != cli.ExitOK {
		t.Fatalf("premortem audit: exit %d: %s", code, errOut.String())
	}
	var r audit.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	// Canaries were deleted too, some before the webhooks were live: the
	// rows are of the mutating webhook's annotated DELETEs.
	i := slices.IndexFunc(r.FanOut, func(f audit.FanOut) bool {
		return f.User == user && slices.Contains(f.Webhooks, "fanout-audit/mutate.fanout.example.com")
	})
	if i < 0 {
		t.Fatalf("no fan-out row for %s through the mutating webhook: %+v", user, r.FanOut)
	}
	f := r.FanOut[i]
	if f.Trigger != "delete configmaps" || f.FanOutFactor != listsPerDelete || f.MaxBurst != listsPerDelete || f.Bursts < deletes ||
		f.Bursts != f.Deletes || f.MayReadEtcd != f.Lists {
		t.Errorf("row %+v: want every one of at least %d annotated DELETEs of configmaps followed by %d LISTs that may read etcd",
			f, deletes, listsPerDelete)
	}
	if len(f.Listed) != 2 || f.Listed[0] != (audit.NamedCount{Name: "pods", Requests: f.Bursts * (listsPerDelete - 1)}) {
		t.Errorf("listed %+v, want pods x%d then nodes", f.Listed, f.Bursts*(listsPerDelete-1))
	}
	if len(f.Deleters) != 1 || !strings.Contains(f.Deleters[0].Name, "admin") {
		t.Errorf("deleters %+v, want the lab's admin", f.Deleters)
	}
	t.Logf("fan-out: %+v", f)
}

// validated and mutated count the calls to each webhook.
var validated, mutated atomic.Int64

// serveWebhooks serves /validate, which runs lists before allowing, and
// /mutate, which allows, over TLS on loopback; it returns the CA bundle
// and the base URL.
func serveWebhooks(t *testing.T, lists func(context.Context) error) ([]byte, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fanout-webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	review := func(w http.ResponseWriter, r *http.Request, run func(context.Context) error) {
		var ar admissionv1.AdmissionReview
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&ar); err != nil || ar.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: ar.Request.UID, Allowed: true}
		if err := run(r.Context()); err != nil {
			resp.Allowed, resp.Result = false, &metav1.Status{Message: err.Error()}
		}
		ar.Request, ar.Response = nil, resp
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&ar)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) {
		validated.Add(1)
		review(w, r, lists)
	})
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		mutated.Add(1)
		review(w, r, func(context.Context) error { return nil })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), "https://" + ln.Addr().String()
}
