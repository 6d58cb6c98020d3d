package audit

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// GenerateOptions describe a synthetic Metadata-level audit log.
type GenerateOptions struct {
	Seed uint64
	// Start is the time of the first event (default 2024-05-28T12:00:00Z).
	Start time.Time
	// Bytes stops the log once at least this many bytes are written.
	Bytes int64
	// Rate is completed requests per second of log time (default 2000).
	Rate float64
	// RequestReceived adds a RequestReceived event before this share of
	// requests, as audit policies without omitStages do (default 0.3).
	RequestReceived float64
	// Duration, when set, stops the log at this much log time (Bytes, when
	// set too, may stop it first).
	Duration time.Duration
	// Storms are LIST storms on top of the traffic: the admission
	// controller of incident 004 fanning out at StormRate per second for a
	// while, as on a node-group DELETE.
	Storms []Storm
	// WebhookDeletes are deletions admitted by a webhook that fans out
	// (generate_fanout.go), on top of the traffic.
	WebhookDeletes []WebhookDeletes
}

// Storm is At after the start, for Length, at Rate LISTs per second
// (default 200).
type Storm struct {
	At, Length time.Duration
	Rate       float64
}

// GenerateStats says what Generate wrote.
type GenerateStats struct {
	Bytes, Lines, Requests int64
}

// Generate writes a deterministic synthetic audit log with the traffic of
// a mid-size cluster: kubelets, controllers, the scheduler, people running
// kubectl, informers, and one admission controller that issues bursts of
// parallel LISTs without resourceVersion (incident 004). It feeds the
// benchmark and tests; the field order and escaping follow the API server's
// own encoder.
func Generate(w io.Writer, o GenerateOptions) (GenerateStats, error) {
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	}
	if o.Rate <= 0 {
		o.Rate = 2000
	}
	if o.RequestReceived == 0 {
		o.RequestReceived = 0.3
	}
	if o.Bytes <= 0 && o.Duration <= 0 {
		return GenerateStats{}, fmt.Errorf("generate: neither a size nor a duration to stop at")
	}
	g := &generator{rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), o: o}
	// Storms draw from a generator of their own, so that the traffic
	// around them is the same as without them.
	sg := &generator{rng: rand.New(rand.NewPCG(o.Seed^0x5bd1e995, o.Seed)), o: o}
	storms := newStormClock(o, sg.rng)
	fans := newFanClock(o)
	bw := bufio.NewWriterSize(w, 1<<20)
	var st GenerateStats
	now := o.Start.UnixNano()
	end := int64(math.MaxInt64)
	if o.Duration > 0 {
		end = now + int64(o.Duration)
	}
	gap := 1e9 / o.Rate
	var buf []byte
	emit := func(r *genRequest, at int64, rng *rand.Rand) error {
		if rng.Float64() < o.RequestReceived {
			buf = g.event(buf[:0], r, "RequestReceived", r.start)
			n, err := bw.Write(buf)
			if err != nil {
				return err
			}
			st.Bytes += int64(n)
			st.Lines++
		}
		buf = g.event(buf[:0], r, "ResponseComplete", at)
		n, err := bw.Write(buf)
		if err != nil {
			return err
		}
		st.Bytes += int64(n)
		st.Lines++
		st.Requests++
		return nil
	}
	for o.Bytes <= 0 || st.Bytes < o.Bytes {
		now += int64(g.rng.ExpFloat64() * gap)
		for r, t, ok := fans.next(min(now, end)); ok; r, t, ok = fans.next(min(now, end)) {
			if err := emit(&r, t, fans.rng); err != nil {
				return st, err
			}
		}
		for t, ok := storms.next(min(now, end)); ok; t, ok = storms.next(min(now, end)) {
			var r genRequest
			r.start = t - sg.admissionList(&r)
			sg.finish(&r)
			if err := emit(&r, t, sg.rng); err != nil {
				return st, err
			}
		}
		if now >= end {
			break
		}
		r := g.request(now)
		if err := emit(&r, now, g.rng); err != nil {
			return st, err
		}
	}
	return st, bw.Flush()
}

// stormClock hands out the completion times of storm requests in order.
type stormClock struct {
	at    []int64 // next request of each storm
	until []int64
	gap   []float64
	rng   *rand.Rand
}

func newStormClock(o GenerateOptions, rng *rand.Rand) *stormClock {
	c := &stormClock{rng: rng}
	for _, s := range o.Storms {
		rate := s.Rate
		if rate <= 0 {
			rate = 200
		}
		start := o.Start.UnixNano() + int64(s.At)
		c.at = append(c.at, start)
		c.until = append(c.until, start+int64(s.Length))
		c.gap = append(c.gap, 1e9/rate)
	}
	return c
}

// next returns the earliest storm request due before limit.
func (c *stormClock) next(limit int64) (int64, bool) {
	k := -1
	for i, t := range c.at {
		if t < c.until[i] && t < limit && (k < 0 || t < c.at[k]) {
			k = i
		}
	}
	if k < 0 {
		return 0, false
	}
	t := c.at[k]
	c.at[k] += max(int64(c.rng.ExpFloat64()*c.gap[k]), 1)
	return t, true
}

type generator struct {
	rng *rand.Rand
	o   GenerateOptions
	id  uint64
}

type genRequest struct {
	user, uid, ua, verb, uri  string
	resource, group, ns, name string
	groups                    []string
	extraPod                  string
	// annotation is one more audit annotation, a JSON member: "key":"value".
	annotation string
	ip         string
	code       int
	start      int64
	reason     string
}

var genNamespaces = []string{"default", "kube-system", "monitoring", "mw-web", "mw-api", "mw-jobrunner", "team-a", "team-b", "ingress", "logging"}

func (g *generator) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// lognormal returns a duration around median with the given spread.
func (g *generator) lognormal(median time.Duration, sigma float64) int64 {
	return int64(float64(median) * math.Exp(g.rng.NormFloat64()*sigma))
}

func (g *generator) request(end int64) genRequest {
	r := genRequest{code: 200}
	var dur int64
	x := g.rng.Float64()
	switch {
	case x < 0.40: // kubelets: node status, leases, pods
		n := g.rng.IntN(400)
		node := fmt.Sprintf("wikikube-worker%04d", n)
		r.user, r.groups = "system:node:"+node, []string{"system:nodes", "system:authenticated"}
		r.ua = "kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7"
		r.ip = fmt.Sprintf("10.64.%d.%d", n/250, n%250+1)
		r.reason = ""
		switch g.rng.IntN(4) {
		case 0:
			r.verb, r.resource, r.group, r.ns, r.name = "update", "leases", "coordination.k8s.io", "kube-node-lease", node
			r.uri = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + node + "?timeout=10s"
		case 1:
			r.verb, r.resource, r.name = "patch", "nodes", node
			r.uri = "/api/v1/nodes/" + node + "/status?timeout=10s"
		case 2:
			r.verb, r.resource, r.ns = "get", "pods", g.pick(genNamespaces)
			r.name = fmt.Sprintf("web-%x", g.rng.Uint32())
			r.uri = "/api/v1/namespaces/" + r.ns + "/pods/" + r.name
		default:
			r.verb, r.resource, r.ns = "get", "configmaps", g.pick(genNamespaces)
			r.name = "kube-root-ca.crt"
			r.uri = "/api/v1/namespaces/" + r.ns + "/configmaps/kube-root-ca.crt"
		}
		dur = g.lognormal(3*time.Millisecond, 0.8)
	case x < 0.60: // controllers
		sa := g.pick([]string{"replicaset-controller", "deployment-controller", "endpointslice-controller", "job-controller", "generic-garbage-collector"})
		r.user = "system:serviceaccount:kube-system:" + sa
		r.groups = []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}
		r.ua = "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a51b3b7/system:serviceaccount:kube-system:" + sa
		r.ip = "10.64.0.117"
		r.ns = g.pick(genNamespaces)
		r.verb = g.pick([]string{"get", "update", "patch", "create", "delete"})
		r.resource, r.group = "replicasets", "apps"
		if sa == "endpointslice-controller" {
			r.resource, r.group = "endpointslices", "discovery.k8s.io"
		}
		r.name = fmt.Sprintf("web-%x", g.rng.Uint32()&0xfffff)
		r.uri = "/apis/" + r.group + "/v1/namespaces/" + r.ns + "/" + r.resource + "/" + r.name
		dur = g.lognormal(6*time.Millisecond, 0.7)
		if r.verb == "update" && g.rng.IntN(20) == 0 {
			r.code = 409
		}
	case x < 0.70: // informers: watches and their relists
		who := g.pick([]string{"calico-node", "otel-collector", "kube-proxy", "coredns"})
		r.user = "system:serviceaccount:kube-system:" + who
		r.groups = []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}
		r.ua = who + "/v0.0.0 (linux/amd64) kubernetes/$Format"
		r.extraPod = who + "-" + strconv.Itoa(g.rng.IntN(400))
		r.ip = fmt.Sprintf("10.67.%d.%d", g.rng.IntN(200), g.rng.IntN(250)+1)
		r.resource = g.pick([]string{"pods", "services", "endpointslices", "namespaces"})
		if r.resource == "endpointslices" {
			r.group = "discovery.k8s.io"
		}
		if g.rng.IntN(10) == 0 {
			r.verb = "list"
			r.uri = "/api/v1/" + r.resource + "?limit=500&resourceVersion=0"
			dur = g.lognormal(40*time.Millisecond, 0.6)
		} else {
			r.verb = "watch"
			r.uri = "/api/v1/" + r.resource + "?allowWatchBookmarks=true&resourceVersion=" + strconv.Itoa(1000000+g.rng.IntN(1000000)) + "&timeout=7m41s&timeoutSeconds=461&watch=true"
			dur = int64(300+g.rng.IntN(160)) * 1e9
		}
	case x < 0.80: // scheduler
		r.user, r.groups = "system:kube-scheduler", []string{"system:authenticated"}
		r.ua = "kube-scheduler/v1.30.4 (linux/amd64) kubernetes/a51b3b7/scheduler"
		r.ip = "10.64.0.117"
		r.ns = g.pick(genNamespaces)
		r.verb, r.resource, r.name = "create", "pods", fmt.Sprintf("web-%x", g.rng.Uint32())
		r.uri = "/api/v1/namespaces/" + r.ns + "/pods/" + r.name + "/binding"
		dur = g.lognormal(8*time.Millisecond, 0.5)
	case x < 0.88: // people and deploy tooling
		who := g.pick([]string{"alice", "bob", "mwdeploy", "helm-ci"})
		r.user, r.groups = who, []string{"ops", "system:authenticated"}
		r.ua = g.pick([]string{"kubectl/v1.30.4 (linux/amd64) kubernetes/a51b3b7", "Helm/3.14.4"})
		r.ip = "10.192.48.91"
		r.ns = g.pick(genNamespaces)
		r.resource = g.pick([]string{"pods", "deployments", "configmaps", "secrets"})
		if r.resource == "deployments" {
			r.group = "apps"
		}
		r.verb = "list"
		r.uri = "/api/v1/namespaces/" + r.ns + "/" + r.resource + "?limit=500"
		dur = g.lognormal(60*time.Millisecond, 0.8)
		if g.rng.IntN(50) == 0 {
			r.code = 429
		}
	default:
		dur = g.admissionList(&r)
	}
	r.start = end - dur
	g.finish(&r)
	return r
}

// admissionList fills r with a LIST of the admission controller of incident
// 004: parallel LISTs without resourceVersion. It returns its duration.
func (g *generator) admissionList(r *genRequest) int64 {
	r.code = 200
	r.user = "system:serviceaccount:nodegroups:nodegroup-controller"
	r.groups = []string{"system:serviceaccounts", "system:serviceaccounts:nodegroups", "system:authenticated"}
	r.ua = "nodegroup-controller/v0.3.1 (linux/amd64)"
	r.extraPod = "nodegroup-controller-7d9f8-" + strconv.Itoa(g.rng.IntN(3))
	r.ip = "10.67.12.40"
	r.verb = "list"
	if g.rng.IntN(3) == 0 {
		r.resource = "nodes"
		r.uri = "/api/v1/nodes?labelSelector=nodegroup%3Dng-" + strconv.Itoa(g.rng.IntN(40))
	} else {
		r.resource = "pods"
		r.uri = "/api/v1/pods?fieldSelector=spec.nodeName%3Dwikikube-worker" + fmt.Sprintf("%04d", g.rng.IntN(400))
	}
	dur := g.lognormal(1500*time.Millisecond, 0.5)
	if g.rng.IntN(40) == 0 {
		r.code = 504
	}
	return dur
}

// finish gives r the last random parts every request has.
func (g *generator) finish(r *genRequest) {
	if r.verb == "delete" && r.code == 200 && g.rng.IntN(4) == 0 {
		r.code = 404
	}
	if r.uid == "" {
		r.uid = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.rng.Uint32(), g.rng.Uint32()&0xffff, g.rng.Uint32()&0xfff, g.rng.Uint32()&0xfff, g.rng.Uint64()&0xffffffffffff)
	}
}

// event appends one JSON line in the field order of the API server's encoder.
func (g *generator) event(b []byte, r *genRequest, stage string, ts int64) []byte {
	g.id++
	b = append(b, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"`...)
	b = fmt.Appendf(b, "%08x-%04x-4%03x-a%03x-%012x", uint32(g.id*2654435761), g.id&0xffff, (g.id>>4)&0xfff, (g.id>>8)&0xfff, g.id)
	b = append(b, `","stage":"`...)
	b = append(b, stage...)
	b = append(b, `","requestURI":`...)
	b = appendJSONString(b, r.uri)
	b = append(b, `,"verb":"`...)
	b = append(b, r.verb...)
	b = append(b, `","user":{"username":`...)
	b = appendJSONString(b, r.user)
	b = append(b, `,"uid":"`...)
	b = append(b, r.uid...)
	b = append(b, `","groups":[`...)
	for i, gr := range r.groups {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, gr)
	}
	b = append(b, ']')
	if r.extraPod != "" {
		b = append(b, `,"extra":{"authentication.kubernetes.io/credential-id":["JTI=`...)
		b = fmt.Appendf(b, "%08x-%04x", uint32(g.id*40503), g.id&0xffff)
		b = append(b, `"],"authentication.kubernetes.io/node-name":["wikikube-worker0042"],"authentication.kubernetes.io/pod-name":[`...)
		b = appendJSONString(b, r.extraPod)
		b = append(b, `],"authentication.kubernetes.io/pod-uid":["`...)
		b = append(b, r.uid...)
		b = append(b, `"]}`...)
	}
	b = append(b, `},"sourceIPs":["`...)
	b = append(b, r.ip...)
	b = append(b, `"],"userAgent":`...)
	b = appendJSONString(b, r.ua)
	b = append(b, `,"objectRef":{"resource":"`...)
	b = append(b, r.resource...)
	b = append(b, '"')
	if r.ns != "" {
		b = append(b, `,"namespace":"`...)
		b = append(b, r.ns...)
		b = append(b, '"')
	}
	if r.name != "" {
		b = append(b, `,"name":"`...)
		b = append(b, r.name...)
		b = append(b, '"')
	}
	if r.group != "" {
		b = append(b, `,"apiGroup":"`...)
		b = append(b, r.group...)
		b = append(b, '"')
	}
	b = append(b, `,"apiVersion":"v1"}`...)
	if stage != "RequestReceived" {
		b = append(b, `,"responseStatus":{"metadata":{},`...)
		if r.code >= 400 {
			b = append(b, `"status":"Failure","message":"request failed","reason":"`...)
			b = append(b, reasonFor(r.code)...)
			b = append(b, `",`...)
		}
		b = fmt.Appendf(b, `"code":%d}`, r.code)
	}
	b = append(b, `,"requestReceivedTimestamp":"`...)
	b = appendMicroTime(b, r.start)
	b = append(b, `","stageTimestamp":"`...)
	b = appendMicroTime(b, ts)
	b = append(b, `"`...)
	if stage != "RequestReceived" {
		b = append(b, `,"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":`...)
		b = appendJSONString(b, `RBAC: allowed by ClusterRoleBinding "system:`+r.verb+`" of ClusterRole "system:`+r.resource+`" to Group "system:authenticated"`)
		if r.annotation != "" {
			b = append(b, ',')
			b = append(b, r.annotation...)
		}
		b = append(b, `}`...)
	}
	b = append(b, "}\n"...)
	return b
}

func reasonFor(code int) string {
	switch code {
	case 404:
		return "NotFound"
	case 409:
		return "Conflict"
	case 429:
		return "TooManyRequests"
	default:
		return "Timeout"
	}
}

func appendMicroTime(b []byte, ns int64) []byte {
	return time.Unix(0, ns/1000*1000).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}

// appendJSONString escapes like encoding/json with HTML escaping on, which
// is what the API server's audit encoder produces (& as \u0026).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '&' || c == '<' || c == '>' || c < 0x20:
			b = fmt.Appendf(b, `\u%04x`, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
