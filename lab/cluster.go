// Package lab runs a real Kubernetes control plane on loopback for premortem's
// end-to-end tests and demo: etcd and kube-apiserver, optionally
// kube-controller-manager, kube-scheduler and kwok (simulated nodes and pods),
// all built from Go modules by lab/bins/build.sh (`make lab-bins`).
//
// Every lab has its own directory, ports, CA, certificates and audit log
// (JSON lines, Metadata level) so tests can prove which requests a command
// made. Close stops every process and removes the directory.
package lab

import (
	"context"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options choose the components of a lab.
type Options struct {
	// ControllerManager starts kube-controller-manager (namespace deletion,
	// garbage collection, Deployments, DaemonSets, ...).
	ControllerManager bool
	// Controllers is passed to --controllers when ControllerManager is set;
	// empty means every default controller ("*").
	Controllers []string
	// Scheduler starts kube-scheduler.
	Scheduler bool
	// Kwok starts the kwok controller: nodes created with AddNodes become
	// Ready and keep heartbeating; pods bound to them become Ready.
	Kwok bool
	// ExtraSANs are added to the API server's serving certificate.
	ExtraSANs []string
	// Log receives progress lines (component started, ready); nil discards.
	Log io.Writer
	// KeepDir leaves the lab directory in place on Close (for debugging);
	// PREMORTEM_LAB_KEEP=1 does the same.
	KeepDir bool
}

// Cluster is a running lab.
type Cluster struct {
	// Dir holds certificates, kubeconfigs, data, logs and the audit log.
	Dir string
	// Server is the API server URL, https://127.0.0.1:PORT.
	Server string
	// Config is an admin rest.Config (client certificate in system:masters).
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of an admin kubeconfig for Server.
	Kubeconfig string
	// AuditLog is the path of the API server's audit log.
	AuditLog string
	// CAFile is the path of the cluster CA certificate (PEM).
	CAFile string

	ca         *authority
	components []*component
	ports      []int // every loopback port handed to a component
	heartbeats heartbeats
	keep       bool
	log        io.Writer
}

// auditPolicy logs every request at Metadata level, once it completes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// ServiceClusterIPRange is the lab's service network; the kubernetes
// Service gets its first address.
const ServiceClusterIPRange = "10.0.0.0/24"

//go:embed kwok-stages.yaml
var kwokStages []byte

// Start runs a fresh lab. It is ready when it returns.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	started := time.Now()
	bins, err := binDir()
	if err != nil {
		return nil, err
	}
	need := []string{"etcd", "kube-apiserver"}
	if opts.ControllerManager {
		need = append(need, "kube-controller-manager")
	}
	if opts.Scheduler {
		need = append(need, "kube-scheduler")
	}
	if opts.Kwok {
		need = append(need, "kwok")
	}
	paths := map[string]string{}
	for _, name := range need {
		if paths[name], err = findBinary(bins, name); err != nil {
			return nil, err
		}
	}

	dir, err := os.MkdirTemp("", "premortem-lab-")
	if err != nil {
		return nil, fmt.Errorf("create lab directory: %w", err)
	}
	c := &Cluster{Dir: dir, AuditLog: filepath.Join(dir, "audit.log"), log: opts.Log,
		keep: opts.KeepDir || os.Getenv("PREMORTEM_LAB_KEEP") == "1"}
	if c.log == nil {
		c.log = io.Discard
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()

	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	c.ports = ports
	etcdPort, peerPort, apiPort, cmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	files, err := c.writeCredentials(opts.ExtraSANs)
	if err != nil {
		return nil, err
	}

	etcd, err := c.start("etcd", paths["etcd"],
		"--name=lab",
		"--data-dir="+filepath.Join(dir, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", peerPort),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", peerPort),
		fmt.Sprintf("--initial-cluster=lab=http://127.0.0.1:%d", peerPort),
		"--unsafe-no-fsync", // a throwaway store: durability costs seconds per test
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 30*time.Second, etcd, "etcd health", httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", etcdPort))); err != nil {
		return nil, err
	}

	apiserver, err := c.start("kube-apiserver", paths["kube-apiserver"],
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file="+files.serving, "--tls-private-key-file="+files.servingKey,
		"--client-ca-file="+files.ca,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+files.saPub,
		"--service-account-signing-key-file="+files.saKey,
		"--service-cluster-ip-range="+ServiceClusterIPRange,
		"--authorization-mode=Node,RBAC",
		// Loopback endpoints are rejected for the kubernetes Service, and a
		// lab has one API server: nothing to reconcile.
		"--endpoint-reconciler-type=none",
		// Pods in the lab run on kwok nodes: no token to mount, and no need
		// to wait for the ServiceAccount controller before creating pods.
		"--disable-admission-plugins=ServiceAccount",
		"--audit-log-path="+c.AuditLog,
		"--audit-policy-file="+files.auditPolicy,
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		"--audit-log-maxsize=0",
		"--requestheader-client-ca-file="+files.frontProxyCA,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+files.frontProxyClient, "--proxy-client-key-file="+files.frontProxyClientKey,
		"--enable-aggregator-routing=true",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return nil, err
	}

	cfg, err := clientcmd.RESTConfigFromKubeConfig(files.adminKubeconfigData)
	if err != nil {
		return nil, fmt.Errorf("load admin kubeconfig: %w", err)
	}
	cfg.UserAgent = "premortem-lab"
	cfg.QPS, cfg.Burst = 200, 400
	c.Config, c.Kubeconfig = cfg, files.adminKubeconfig
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 60*time.Second, apiserver, "kube-apiserver /readyz", c.apiServerReady(ctx)); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.log, "lab: kube-apiserver ready at %s (%s)\n", c.Server, time.Since(started).Round(time.Millisecond))

	if opts.ControllerManager {
		controllers := "*"
		if len(opts.Controllers) > 0 {
			controllers = strings.Join(opts.Controllers, ",")
		}
		cm, err := c.start("kube-controller-manager", paths["kube-controller-manager"],
			"--kubeconfig="+files.cmKubeconfig,
			"--authentication-kubeconfig="+files.cmKubeconfig,
			"--authorization-kubeconfig="+files.cmKubeconfig,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", cmPort),
			"--leader-elect=false",
			// One identity per controller, so the audit log names the
			// namespace controller and the garbage collector.
			"--use-service-account-credentials=true",
			"--service-account-private-key-file="+files.saKey,
			"--root-ca-file="+files.ca,
			"--controllers="+controllers,
			"--v=1",
		)
		if err != nil {
			return nil, err
		}
		if err := waitFor(ctx, 60*time.Second, cm, "kube-controller-manager /healthz", healthz(cmPort)); err != nil {
			return nil, err
		}
		fmt.Fprintf(c.log, "lab: kube-controller-manager ready (%s)\n", time.Since(started).Round(time.Millisecond))
	}
	if opts.Scheduler {
		s, err := c.start("kube-scheduler", paths["kube-scheduler"],
			"--kubeconfig="+files.schedKubeconfig,
			"--authentication-kubeconfig="+files.schedKubeconfig,
			"--authorization-kubeconfig="+files.schedKubeconfig,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", schedPort),
			"--leader-elect=false",
			"--v=1",
		)
		if err != nil {
			return nil, err
		}
		if err := waitFor(ctx, 60*time.Second, s, "kube-scheduler /healthz", healthz(schedPort)); err != nil {
			return nil, err
		}
		fmt.Fprintf(c.log, "lab: kube-scheduler ready (%s)\n", time.Since(started).Round(time.Millisecond))
	}
	if opts.Kwok {
		stages := filepath.Join(dir, "kwok-stages.yaml")
		if err := os.WriteFile(stages, kwokStages, 0o600); err != nil {
			return nil, err
		}
		k, err := c.start("kwok", paths["kwok"],
			"--kubeconfig="+files.kwokKubeconfig,
			"--config="+stages,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector="+KwokNodeAnnotation+"=fake",
			fmt.Sprintf("--server-address=127.0.0.1:%d", kwokPort),
			"--node-lease-duration-seconds=40",
			"--cidr=10.244.0.0/16",
		)
		if err != nil {
			return nil, err
		}
		if err := waitFor(ctx, 30*time.Second, k, "kwok /healthz", httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", kwokPort))); err != nil {
			return nil, err
		}
		fmt.Fprintf(c.log, "lab: kwok ready (%s)\n", time.Since(started).Round(time.Millisecond))
	}
	fmt.Fprintf(c.log, "lab: ready in %s (dir %s)\n", time.Since(started).Round(time.Millisecond), dir)
	return c, nil
}

// Err reports the first component that has died since Start, with its log.
func (c *Cluster) Err() error {
	for _, comp := range c.components {
		if comp.exited() {
			return comp.deathError()
		}
	}
	return nil
}

// Close stops every component (newest first) and removes the lab directory.
func (c *Cluster) Close() error {
	c.heartbeats.stop()
	var errs []error
	for i := len(c.components) - 1; i >= 0; i-- {
		if err := c.components[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	c.components = nil
	if c.Dir != "" && !c.keep {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove lab directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) start(name, binary string, args ...string) (*component, error) {
	comp, err := startComponent(c.Dir, name, binary, args)
	if err != nil {
		return nil, err
	}
	c.components = append(c.components, comp)
	return comp, nil
}

// waitFor polls ready until it is true, the component dies, or the timeout.
func waitFor(ctx context.Context, timeout time.Duration, comp *component, what string, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if comp.exited() {
			return comp.deathError()
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not ready after %s; last lines of %s:\n%s", what, timeout, comp.logPath, comp.logTail(30))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// healthz checks a component's self-signed /healthz endpoint on loopback.
func healthz(port int) func() bool {
	client := &http.Client{Timeout: 2 * time.Second, Transport: insecureLoopback}
	return httpOK(client, fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
}

// httpOK reports whether a GET of url answers 200.
func httpOK(client *http.Client, url string) func() bool {
	return func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// credentialFiles are the paths writeCredentials produced.
type credentialFiles struct {
	ca, serving, servingKey, saKey, saPub, auditPolicy  string
	frontProxyCA, frontProxyClient, frontProxyClientKey string
	adminKubeconfig, cmKubeconfig, schedKubeconfig      string
	kwokKubeconfig                                      string
	adminKubeconfigData                                 []byte
}

func (c *Cluster) writeCredentials(extraSANs []string) (*credentialFiles, error) {
	ca, err := newAuthority("premortem-lab-ca")
	if err != nil {
		return nil, err
	}
	c.ca = ca
	frontProxy, err := newAuthority("premortem-lab-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	dns := append([]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local"}, extraSANs...)
	serving, err := ca.issue("kube-apiserver", nil, dns, []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}, true)
	if err != nil {
		return nil, err
	}
	admin, err := ca.issue("premortem-lab-admin", []string{"system:masters"}, nil, nil, false)
	if err != nil {
		return nil, err
	}
	cm, err := ca.issue("system:kube-controller-manager", nil, nil, nil, false)
	if err != nil {
		return nil, err
	}
	sched, err := ca.issue("system:kube-scheduler", nil, nil, nil, false)
	if err != nil {
		return nil, err
	}
	kwok, err := ca.issue("kwok-controller", []string{"system:masters"}, nil, nil, false)
	if err != nil {
		return nil, err
	}
	proxyClient, err := frontProxy.issue("front-proxy-client", nil, nil, nil, false)
	if err != nil {
		return nil, err
	}
	f := &credentialFiles{}
	write := func(name string, data []byte) (string, error) {
		p := filepath.Join(c.Dir, name)
		return p, os.WriteFile(p, data, 0o600)
	}
	for _, w := range []struct {
		dst  *string
		name string
		data []byte
	}{
		{&f.ca, "ca.crt", ca.certPEM},
		{&f.serving, "apiserver.crt", serving.CertPEM},
		{&f.servingKey, "apiserver.key", serving.KeyPEM},
		{&f.frontProxyCA, "front-proxy-ca.crt", frontProxy.certPEM},
		{&f.frontProxyClient, "front-proxy-client.crt", proxyClient.CertPEM},
		{&f.frontProxyClientKey, "front-proxy-client.key", proxyClient.KeyPEM},
		{&f.auditPolicy, "audit-policy.yaml", []byte(auditPolicy)},
		{&f.adminKubeconfig, "admin.kubeconfig", kubeconfigYAML(c.Server, ca.certPEM, admin)},
		{&f.cmKubeconfig, "controller-manager.kubeconfig", kubeconfigYAML(c.Server, ca.certPEM, cm)},
		{&f.schedKubeconfig, "scheduler.kubeconfig", kubeconfigYAML(c.Server, ca.certPEM, sched)},
		{&f.kwokKubeconfig, "kwok.kubeconfig", kubeconfigYAML(c.Server, ca.certPEM, kwok)},
	} {
		if *w.dst, err = write(w.name, w.data); err != nil {
			return nil, fmt.Errorf("write %s: %w", w.name, err)
		}
	}
	f.adminKubeconfigData = kubeconfigYAML(c.Server, ca.certPEM, admin)
	if f.saKey, f.saPub, err = writeServiceAccountKeys(c.Dir); err != nil {
		return nil, err
	}
	c.CAFile = f.ca
	return f, nil
}

// UserKubeconfig writes a kubeconfig for a client certificate with the given
// user name and groups (for RBAC tests) and returns its path.
func (c *Cluster) UserKubeconfig(user string, groups ...string) (string, error) {
	cert, err := c.ca.issue(user, groups, nil, nil, false)
	if err != nil {
		return "", err
	}
	p := filepath.Join(c.Dir, "user-"+sanitize(user)+".kubeconfig")
	if err := os.WriteFile(p, kubeconfigYAML(c.Server, c.ca.certPEM, cert), 0o600); err != nil {
		return "", err
	}
	return p, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
