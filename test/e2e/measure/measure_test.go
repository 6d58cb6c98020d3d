package measure_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/cli"
	"github.com/premortem/premortem/internal/measure"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// premortem runs the CLI in-process and returns its exit code, stdout and
// stderr.
func premortem(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func decode(t *testing.T, out string) *measure.Report {
	t.Helper()
	var r measure.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	return &r
}

// auditVerb is the verb apiserver_request_total gives a request the audit
// log names by its Kubernetes verb.
var auditVerb = map[string]string{"create": "POST", "list": "LIST", "get": "GET", "update": "PUT", "patch": "PATCH",
	"delete": "DELETE", "deletecollection": "DELETE", "watch": "WATCH"}

// TestCommandCountsMatchAuditLog: measure the command that creates 300
// ConfigMaps and lists all pods 50 times. The requests the report counts
// from /metrics are what the audit log holds for the window, within 5%;
// CPU and egress grew.
func TestCommandCountsMatchAuditLog(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	c := cluster.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: loadNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: loadNamespace},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
		if _, err := c.CoreV1().Pods(loadNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(loadEnv, "1")
	t.Setenv("KUBECONFIG", cluster.Kubeconfig)
	offset := auditlog.Size(t, cluster.AuditLog)
	code, out, errOut := premortem(ctx, "measure", "--kubeconfig", cluster.Kubeconfig, "--settle", "2s", "-o", "json", "--", self, "-test.run=^$")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, errOut, out)
	}
	r := decode(t, out)
	if len(r.Servers) != 1 || !r.Servers[0].MetricsRead || r.Servers[0].SamplesTaken == 0 {
		t.Fatalf("want one server read and sampled: %+v", r.Servers)
	}
	s := r.Servers[0]
	t.Logf("window %.1f s: %d requests, %.2f CPU s, %.0f egress bytes, %d samples", r.Seconds, s.RequestsTotal, s.CPUSeconds, s.EgressBytes, s.SamplesTaken)
	if s.CPUSeconds <= 0 || s.EgressBytes <= 0 || s.ResponseBytes <= 0 {
		t.Errorf("CPU %.3f s, egress %.0f bytes (responses %.0f): want both > 0", s.CPUSeconds, s.EgressBytes, s.ResponseBytes)
	}

	// The audit log's requests received in the window, as /metrics counts
	// them: resource requests but WATCHes, which both count when they end,
	// not when they begin.
	audited := map[[2]string]int{}
	auditTotal := 0
	for _, ev := range auditlog.Since(t, cluster.AuditLog, offset, "") {
		if ev.ObjectRef == nil || ev.Verb == "watch" || ev.Received.Time.Before(r.Start) || ev.Received.Time.After(r.End) {
			continue
		}
		res := ev.ObjectRef.Resource
		if ev.ObjectRef.APIGroup != "" {
			res += "." + ev.ObjectRef.APIGroup
		}
		audited[[2]string{auditVerb[ev.Verb], res}]++
		auditTotal++
	}
	measured := map[[2]string]int64{}
	var measuredTotal int64
	for _, row := range s.Requests {
		if strings.HasPrefix(row.Resource, "/") || row.Verb == "WATCH" {
			continue
		}
		verb := row.Verb
		if verb == "APPLY" {
			verb = "PATCH"
		}
		res, _, _ := strings.Cut(row.Resource, "/")
		measured[[2]string{verb, res}] += row.Requests
		measuredTotal += row.Requests
	}
	for _, k := range [][2]string{{"POST", "configmaps"}, {"LIST", "pods"}} {
		want := map[string]int{"configmaps": loadConfigMaps, "pods": loadPodLists}[k[1]]
		if audited[k] < want || measured[k] < int64(want) {
			t.Errorf("%s %s: audit log %d, measure %d, want at least the command's %d", k[0], k[1], audited[k], measured[k], want)
		}
		if !within(float64(measured[k]), float64(audited[k]), 0.05) {
			t.Errorf("%s %s: measure %d, audit log %d: more than 5%% apart", k[0], k[1], measured[k], audited[k])
		}
	}
	t.Logf("resource requests but WATCH: measure %d, audit log %d", measuredTotal, auditTotal)
	if !within(float64(measuredTotal), float64(auditTotal), 0.05) {
		t.Errorf("measure counts %d resource requests, the audit log %d: more than 5%% apart\nmeasure: %v\naudit: %v", measuredTotal, auditTotal, measured, audited)
	}

	// A command that fails: the report is still written, then exit 2.
	code, out, errOut = premortem(ctx, "measure", "--kubeconfig", cluster.Kubeconfig, "--settle", "0s", "-o", "json", "--", "false")
	if r := decode(t, out); code != cli.ExitError || r.CommandError == "" || !strings.Contains(errOut, "false: exit status 1") {
		t.Errorf("failing command: exit %d, commandError %q\n%s", code, r.CommandError, errOut)
	}

	// The same window as a table: it names the rows.
	if code, out, _ := premortem(ctx, "measure", "--kubeconfig", cluster.Kubeconfig, "--duration", "2s"); code != cli.ExitOK || !strings.Contains(out, "N-1 headroom (an estimate)") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

func within(a, b, frac float64) bool {
	return math.Abs(a-b) <= frac*math.Max(a, b)
}

// TestBurstShowsInThePeak: a 2-second burst of 100 parallel consistent
// LISTs from one user (priority level global-default) inside a 60 s window
// shows in the 1 s peak, and the window's mean is at least 5 times lower.
func TestBurstShowsInThePeak(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	burst := burstClient(t)
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := premortem(ctx, "measure", "--kubeconfig", cluster.Kubeconfig, "--duration", "60s", "-o", "json")
		done <- result{code, out, errOut}
	}()
	time.Sleep(20 * time.Second)
	burstLists(t, burst)
	res := <-done
	if res.code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.err, res.out)
	}
	r := decode(t, res.out)
	s := r.Servers[0]
	var level *measure.Level
	for i := range s.Levels {
		if s.Levels[i].Name == "global-default" {
			level = &s.Levels[i]
		}
	}
	if level == nil {
		t.Fatalf("no global-default level in %+v", s.Levels)
	}
	t.Logf("global-default: peak %d, mean %.2f, p99 %d, waiting peak %d, %.0f s at the limit of %.0f→%.0f seats; all levels but exempt: peak %d, mean %.2f; %d samples, %d failed",
		level.Executing.Peak, level.Executing.Mean, level.Executing.P99, level.Waiting.Peak, level.SecondsAtLimit, level.LimitSeatsStart, level.LimitSeats,
		s.Executing.Peak, s.Executing.Mean, s.SamplesTaken, s.SamplesFailed)
	if level.Executing.Peak < 10 {
		t.Errorf("peak executing %d: the burst of 100 parallel LISTs does not show at 1 s", level.Executing.Peak)
	}
	if level.Executing.Mean*5 > float64(level.Executing.Peak) {
		t.Errorf("mean %.2f is not 5 times lower than the peak %d", level.Executing.Mean, level.Executing.Peak)
	}
	if r.Seconds < 59 || s.SamplesTaken < 50 {
		t.Errorf("window %.1f s with %d samples: want about 60 of 1 s", r.Seconds, s.SamplesTaken)
	}
}

const burstNamespace, burstUser = "measure-burst", "burst-user"

var (
	burstOnce  sync.Once
	burstSetup error
)

// burstClient returns a client of burstUser, who may list the 1,000
// ConfigMaps of 2 KB in burstNamespace (created once): LISTs that take long
// enough to overlap, in priority level global-default.
func burstClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	burstOnce.Do(func() { burstSetup = setupBurst(context.Background()) })
	if burstSetup != nil {
		t.Fatal(burstSetup)
	}
	kubeconfig, err := cluster.UserKubeconfig(burstUser)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst, cfg.UserAgent = -1, 0, "measure-e2e-burst"
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setupBurst(ctx context.Context) error {
	c := cluster.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: burstNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	data := strings.Repeat("x", 2048)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 10 {
		wg.Go(func() {
			for i := w; i < 1000; i += 10 {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i)}, Data: map[string]string{"d": data}}
				if _, err := c.CoreV1().ConfigMaps(burstNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "list-configmaps", Namespace: burstNamespace},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}}}
	if _, err := c.RbacV1().Roles(burstNamespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return err
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "list-configmaps", Namespace: burstNamespace},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: burstUser}}}
	_, err := c.RbacV1().RoleBindings(burstNamespace).Create(ctx, binding, metav1.CreateOptions{})
	return err
}

// burstLists sends consistent LISTs (no resourceVersion) from 100
// goroutines for 2 seconds.
func burstLists(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	var lists sync.WaitGroup
	var mu sync.Mutex
	var listErr error
	end := time.Now().Add(2 * time.Second)
	for range 100 {
		lists.Go(func() {
			for time.Now().Before(end) {
				if _, err := c.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/" + burstNamespace + "/configmaps").DoRaw(context.Background()); err != nil {
					mu.Lock()
					listErr = err
					mu.Unlock()
				}
			}
		})
	}
	lists.Wait()
	if listErr != nil {
		t.Logf("a burst LIST failed (the burst may be throttled): %v", listErr)
	}
}

// TestWithoutPermission: a user who may not read /metrics nor the APF
// dump gets exit 3 and the names of what was not read; bound to the
// shipped measure role (deploy/rbac) the same user reads everything.
func TestWithoutPermission(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	const user = "measure-user"
	kubeconfig, err := cluster.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := premortem(ctx, "measure", "--kubeconfig", kubeconfig, "--duration", "2s", "-o", "json")
	if code != cli.ExitIncomplete {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, cli.ExitIncomplete, errOut, out)
	}
	for _, want := range []string{"/metrics not read", measure.DumpPath + " not read", "403", "EndpointSlices of Service default/kubernetes"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not name %q:\n%s", want, errOut)
		}
	}
	if r := decode(t, out); len(r.NotRead) < 3 {
		t.Errorf("report's notRead: %q", r.NotRead)
	}

	// The shipped role, bound to the same user.
	data, err := os.ReadFile("../../../deploy/rbac/measure-clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "measure-user"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	if _, err := cluster.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = premortem(ctx, "measure", "--kubeconfig", kubeconfig, "--duration", "2s", "-o", "json")
	r := decode(t, out)
	t.Logf("with %s: exit %d, not read %q", role.Name, code, r.NotRead)
	for _, n := range r.NotRead {
		if strings.Contains(n, "/metrics") || strings.Contains(n, measure.DumpPath) {
			t.Errorf("with the measure role, still not read: %s", n)
		}
	}
	if !r.Servers[0].MetricsRead || r.Servers[0].SamplesTaken == 0 {
		t.Errorf("with the measure role: metrics read %v, %d samples\n%s", r.Servers[0].MetricsRead, r.Servers[0].SamplesTaken, errOut)
	}
}

// TestDiscoveryReadsEachServerByAddress: the kubeconfig names the server
// "localhost" and the default/kubernetes EndpointSlice lists an address of
// it (a forwarder on this host's own address: the API server refuses
// loopback endpoints). measure reads the address, not the name in front of
// it, and keeps the name for TLS: the certificate is verified against
// "localhost", which the address is not in.
func TestDiscoveryReadsEachServerByAddress(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	u, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	addr := forward(t, u.Host)
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("https"), Port: ptr(int32(port))}},
	}
	if _, err := cluster.Client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.DiscoveryV1().EndpointSlices("default").Delete(context.Background(), "kubernetes", metav1.DeleteOptions{})
	})
	raw, err := os.ReadFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	byName := filepath.Join(t.TempDir(), "by-name.kubeconfig")
	if err := os.WriteFile(byName, bytes.ReplaceAll(raw, []byte(cluster.Server), []byte("https://localhost:"+u.Port())), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := premortem(ctx, "measure", "--kubeconfig", byName, "--duration", "2s", "-o", "json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, errOut, out)
	}
	r := decode(t, out)
	want := "https://" + addr
	if len(r.Servers) != 1 || r.Servers[0].Server != want || r.Servers[0].Via != measure.ViaEndpointSlice || !r.Servers[0].MetricsRead || r.Servers[0].SamplesTaken == 0 {
		t.Fatalf("servers %+v, want %s from the EndpointSlice, read", r.Servers, want)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "localhost:"+u.Port()+" is not among the EndpointSlice's addresses") {
		t.Errorf("notes do not say the kubeconfig name was not sampled itself: %q", r.Notes)
	}

	// By hand: the same address again is read once; a server that does not
	// answer is named, and the one that does is still measured.
	code, out, errOut = premortem(ctx, "measure", "--kubeconfig", byName, "--duration", "2s", "-o", "json",
		"--apiserver", want, "--apiserver", "https://127.0.0.1:1")
	r = decode(t, out)
	if code != cli.ExitIncomplete || len(r.Servers) != 2 || !r.Servers[0].MetricsRead || !strings.Contains(errOut, "https://127.0.0.1:1: /metrics not read: cannot reach") {
		t.Errorf("exit %d, servers %+v\n%s", code, r.Servers, errOut)
	}
}

// forward listens on this host's first non-loopback IPv4 address and
// forwards each connection to target; it returns the address.
func forward(t *testing.T, target string) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var ip net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address to publish in the EndpointSlice")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer out.Close()
				go io.Copy(out, in)
				io.Copy(in, out)
			}()
		}
	}()
	return ln.Addr().String()
}

func ptr[T any](v T) *T { return &v }
