package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/premortem/premortem/internal/checks"
	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/lab"
	"github.com/premortem/premortem/lab/scenario"
	"github.com/premortem/premortem/test/e2e/auditlog"
)

// rolePath is the generated ClusterRole the agent runs with.
const rolePath = "deploy/rbac/clusterrole.yaml"

// interval is the agent's --interval in this test.
const interval = 5 * time.Second

const (
	agentNamespace = "premortem"
	agentSA        = "premortem-agent"
	agentUser      = "system:serviceaccount:" + agentNamespace + ":" + agentSA
)

// steadyWindow is how long the test watches the agent's requests once it is
// ready: 5 minutes, as the issue asks; PREMORTEM_AGENT_STEADY shortens it
// for local runs.
func steadyWindow(t *testing.T) time.Duration {
	if v := os.Getenv("PREMORTEM_AGENT_STEADY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("PREMORTEM_AGENT_STEADY: %v", err)
		}
		return d
	}
	return 5 * time.Minute
}

func TestAgent(t *testing.T) {
	if cluster == nil {
		t.Skip("-short: starts a control plane")
	}
	ctx := context.Background()
	role := loadRole(t, filepath.Join("..", "..", "..", rolePath)) // go test runs in the package's directory
	kubeconfig := serviceAccountKubeconfig(t, ctx, role, agentSA)
	bin := filepath.Join(t.TempDir(), "premortem")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/premortem/premortem/cmd/premortem").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	start := auditlog.Size(t, cluster.AuditLog)
	ag := startAgent(t, bin, kubeconfig)
	began := time.Now()
	ag.waitReady(t, 3*time.Minute)
	t.Logf("agent ready in %s", time.Since(began).Round(time.Millisecond))
	initial := auditlog.Requests(t, cluster.AuditLog, start, "")
	initial = byUser(initial, agentUser)
	reads := initialReads(t, initial)
	for _, res := range kube.NeedOf(checks.All()).Want {
		if n := reads[auditKind(res.Resource, res.Group)]; n > 1 {
			t.Errorf("%s: %d initial reads, want at most 1", res.Name(), n)
		}
	}
	// Kinds every lab serves: each read exactly once.
	for _, k := range []string{"pods.", "nodes.", "namespaces.", "secrets.", "configmaps.", "apiservices.apiregistration.k8s.io"} {
		if reads[k] != 1 {
			t.Errorf("%s: %d initial reads, want 1", k, reads[k])
		}
	}
	t.Logf("initial reads per kind: %v", reads)

	t.Run("seeds", func(t *testing.T) {
		for _, s := range scenario.Seeds() {
			if err := s.Apply(ctx, cluster); err != nil {
				t.Fatal(err)
			}
			applied := time.Now()
			// Two intervals after the scenario is in place, its incident is
			// in /findings and its checks in /metrics.
			deadline := applied.Add(2 * interval)
			var ids []string
			for {
				ids = ag.checksCiting(t, s.Incident)
				if len(ids) > 0 && ag.metricsHaveFindings(t, ids) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: not in /findings and /metrics %s after it was applied (checks citing it: %v)", s.Name, 2*interval, ids)
				}
				time.Sleep(250 * time.Millisecond)
			}
			t.Logf("%s: in /findings and /metrics after %s (checks %v)", s.Name, time.Since(applied).Round(time.Millisecond), ids)
		}
	})

	t.Run("findings equal scan", func(t *testing.T) {
		// The agent, as a scan, reads the data of only the ConfigMaps
		// workloads use: a ConfigMap near 1 MiB that none uses (a
		// controller's state) must be in neither's findings.
		unused := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: agentNamespace, Name: "unused-near-limit"},
			Data: map[string]string{"state.json": strings.Repeat("x", 1000*1024)}}
		if _, err := cluster.Client.CoreV1().ConfigMaps(agentNamespace).Create(ctx, unused, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * interval) // evaluated since
		var agent, scan []byte
		for attempt := range 6 {
			// A lab changes all the time (leases, heartbeats): compare an
			// evaluation with a scan pinned to the same instant, and again
			// when something changed in between.
			agent = ag.get(t, "/findings")
			takenAt := takenAtOf(t, agent)
			cmd := exec.CommandContext(ctx, bin, "scan", "-o", "json", "--kubeconfig", cluster.Kubeconfig, "--now", takenAt)
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 2 {
					t.Fatalf("scan: %v", err)
				}
			}
			scan = out.Bytes()
			if bytes.Equal(normalize(t, agent), normalize(t, scan)) {
				t.Logf("equal on attempt %d (%d bytes)", attempt+1, len(agent))
				if bytes.Contains(agent, []byte(unused.Name)) {
					t.Errorf("/findings names the ConfigMap no workload uses, %s", unused.Name)
				}
				return
			}
			time.Sleep(interval)
		}
		t.Errorf("/findings differs from scan -o json:\n%s", diff(normalize(t, agent), normalize(t, scan)))
	})

	t.Run("no 403", func(t *testing.T) {
		for _, ev := range byUser(auditlog.Requests(t, cluster.AuditLog, start, ""), agentUser) {
			if ev.ResponseStatus != nil && ev.ResponseStatus.Code == http.StatusForbidden {
				t.Errorf("403 for the agent: %s %s", ev.Verb, ev.RequestURI)
			}
		}
	})

	t.Run("steady window: watches only", func(t *testing.T) {
		from := auditlog.Size(t, cluster.AuditLog)
		window := steadyWindow(t)
		t.Logf("watching the agent's requests for %s", window)
		time.Sleep(window)
		verbs := map[string]int{}
		for _, ev := range byUser(auditlog.Requests(t, cluster.AuditLog, from, ""), agentUser) {
			verbs[ev.Verb]++
			switch {
			case ev.Verb == "list":
				t.Errorf("LIST in the steady window: %s", ev.RequestURI)
			case ev.Verb != "watch":
				t.Errorf("%s in the steady window: %s", ev.Verb, ev.RequestURI)
			case initialEvents(ev):
				t.Errorf("relist (watch with sendInitialEvents) in the steady window: %s", ev.RequestURI)
			}
		}
		t.Logf("requests in the steady window by verb: %v", verbs)
		if err := ag.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("agent died: %v\n%s", err, ag.logTail())
		}
	})

	t.Run("API server outage", func(t *testing.T) {
		if err := cluster.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		from := auditlog.Size(t, cluster.AuditLog)
		sawNotReady, sawIncomplete := false, false
		for time.Since(stopped) < 30*time.Second {
			if code, body := ag.status(t, "/readyz"); code == http.StatusServiceUnavailable {
				if !sawNotReady {
					t.Logf("not ready %s after the stop: %s", time.Since(stopped).Round(time.Millisecond), firstLine(body))
				}
				sawNotReady = true
			}
			if strings.Contains(string(ag.get(t, "/metrics")), "premortem_evaluation_complete 0") {
				sawIncomplete = true
			}
			time.Sleep(time.Second)
		}
		if err := cluster.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		if !sawNotReady {
			t.Error("/readyz never said not ready while the API server was down")
		}
		if !sawIncomplete {
			t.Error("premortem_evaluation_complete never 0 while the API server was down")
		}
		restarted := time.Now()
		ag.waitReady(t, 3*time.Minute)
		t.Logf("ready again %s after the API server came back", time.Since(restarted).Round(time.Millisecond))
		// Give the last evaluation time to follow.
		time.Sleep(2 * interval)
		if err := ag.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("agent died: %v\n%s", err, ag.logTail())
		}
		if !strings.Contains(string(ag.get(t, "/metrics")), "premortem_evaluation_complete 1") {
			t.Error("evaluation not complete after recovery")
		}
		events := byUser(auditlog.Requests(t, cluster.AuditLog, from, ""), agentUser)
		relists := initialReads(t, events)
		for k, n := range relists {
			if n > 1 {
				t.Errorf("%s: %d relists after the outage, want at most 1", k, n)
			}
		}
		t.Logf("relists per kind after the outage: %v", relists)
	})

	t.Run("a kind it may not read", func(t *testing.T) {
		// The same role without Secrets: the agent says what it cannot
		// read, reports incomplete, never clean, and keeps going.
		narrow := role.DeepCopy()
		narrow.Name += "-no-secrets"
		for i := range narrow.Rules {
			narrow.Rules[i].Resources = slices.DeleteFunc(slices.Clone(narrow.Rules[i].Resources), func(r string) bool { return r == "secrets" })
		}
		other := startAgent(t, bin, serviceAccountKubeconfig(t, ctx, narrow, agentSA+"-narrow"))
		deadline := time.Now().Add(2 * time.Minute)
		for {
			code, body := other.status(t, "/findings")
			if code == http.StatusOK && strings.Contains(body, `"reason": "forbidden: `) {
				var out struct {
					Complete bool `json:"complete"`
					Info     struct {
						Skipped []struct {
							Resource struct{ Resource string } `json:"resource"`
							Reason   string                    `json:"reason"`
						} `json:"skipped"`
					} `json:"info"`
				}
				if err := json.Unmarshal([]byte(body), &out); err != nil {
					t.Fatal(err)
				}
				if out.Complete || len(out.Info.Skipped) != 1 || out.Info.Skipped[0].Resource.Resource != "secrets" {
					t.Errorf("complete %v, skipped %+v; want incomplete with secrets forbidden", out.Complete, out.Info.Skipped)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no evaluation with secrets forbidden: %d %s", code, firstLine(body))
			}
			time.Sleep(time.Second)
		}
		if code, body := other.status(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "secrets: forbidden") {
			t.Errorf("/readyz: %d %q, want 503 naming secrets", code, body)
		}
		metrics := string(other.get(t, "/metrics"))
		for _, want := range []string{`premortem_resource_readable{resource="secrets"} 0`, "premortem_evaluation_complete 0",
			`premortem_resource_readable{resource="pods"} 1`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		if !regexp.MustCompile(`premortem_(list|watch)_requests_total\{resource="secrets",result="forbidden"\} [1-9]`).MatchString(metrics) {
			t.Errorf("no forbidden request counted for secrets")
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		if err := ag.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ag.done:
			if ag.err != nil {
				t.Errorf("agent exited with %v after SIGTERM\n%s", ag.err, ag.logTail())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("agent still running 30s after SIGTERM")
		}
	})
}

// agentProcess is the running binary.
type agentProcess struct {
	cmd  *exec.Cmd
	base string
	log  string
	done chan struct{}
	err  error
}

func startAgent(t *testing.T, bin, kubeconfig string) *agentProcess {
	t.Helper()
	addr, err := lab.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "--kubeconfig", kubeconfig, "--interval", interval.String(), "--listen", addr, "-v")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProcess{cmd: cmd, base: "http://" + addr, log: logPath, done: make(chan struct{})}
	go func() {
		a.err = cmd.Wait()
		logFile.Close()
		close(a.done)
	}()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			_ = cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", a.logTail())
		}
	})
	return a
}

func (a *agentProcess) logTail() string {
	data, _ := os.ReadFile(a.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

var client = &http.Client{Timeout: 10 * time.Second}

func (a *agentProcess) status(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := client.Get(a.base + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(body)
}

func (a *agentProcess) get(t *testing.T, path string) []byte {
	t.Helper()
	code, body := a.status(t, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return []byte(body)
}

func (a *agentProcess) waitReady(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-a.done:
			t.Fatalf("agent exited: %v\n%s", a.err, a.logTail())
		default:
		}
		code, body := a.status(t, "/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not ready after %s: %d %s\n%s", limit, code, body, a.logTail())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checksCiting returns the checks whose findings in /findings cite the
// incident.
func (a *agentProcess) checksCiting(t *testing.T, incident string) []string {
	t.Helper()
	code, body := a.status(t, "/findings")
	if code != http.StatusOK {
		return nil
	}
	var out struct {
		Findings []struct {
			ID        string   `json:"id"`
			Incidents []string `json:"incidents"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("/findings: %v", err)
	}
	var ids []string
	for _, f := range out.Findings {
		if slices.Contains(f.Incidents, incident) && !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// metricsHaveFindings reports whether /metrics has a premortem_findings
// series for each check.
func (a *agentProcess) metricsHaveFindings(t *testing.T, ids []string) bool {
	t.Helper()
	code, body := a.status(t, "/metrics")
	if code != http.StatusOK {
		return false
	}
	for _, id := range ids {
		if !strings.Contains(body, `premortem_findings{check="`+id+`"`) {
			return false
		}
	}
	return true
}

// initialReads counts, per kind, the requests that read it whole: LIST
// chains (their first pages) and watches that stream the initial state.
func initialReads(t *testing.T, events []auditlog.Event) map[string]int {
	t.Helper()
	out := map[string]int{}
	for kind, c := range auditlog.Lists(t, events) {
		out[kind] += c.Chains
	}
	for _, ev := range events {
		if ev.Verb == "watch" && initialEvents(ev) {
			out[ev.Kind()]++
		}
	}
	return out
}

func initialEvents(ev auditlog.Event) bool {
	u, err := url.Parse(ev.RequestURI)
	return err == nil && u.Query().Get("sendInitialEvents") == "true"
}

func auditKind(resource, group string) string { return resource + "." + group }

func byUser(events []auditlog.Event, user string) []auditlog.Event {
	var out []auditlog.Event
	for _, ev := range events {
		if ev.User.Username == user {
			out = append(out, ev)
		}
	}
	return out
}

// loadRole reads the ClusterRole from path (a YAML file, possibly of
// several documents).
func loadRole(t *testing.T, path string) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the generated ClusterRole: %v", err)
	}
	for _, doc := range strings.Split(string(data), "\n---") {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &role); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if role.Kind == "ClusterRole" {
			return &role
		}
	}
	t.Fatalf("%s: no ClusterRole", path)
	return nil
}

// serviceAccountKubeconfig creates the ServiceAccount sa, binds it to role,
// and returns a kubeconfig with a token for it.
func serviceAccountKubeconfig(t *testing.T, ctx context.Context, role *rbacv1.ClusterRole, sa string) string {
	t.Helper()
	c := cluster.Client
	role = role.DeepCopy()
	role.ResourceVersion, role.UID = "", ""
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: agentNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ServiceAccounts(agentNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: agentNamespace, Name: sa}},
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path, err := cluster.ServiceAccountKubeconfig(ctx, agentNamespace, sa, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func takenAtOf(t *testing.T, doc []byte) string {
	t.Helper()
	var out struct {
		Info struct {
			TakenAt string `json:"takenAt"`
		} `json:"info"`
	}
	if err := json.Unmarshal(doc, &out); err != nil {
		t.Fatal(err)
	}
	return out.Info.TakenAt
}

// normalize blanks the read time, the one field a scan and an evaluation
// of the same state may differ in; the rest stays byte for byte.
func normalize(t *testing.T, doc []byte) []byte {
	t.Helper()
	loc := takenAt.FindIndex(doc)
	if loc == nil {
		t.Fatalf("no takenAt in\n%s", doc)
	}
	return slices.Concat(doc[:loc[0]], []byte(`"takenAt": ""`), doc[loc[1]:])
}

var takenAt = regexp.MustCompile(`"takenAt": *"[^"]*"`)

// diff shows the first lines where a and b differ.
func diff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 40; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  agent: %s\n  scan:  %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
