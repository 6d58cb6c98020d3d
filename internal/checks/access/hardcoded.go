package access

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// HardcodedAPIServerAddress is the hardcoded-apiserver-address check.
var HardcodedAPIServerAddress = &check.Check{
	ID:        "hardcoded-apiserver-address",
	Title:     "Workload configured with a literal API server address",
	Category:  category,
	Severity:  check.High,
	Incidents: []string{"000", "002"},
	Reads: []snapshot.Resource{snapshot.ConfigMaps, snapshot.Deployments, snapshot.DaemonSets,
		snapshot.StatefulSets, snapshot.Jobs},
	Optional: []snapshot.Resource{snapshot.EndpointSlices, snapshot.Leases, snapshot.Services},
	Doc: `Finds workloads (Deployments, DaemonSets, StatefulSets, Jobs) that reach
the API server by a literal IP address or hostname instead of
kubernetes.default.svc: in container env, args and command, and in the
ConfigMaps they mount or take env from (kubeconfigs included).

The current API servers are known from the server of the kubeconfig
premortem used, the default/kubernetes EndpointSlices and the hostnames of
the API server identity Leases in kube-system. Besides those, an address is
taken for an API server when it is a kubeconfig's server, carries an API
server port (param ports), or is the value of an environment variable
named like one (KUBERNETES_SERVICE_HOST, KUBE_MASTER, *APISERVER*, ...).

A client pinned to addresses does not follow the API servers as they are
added and removed. In incident 000 the OpenTelemetry collector's values
named two legacy API server IPs, so the new API servers took none of its
load while the old ones saturated. In incident 002 a checker's kubeconfig
named a hostname of the master that was then removed as unused.

Severity is high when an address is not a current API server (it is gone,
or it is reached through a path premortem cannot see), medium when every
address is a current API server.`,
	Remediation: `Use the in-cluster configuration: the kubernetes Service
(kubernetes.default.svc, injected as KUBERNETES_SERVICE_HOST/PORT) and the
ServiceAccount token, e.g. rest.InClusterConfig() or auth_type:
serviceAccount with no endpoint override. If a client must use an outside
address, use a name that follows the API servers (a load-balanced DNS name),
never an individual API server's IP, and find every place that names it
with "premortem refs ADDRESS" before changing it.`,
	Params: []check.Param{
		{Name: "ports", Type: check.Text, Default: "6443", Doc: "Ports that mark an address as an API server's (comma-separated)."},
		{Name: "cluster-domain", Type: check.Text, Default: "cluster.local", Doc: "The cluster DNS domain: kubernetes.default.svc.<domain> is the in-cluster name."},
		{Name: "ignore", Type: check.Text, Default: "kube-system/kube-proxy",
			Doc: "Workloads not reported (namespace/name, comma-separated): kube-proxy must reach the API servers without the Service it programs."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "addresses", Doc: "Each literal address: address, currentAPIServer, why (how it is known to be an API server's), where (field or ConfigMap key)."},
		{Name: "currentAPIServers", Doc: "The current API servers premortem knows: host and via (kubeconfig, EndpointSlice, identity Lease)."},
	},
	Run: runHardcoded,
}

// hostPort finds host:port with an optional http(s) scheme.
var hostPort = regexp.MustCompile(`(?i)(?:https?://)?(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?):([0-9]{2,5})\b`)

// httpsURL finds the host of an https URL.
var httpsURL = regexp.MustCompile(`(?i)https://(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)`)

// addressByte reports whether c may be part of a hostPort or httpsURL
// match (ASCII letters and digits, . - : / [ ], any byte of a multi-byte
// rune, which case folding may match: the Kelvin sign is a k) or is '_',
// a word character the \b after a port looks at. Every other byte is a
// non-word character no match contains, so the matches in the runs between
// such bytes are exactly the matches in the whole text.
func addressByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
		c == '.' || c == '-' || c == ':' || c == '/' || c == '[' || c == ']' || c == '_'
}

// eachSubmatch calls fn with re's submatches in value, in the order
// FindAllStringSubmatch returns them, running re only on the runs of
// address bytes that need accepts: a regular expression without a literal
// prefix costs far more per byte than this scan, and most runs (words,
// numbers, YAML keys) cannot match.
func eachSubmatch(re *regexp.Regexp, value string, need func(run string) bool, fn func(m []string)) {
	for i := 0; i < len(value); {
		for i < len(value) && !addressByte(value[i]) {
			i++
		}
		start := i
		for i < len(value) && addressByte(value[i]) {
			i++
		}
		if run := value[start:i]; run != "" && need(run) {
			for _, m := range re.FindAllStringSubmatch(run, -1) {
				fn(m)
			}
		}
	}
}

// hasPort reports whether run has a colon followed by a digit, which every
// hostPort match does.
func hasPort(run string) bool {
	for i := 0; i+1 < len(run); i++ {
		if run[i] == ':' && run[i+1] >= '0' && run[i+1] <= '9' {
			return true
		}
	}
	return false
}

// hasScheme reports whether run has "://", which every httpsURL match does.
func hasScheme(run string) bool { return strings.Contains(run, "://") }

// apiServerEnv matches environment variable names that hold an API server
// address.
var apiServerEnv = regexp.MustCompile(`^(KUBERNETES_SERVICE_HOST|KUBERNETES_MASTER|(KUBE|K8S)_(MASTER|API)[A-Z_]*|[A-Z_]*API_?SERVER[A-Z_]*)$`)

// notAddressEnv matches variable names that hold something else than an
// address even when they mention the API server (KUBE_API_TOKEN, ...).
var notAddressEnv = regexp.MustCompile(`TOKEN|PASSWORD|SECRET|KEY|CERT|_CA|PORT|PATH|FILE|DIR|CONFIG|TIMEOUT|QPS|BURST|VERSION|INSECURE|ENABLED?$`)

func isAPIServerEnv(name string) bool {
	return name != "" && apiServerEnv.MatchString(name) && !notAddressEnv.MatchString(name)
}

// looksLikeAddress reports whether value is an IP address, URL, host:port
// or a dotted hostname ending in a letter label (not a token, a path or a
// flag value).
func looksLikeAddress(value string) bool {
	value = strings.TrimSpace(value)
	if value == "" || strings.HasPrefix(value, "/") || strings.ContainsAny(value, " ,;=") {
		return false
	}
	q, err := address.ParseQuery(value)
	if err != nil {
		return false
	}
	if q.IP.IsValid() || q.Host == "localhost" {
		return true
	}
	i := strings.LastIndexByte(q.Host, '.')
	if i < 0 || len(q.Host) > 253 {
		return false
	}
	for _, c := range q.Host[i+1:] {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return len(q.Host) > i+2
}

// literal is one literal API server address found in a workload's
// configuration.
type literal struct {
	Address string `json:"address"`
	Current bool   `json:"currentAPIServer"`
	// Why says how the address is known to be an API server's.
	Why   string `json:"why"`
	Where string `json:"where"`
}

type literalFinder struct {
	known     []apiServer
	queries   []address.Query
	inCluster []string
	ports     []string
}

func newLiteralFinder(snap *snapshot.Snapshot, p *check.Pass) *literalFinder {
	f := &literalFinder{known: currentAPIServers(snap, p.Now), inCluster: inClusterNames(snap, p.Text("cluster-domain"))}
	for _, k := range f.known {
		q, err := address.ParseQuery(k.Host)
		if err == nil {
			f.queries = append(f.queries, q)
		}
	}
	f.ports = p.List("ports")
	return f
}

func (f *literalFinder) current(host string) (apiServer, bool) {
	for _, k := range f.known {
		if k.Host == host {
			return k, true
		}
	}
	return apiServer{}, false
}

// find returns the literal API server addresses in value; envName is the
// variable's name when value is an env value.
func (f *literalFinder) find(value, envName, where string) []literal {
	var out []literal
	add := func(host, why string) {
		host = address.HostOf(host)
		if host == "" || isInCluster(host, f.inCluster) {
			return
		}
		for _, l := range out {
			if l.Address == host {
				return
			}
		}
		l := literal{Address: host, Why: why, Where: where}
		if k, ok := f.current(host); ok {
			l.Current, l.Why = true, "a current API server ("+k.Via+")"
		}
		out = append(out, l)
	}
	// A current API server's hostname counts wherever it appears; its IP
	// (often a loopback or node address used for other things too) only in
	// a URL, with a port, in a kubeconfig or in an API server variable.
	for i, q := range f.queries {
		if !q.IP.IsValid() && strings.Contains(q.Host, ".") && q.Contains(value) {
			add(f.known[i].Host, "")
		}
	}
	for _, c := range address.Kubeconfig(value) {
		add(c.Server, fmt.Sprintf("server of kubeconfig cluster %q", c.Name))
	}
	eachSubmatch(hostPort, value, hasPort, func(m []string) {
		if _, known := f.current(address.HostOf(m[1])); known || slices.Contains(f.ports, m[2]) {
			add(m[1], "port "+m[2]+", an API server port")
		}
	})
	eachSubmatch(httpsURL, value, hasScheme, func(m []string) {
		if _, known := f.current(address.HostOf(m[1])); known {
			add(m[1], "")
		}
	})
	if isAPIServerEnv(envName) && looksLikeAddress(value) {
		add(value, "the value of "+envName)
	}
	return out
}

func runHardcoded(p *check.Pass) error {
	snap := p.Snapshot
	f := newLiteralFinder(snap, p)
	configMaps := map[string]*corev1.ConfigMap{}
	for i := range snap.ConfigMaps {
		cm := &snap.ConfigMaps[i]
		configMaps[cm.Namespace+"/"+cm.Name] = cm
	}
	for _, w := range workloads(snap) {
		if inList(p.Text("ignore"), w.Object.Namespace, w.Object.Name) {
			continue
		}
		var found []literal
		objects := []check.Object{w.Object}
		for _, fld := range address.PodSpecFields(w.Spec) {
			if fld.Kind != "env" && fld.Kind != "args" && fld.Kind != "command" {
				continue
			}
			found = append(found, f.find(fld.Value, fld.EnvName, fld.Path)...)
		}
		seen := map[string]bool{}
		for _, u := range address.PodSpecConfig(w.Spec) {
			key := w.Object.Namespace + "/" + u.Name
			if u.Kind != "ConfigMap" || seen[key] || configMaps[key] == nil {
				continue
			}
			seen[key] = true
			cm := configMaps[key]
			n := len(found)
			for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
				found = append(found, f.find(cm.Data[k], "", "ConfigMap "+key+" data["+k+"]")...)
			}
			if len(found) > n {
				objects = append(objects, obj("", "ConfigMap", cm.Namespace, cm.Name))
			}
		}
		if len(found) == 0 {
			continue
		}
		p.Report(hardcodedFinding(w, found, objects, f.known))
	}
	return nil
}

func hardcodedFinding(w templated, found []literal, objects []check.Object, known []apiServer) check.Finding {
	sev := check.Medium
	var current, gone []string
	byAddress := map[string][]string{}
	var order []string
	for _, l := range found {
		if _, ok := byAddress[l.Address]; !ok {
			order = append(order, l.Address)
		}
		if !slices.Contains(byAddress[l.Address], l.Where) {
			byAddress[l.Address] = append(byAddress[l.Address], l.Where)
		}
		if !l.Current {
			sev = check.High
		}
	}
	for _, a := range order {
		isCurrent := false
		why := ""
		for _, l := range found {
			if l.Address == a {
				isCurrent, why = l.Current, l.Why
			}
		}
		desc := fmt.Sprintf("%s (in %s)", a, strings.Join(byAddress[a], ", "))
		if isCurrent {
			current = append(current, desc)
		} else {
			gone = append(gone, desc+" — "+why)
		}
	}
	var parts []string
	if len(gone) > 0 {
		parts = append(parts, "Not a current API server: "+strings.Join(gone, "; "))
	}
	if len(current) > 0 {
		parts = append(parts, "A current API server, pinned: "+strings.Join(current, "; "))
	}
	title := fmt.Sprintf("%s reaches the API server by literal address %s", w.Object, strings.Join(order, ", "))
	if sev == check.High {
		title += " (not all current API servers)"
	}
	return check.Finding{
		Severity: sev,
		Title:    title,
		Message: fmt.Sprintf("%s is configured with literal API server addresses instead of kubernetes.default.svc. %s. "+
			"A client pinned to addresses does not follow API servers as they are added or removed: new ones take none of its load "+
			"(incident 000), and removing an address or name it uses breaks it (incident 002).",
			w.Object, strings.Join(parts, ". ")),
		Objects:  objects,
		Evidence: map[string]any{"addresses": found, "currentAPIServers": known},
	}
}
