package audit

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// WebhookDeletes are Count node-group DELETEs by a deploy tool, the first At
// after the start and then Every apart, each admitted by the deletion
// webhook of incident 004: while the DELETE waits, the webhook's backend
// lists the group's nodes by label, then the pods of Lists-1 nodes in
// parallel, without resourceVersion. The answer premortem audit must give
// is a fan-out of Lists LISTs per DELETE. Mutating makes the webhook a
// mutating one, which the API server names in the DELETE's annotations.
type WebhookDeletes struct {
	At, Every    time.Duration
	Count, Lists int
	Mutating     bool
}

// Identities of the generated fan-out, for tests.
const (
	FanOutDeleter = "spinnaker"
	FanOutBackend = "system:serviceaccount:nodegroups:nodegroup-webhook"
	FanOutWebhook = "nodegroup-protection/protect.nodegroups.example.com"
)

// fanClock hands out the requests of WebhookDeletes in completion order.
type fanClock struct {
	due []fanDue
	rng *rand.Rand
	g   *generator
}

type fanDue struct {
	r   genRequest
	end int64
}

func newFanClock(o GenerateOptions) *fanClock {
	c := &fanClock{rng: rand.New(rand.NewPCG(o.Seed^0x2545f491, o.Seed))}
	c.g = &generator{rng: c.rng, o: o}
	for _, wd := range o.WebhookDeletes {
		for i := range wd.Count {
			c.deletion(o.Start.UnixNano()+int64(wd.At)+int64(i)*int64(wd.Every), i, wd)
		}
	}
	slices.SortStableFunc(c.due, func(a, b fanDue) int { return cmp.Compare(a.end, b.end) })
	return c
}

// deletion queues one DELETE received at t and the LISTs it sets off.
func (c *fanClock) deletion(t int64, i int, wd WebhookDeletes) {
	g := c.g
	backend := func(uri, resource string, start, dur int64) {
		r := genRequest{code: 200, user: FanOutBackend, verb: "list", resource: resource, uri: uri, start: start,
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:nodegroups", "system:authenticated"},
			ua:     "nodegroup-webhook/v2.0.0 (linux/amd64)", ip: "10.67.12.41", extraPod: "nodegroup-webhook-5c8d7-" + strconv.Itoa(i%2)}
		g.finish(&r)
		c.due = append(c.due, fanDue{r: r, end: start + dur})
	}
	group := "ng-" + strconv.Itoa(i)
	call := t + int64(2*time.Millisecond)
	nodesDone := call + g.lognormal(20*time.Millisecond, 0.3)
	backend("/api/v1/nodes?labelSelector=nodegroup%3D"+group, "nodes", call, nodesDone-call)
	last := nodesDone
	for j := range max(wd.Lists-1, 0) {
		start := nodesDone + int64(j)*int64(100*time.Microsecond)
		dur := g.lognormal(80*time.Millisecond, 0.4)
		backend(fmt.Sprintf("/api/v1/pods?fieldSelector=spec.nodeName%%3D%s-worker%03d", group, j), "pods", start, dur)
		last = max(last, start+dur)
	}
	d := genRequest{code: 200, user: FanOutDeleter, groups: []string{"deployers", "system:authenticated"}, ua: "Spinnaker/1.30",
		ip: "10.192.48.20", verb: "delete", resource: "nodegroups", group: "nodegroups.example.com", name: group,
		uri: "/apis/nodegroups.example.com/v1/nodegroups/" + group, start: t}
	if wd.Mutating {
		d.annotation = `"mutation.webhook.admission.k8s.io/round_0_index_0":` +
			strconv.Quote(`{"configuration":"nodegroup-protection","webhook":"protect.nodegroups.example.com","mutated":false}`)
	}
	g.finish(&d)
	d.code = 200 // finish makes some deletes 404s; these are admitted
	c.due = append(c.due, fanDue{r: d, end: last + int64(3*time.Millisecond)})
}

// next returns the earliest request due before limit, and when it ends.
func (c *fanClock) next(limit int64) (genRequest, int64, bool) {
	if len(c.due) == 0 || c.due[0].end >= limit {
		return genRequest{}, 0, false
	}
	d := c.due[0]
	c.due = c.due[1:]
	return d.r, d.end, true
}
