// Package auditlog reads a lab API server's audit log for the end-to-end
// tests, and holds the read-cost assertions every verb's test shares: what
// DESIGN.md ("Reading a cluster without hurting it") promises, checked from
// the API server's own record.
package auditlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/kube"
)

// Event is the part of an audit.k8s.io/v1 Event the tests read.
type Event struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	User       struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	ObjectRef *struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		APIGroup  string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received metav1.MicroTime `json:"requestReceivedTimestamp"`
}

// Kind is the event's "resource.group" ("pods.", "jobs.batch"), or its
// path when it names no object.
func (ev Event) Kind() string {
	if ev.ObjectRef == nil {
		u, _ := url.Parse(ev.RequestURI)
		return u.Path
	}
	return ev.ObjectRef.Resource + "." + ev.ObjectRef.APIGroup
}

// Size is the log's size now: events after it belong to what a test does
// next.
func Size(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// Since returns the completed requests (ResponseComplete stage: the lab
// logs one per request) logged after offset bytes of the log at path whose
// user agent starts with agent ("" for all), in the order the server
// received them. The log backend writes each event before the response but
// may not have flushed it yet: Since waits until the file stops growing.
func Since(t testing.TB, path string, offset int64, agent string) []Event {
	t.Helper()
	return since(t, path, offset, agent, func(ev *Event) bool { return ev.Stage == "ResponseComplete" })
}

// Requests is Since with the watches that are still open: the requests
// received after offset, each once. A watch is logged when its response
// starts and again when it ends: Requests keeps the start. A watch refused
// before streaming is logged only when it ends.
func Requests(t testing.TB, path string, offset int64, agent string) []Event {
	t.Helper()
	started := map[string]bool{}
	return since(t, path, offset, agent, func(ev *Event) bool {
		switch {
		case ev.Stage == "ResponseStarted":
			started[ev.AuditID] = true
			return true
		case ev.Stage == "ResponseComplete":
			// A watch that streamed has a ResponseStarted event, maybe
			// before offset: it is not a request of this window.
			streamed := ev.Verb == "watch" && ev.ResponseStatus != nil && ev.ResponseStatus.Code == 200
			return !started[ev.AuditID] && !streamed
		}
		return false
	})
}

func since(t testing.TB, path string, offset int64, agent string, keep func(*Event) bool) []Event {
	t.Helper()
	for size, deadline := int64(-1), time.Now().Add(3*time.Second); time.Now().Before(deadline); {
		n := Size(t, path)
		if n == size {
			break
		}
		size = n
		time.Sleep(150 * time.Millisecond)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	sc := bufio.NewScanner(bytes.NewReader(data[offset:]))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		if strings.HasPrefix(ev.UserAgent, agent) && keep(&ev) {
			events = append(events, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(events, func(a, b Event) int { return a.Received.Compare(b.Received.Time) })
	return events
}

// Chain sums the LIST requests of one kind.
type Chain struct {
	Chains int   // first pages: chains begun (per namespace and selector)
	Pages  int   // requests, first pages included
	Limit  int64 // the largest limit asked
	// Scopes counts the chains by namespace ("" for cluster-wide): a scan
	// lists a kind once cluster-wide, and may list a namespace of it
	// besides (ConfigMap data).
	Scopes map[string]int
	// Consistent counts the chains whose first page was a consistent read
	// narrowed by a label selector (kube.ListOptions.Consistent).
	Consistent int
}

// MostPerScope is the largest number of chains of one scope.
func (c *Chain) MostPerScope() int {
	most := 0
	for _, n := range c.Scopes {
		most = max(most, n)
	}
	return most
}

// Lists checks every LIST among events as DESIGN.md asks: a limit on every
// page, the first page of a chain from the watch cache
// (resourceVersion=kube.FirstPageResourceVersion with
// resourceVersionMatch=NotOlderThan, never "0", with which the API server
// ignores the limit) or, narrowed by a label selector, a consistent read
// (Chain.Consistent), continue pages with a continue token and no
// resourceVersion. It returns the chains by kind (Event.Kind).
func Lists(t testing.TB, events []Event) map[string]*Chain {
	t.Helper()
	chains := map[string]*Chain{}
	for _, ev := range events {
		if ev.Verb != "list" {
			continue
		}
		u, err := url.Parse(ev.RequestURI)
		if err != nil {
			t.Fatalf("request URI %q: %v", ev.RequestURI, err)
		}
		q := u.Query()
		c := chains[ev.Kind()]
		if c == nil {
			c = &Chain{}
			chains[ev.Kind()] = c
		}
		c.Pages++
		limit, err := strconv.ParseInt(q.Get("limit"), 10, 64)
		if err != nil || limit <= 0 {
			t.Errorf("LIST without a limit: %s", ev.RequestURI)
		}
		c.Limit = max(c.Limit, limit)
		if q.Get("continue") != "" {
			if q.Get("resourceVersion") != "" || q.Get("resourceVersionMatch") != "" {
				t.Errorf("continue page with a resourceVersion: %s", ev.RequestURI)
			}
			continue
		}
		c.Chains++
		if c.Scopes == nil {
			c.Scopes = map[string]int{}
		}
		if ev.ObjectRef != nil {
			c.Scopes[ev.ObjectRef.Namespace]++
		} else {
			c.Scopes[""]++
		}
		if q.Get("resourceVersion") == "" && q.Get("resourceVersionMatch") == "" && q.Get("labelSelector") != "" {
			// kube.ListOptions.Consistent: a few objects narrowed by a
			// selector, read fresh (a Helm release's records).
			c.Consistent++
			continue
		}
		if q.Get("resourceVersion") != kube.FirstPageResourceVersion || q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan) {
			t.Errorf("first page not from the watch cache (want resourceVersion=%s&resourceVersionMatch=NotOlderThan): %s", kube.FirstPageResourceVersion, ev.RequestURI)
		}
	}
	return chains
}

// Paged checks that kind, of which the test knows at least objects exist
// where it was listed, was read in pages smaller than that: a limit under
// the count, and at least as many pages as the count needs. It logs the
// figures.
func Paged(t testing.TB, chains map[string]*Chain, kind string, objects int) {
	t.Helper()
	c := chains[kind]
	if c == nil {
		t.Errorf("%s: not listed", kind)
		return
	}
	t.Logf("%s: %d objects, %d LIST requests in %d chains, limit %d", kind, objects, c.Pages, c.Chains, c.Limit)
	if c.Limit >= int64(objects) {
		t.Errorf("%s: limit %d is not smaller than its %d objects: pagination untested", kind, c.Limit, objects)
		return
	}
	if need := (objects + int(c.Limit) - 1) / int(c.Limit); c.Pages < need {
		t.Errorf("%s: %d pages of %d for %d objects, want at least %d", kind, c.Pages, c.Limit, objects, need)
	}
}
