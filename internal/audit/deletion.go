package audit

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Target names the object whose deletion is traced.
type Target struct {
	Resource  string // plural, lower-case: "namespaces", "configmaps"
	Group     string // API group when given as resource.group
	Namespace string // for a Namespace: its own name
	Name      string
}

// IsNamespace reports whether the target is a Namespace, whose deletion
// cascades through the namespace controller.
func (t Target) IsNamespace() bool { return t.Resource == "namespaces" }

func (t Target) String() string {
	r := t.Resource
	if t.Group != "" {
		r += "." + t.Group
	}
	if t.IsNamespace() || t.Namespace == "" {
		return r + "/" + t.Name
	}
	return r + "/" + t.Namespace + "/" + t.Name
}

// ParseTarget reads "namespace/NAME", "KIND/NAMESPACE/NAME" or, for a
// cluster-scoped object, "KIND/NAME". KIND may be a kind or a resource, in
// any case, singular or plural, with an optional ".group"
// ("Deployment", "deployments.apps", "cm" is not understood: spell it out).
func ParseTarget(s string) (Target, error) {
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if p == "" {
			return Target{}, fmt.Errorf("deleted object %q: empty part; want namespace/NAME or KIND/NAMESPACE/NAME", s)
		}
	}
	var t Target
	kind := ""
	switch len(parts) {
	case 2:
		kind, t.Name = parts[0], parts[1]
	case 3:
		kind, t.Namespace, t.Name = parts[0], parts[1], parts[2]
	default:
		return Target{}, fmt.Errorf("deleted object %q: want namespace/NAME or KIND/NAMESPACE/NAME", s)
	}
	kind = strings.ToLower(kind)
	if i := strings.IndexByte(kind, '.'); i >= 0 {
		kind, t.Group = kind[:i], kind[i+1:]
	}
	t.Resource = pluralize(kind)
	if t.Resource == "namespaces" {
		if len(parts) == 3 {
			return Target{}, fmt.Errorf("deleted object %q: a namespace is named namespace/NAME", s)
		}
		t.Namespace = t.Name
	}
	return t, nil
}

// pluralize turns a lower-case kind into its resource name the way the API
// server's default RESTMapper does (it is what built-in kinds use).
func pluralize(k string) string {
	switch {
	case k == "endpoints" || strings.HasSuffix(k, "s") && !strings.HasSuffix(k, "ss"):
		// Already plural ("pods", "endpoints"); "ingress" keeps going.
		return k
	case strings.HasSuffix(k, "ss") || strings.HasSuffix(k, "x") || strings.HasSuffix(k, "ch") || strings.HasSuffix(k, "sh"):
		return k + "es"
	case strings.HasSuffix(k, "y") && len(k) > 1 && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	default:
		return k + "s"
	}
}

// matches selects the events deletion forensics keeps: every delete in the
// target's namespace (the cascade) and every change to the target itself.
func (t *Target) matches(ev *Event) bool {
	verb := string(ev.Verb)
	isDelete := verb == "delete" || verb == "deletecollection"
	if t.Namespace != "" && string(ev.Namespace) == t.Namespace {
		// Deletes are the cascade; creates tell what the namespace held.
		if isDelete || verb == "create" && len(ev.Subresource) == 0 {
			return true
		}
	}
	if string(ev.Resource) != t.Resource || string(ev.Name) != t.Name {
		return false
	}
	if !t.IsNamespace() && string(ev.Namespace) != t.Namespace {
		return false
	}
	if t.Group != "" && string(ev.APIGroup) != t.Group {
		return false
	}
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// Deletion is one audited change kept by deletion forensics.
type Deletion struct {
	Time        time.Time `json:"time"`
	Received    time.Time `json:"received"`
	User        string    `json:"user"`
	UserAgent   string    `json:"userAgent,omitempty"`
	SourceIPs   []string  `json:"sourceIPs,omitempty"`
	Verb        string    `json:"verb"`
	Resource    string    `json:"resource"`
	Subresource string    `json:"subresource,omitempty"`
	Namespace   string    `json:"namespace,omitempty"`
	Name        string    `json:"name,omitempty"`
	Code        int       `json:"code"`
	AuditID     string    `json:"auditID,omitempty"`
	Actor       string    `json:"actor"`
	// Objects: what a successful delete removed: its object for a delete
	// by name; for a deletecollection, the objects of that resource created
	// in these logs and not deleted since (ObjectCount includes unnamed ones).
	Objects     []string `json:"objects,omitempty"`
	ObjectCount int      `json:"objectCount,omitempty"`
}

func newDeletion(ev *Event) Deletion {
	res := string(ev.Resource)
	if len(ev.APIGroup) > 0 {
		res += "." + string(ev.APIGroup)
	}
	received := ev.Received
	if received == 0 {
		received = ev.StageTime
	}
	d := Deletion{
		Time:        time.Unix(0, ev.StageTime).UTC(),
		Received:    time.Unix(0, received).UTC(),
		User:        string(ev.Username),
		UserAgent:   string(ev.UserAgent),
		SourceIPs:   ev.IPs(),
		Verb:        string(ev.Verb),
		Resource:    res,
		Subresource: string(ev.Subresource),
		Namespace:   string(ev.Namespace),
		Name:        string(ev.Name),
		Code:        ev.Code,
		AuditID:     string(ev.AuditID),
	}
	d.Actor = actor(d.User)
	return d
}

// Who in the control plane deletes things on its own.
const (
	ActorNamespaceController = "namespace-controller"
	ActorGarbageCollector    = "garbage-collector"
	ActorControllerManager   = "controller-manager" // all controllers share one identity
	ActorOther               = "other"
)

func actor(user string) string {
	switch user {
	case "system:serviceaccount:kube-system:namespace-controller":
		return ActorNamespaceController
	case "system:serviceaccount:kube-system:generic-garbage-collector":
		return ActorGarbageCollector
	case "system:kube-controller-manager":
		// Without --use-service-account-credentials every controller
		// uses this identity; the verb and timing tell them apart.
		return ActorControllerManager
	}
	return ActorOther
}

// DeletionReport is what deletion forensics found.
type DeletionReport struct {
	Target string `json:"target"`
	// Requests are the delete requests for the target itself, oldest first;
	// Request is the first that succeeded.
	Requests []Deletion `json:"requests"`
	Request  *Deletion  `json:"request,omitempty"`
	// Changes to the target other than deletes (creation, status updates by
	// the namespace controller while it retries, finalize), the first
	// maxListed of ChangeCount.
	Changes     []Deletion `json:"changes,omitempty"`
	ChangeCount int64      `json:"changeCount"`
	// Cascade: deletes by the namespace controller, the garbage collector or
	// the controller manager after the request.
	Cascade        []CascadeGroup `json:"cascade"`
	CascadeDeletes int64          `json:"cascadeDeletes"`
	CascadeStart   *time.Time     `json:"cascadeStart,omitempty"`
	CascadeEnd     *time.Time     `json:"cascadeEnd,omitempty"`
	// Gap is from the delete request to the first delete of the cascade:
	// four days in incident 004.
	GapSeconds      *float64 `json:"gapSeconds,omitempty"`
	DurationSeconds *float64 `json:"cascadeDurationSeconds,omitempty"`
	// LastRemoved ends the cascade's first pass: the latest of the first
	// deletes of each resource. Objects cannot be created in a terminating
	// namespace, so the first successful delete or deletecollection of a
	// resource removes what there was; later ones are retries (the namespace
	// controller repeats every deletecollection until it can finalize) that
	// remove nothing. At Metadata level the log does not say how many
	// objects one deletecollection removed, possibly none.
	LastRemoved *Deletion `json:"lastRemoved,omitempty"`
	// KnownObjects: objects in the namespace at the request that were
	// created in these logs; Remaining: those no delete was seen to remove.
	KnownObjects int64    `json:"knownObjects"`
	Remaining    []string `json:"remaining,omitempty"`
	// LastNamed is the last delete that names its object.
	LastNamed *Deletion `json:"lastNamed,omitempty"`
	// Retries counts deletes of a resource after its first one.
	Retries int64 `json:"retries"`
	// Removed: for a namespace, the controller's finalize call after which
	// the API server removes the namespace object.
	Removed *Deletion `json:"removed,omitempty"`
	// OtherDeletes: deletes in the namespace after the request by other
	// users (Helm, a person), listed apart from the cascade.
	OtherDeletes []Deletion `json:"otherDeletes,omitempty"`
	// Before: deletes in the namespace before the request.
	Before int64    `json:"deletesBefore"`
	Notes  []string `json:"notes,omitempty"`
}

// CascadeGroup counts the cascade's deletes of one resource by one actor.
type CascadeGroup struct {
	Actor    string    `json:"actor"`
	User     string    `json:"user"`
	Resource string    `json:"resource"`
	Verb     string    `json:"verb"`
	Count    int64     `json:"count"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	// Removed: objects these deletes removed (see Deletion.Objects).
	Removed int64 `json:"removed"`
}

const maxListed = 50

func analyzeDeletion(t Target, evs []Deletion) *DeletionReport {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	r := &DeletionReport{Target: t.String()}
	isTarget := func(d *Deletion) bool {
		res, _, _ := strings.Cut(d.Resource, ".")
		return res == t.Resource && d.Name == t.Name
	}
	for i := range evs {
		d := &evs[i]
		if !isTarget(d) {
			continue
		}
		if d.Verb == "delete" && d.Subresource == "" {
			r.Requests = append(r.Requests, *d)
			if r.Request == nil && d.Code >= 200 && d.Code < 300 && d.Actor != ActorNamespaceController {
				r.Request = &r.Requests[len(r.Requests)-1]
			}
		} else {
			r.ChangeCount++
			if len(r.Changes) < maxListed {
				r.Changes = append(r.Changes, *d)
			}
			if t.IsNamespace() && d.Subresource == "finalize" && d.Code >= 200 && d.Code < 300 {
				r.Removed = d
			}
		}
	}
	if r.Request != nil {
		// Requests may have grown after the pointer was taken.
		for i := range r.Requests {
			if r.Requests[i].AuditID == r.Request.AuditID && r.Requests[i].Time.Equal(r.Request.Time) {
				r.Request = &r.Requests[i]
				break
			}
		}
	}
	if r.Request == nil {
		if len(r.Requests) == 0 {
			r.Notes = append(r.Notes, "no delete request for the target in these logs: widen --since/--until or add older rotated logs (in incident 004 it was four days earlier)")
		} else {
			r.Notes = append(r.Notes, "no successful delete request for the target in these logs; the attempts are listed")
		}
		return r
	}
	req := r.Request
	createdInLogs := false
	for _, c := range r.Changes {
		if !t.IsNamespace() {
			break
		}
		if c.Verb == "create" && c.Code >= 200 && c.Code < 300 {
			createdInLogs = true
		}
	}
	known, remaining := trackObjects(t, evs, req, createdInLogs)
	r.KnownObjects = known
	r.Remaining = remaining
	groups := map[[4]string]*CascadeGroup{}
	var lastKnown *Deletion
	firstOf := map[string]*Deletion{} // resource -> its first delete in the cascade
	for i := range evs {
		d := &evs[i]
		if d.Verb != "delete" && d.Verb != "deletecollection" {
			continue
		}
		if d.Time.Before(req.Received) {
			r.Before++
			continue
		}
		if d.AuditID == req.AuditID {
			continue
		}
		if isTarget(d) {
			continue // a repeated request, listed in Requests
		}
		if d.Code >= 300 {
			continue // failed deletes removed nothing
		}
		if d.Actor == ActorOther {
			if len(r.OtherDeletes) < maxListed {
				r.OtherDeletes = append(r.OtherDeletes, *d)
			}
			continue
		}
		if !t.IsNamespace() && d.Actor == ActorNamespaceController {
			continue
		}
		k := [4]string{d.Actor, d.User, d.Resource, d.Verb}
		g, ok := groups[k]
		if !ok {
			g = &CascadeGroup{Actor: d.Actor, User: d.User, Resource: d.Resource, Verb: d.Verb, First: d.Time}
			groups[k] = g
		}
		g.Count++
		g.Last = d.Time
		g.Removed += int64(d.ObjectCount)
		r.CascadeDeletes++
		if r.CascadeStart == nil {
			ts := d.Time
			r.CascadeStart = &ts
		}
		te := d.Time
		r.CascadeEnd = &te
		if d.Name != "" {
			r.LastNamed = d
		}
		if d.ObjectCount > 0 {
			lastKnown = d
		}
		// A named delete is its own object; a collection is per resource.
		key := d.Resource
		if d.Name != "" {
			key += "/" + d.Name
		}
		if _, seen := firstOf[key]; seen {
			r.Retries++
			continue
		}
		firstOf[key] = d
		if r.LastRemoved == nil || !d.Time.Before(r.LastRemoved.Time) {
			r.LastRemoved = d
		}
	}
	if lastKnown != nil {
		// The log says what the namespace held: the last delete that
		// removed some of it is the last object removed.
		r.LastRemoved = lastKnown
	}
	if r.Retries > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d deletes repeated an earlier one for the same resource: the namespace controller retries while it cannot finalize the namespace (for example when discovery fails for an unavailable APIService); the first pass ended at the last object removed", r.Retries))
	}
	for _, g := range groups {
		r.Cascade = append(r.Cascade, *g)
	}
	sort.Slice(r.Cascade, func(i, j int) bool {
		a, b := r.Cascade[i], r.Cascade[j]
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		return a.Resource < b.Resource
	})
	if r.CascadeStart != nil {
		gap := r.CascadeStart.Sub(req.Time).Seconds()
		dur := r.CascadeEnd.Sub(*r.CascadeStart).Seconds()
		r.GapSeconds, r.DurationSeconds = &gap, &dur
	} else {
		r.Notes = append(r.Notes, "no cascade after the request in these logs: the namespace controller or garbage collector has not run yet (an unavailable APIService blocks namespace deletion, incident 004) or the logs end too early")
	}
	if r.Removed != nil && r.Removed.Time.Before(req.Time) {
		r.Removed = nil
	}
	if t.IsNamespace() && r.Removed == nil {
		r.Notes = append(r.Notes, "the namespace itself was not seen removed by its controller: it may still be Terminating")
	}
	if !t.IsNamespace() {
		r.Notes = append(r.Notes, "at Metadata level the audit log does not carry owner references: garbage-collector deletes in the namespace after the request are shown, they may include dependents of other owners")
	}
	return r
}

const maxObjectNames = 20

// trackObjects replays creates and deletes in the target's namespace: it
// sets Objects on each delete to what it removed among objects created in
// these logs, and returns how many such objects existed at the request and
// which were never seen removed.
//
// When the logs hold the namespace's own creation, every object in it was
// created in these logs: a delete of a name never seen created is then one
// of the objects created with generateName (which have no name at Metadata
// level).
func trackObjects(t Target, evs []Deletion, req *Deletion, nsCreatedInLogs bool) (int64, []string) {
	if t.Namespace == "" {
		return 0, nil
	}
	type alive struct {
		names   []string
		unnamed int
	}
	live := map[string]*alive{}
	get := func(res string) *alive {
		a, ok := live[res]
		if !ok {
			a = &alive{}
			live[res] = a
		}
		return a
	}
	var atRequest int64 = -1
	count := func() int64 {
		var n int64
		for _, a := range live {
			n += int64(len(a.names) + a.unnamed)
		}
		return n
	}
	for i := range evs {
		d := &evs[i]
		if atRequest < 0 && !d.Time.Before(req.Time) {
			atRequest = count()
		}
		if d.Code < 200 || d.Code >= 300 || d.Namespace != t.Namespace || d.Resource == "namespaces" || d.Subresource != "" {
			continue
		}
		a := get(d.Resource)
		switch d.Verb {
		case "create":
			if d.Name != "" {
				a.names = append(a.names, d.Name)
			} else {
				a.unnamed++
			}
		case "delete":
			// A successful delete by name removed that object, created in
			// these logs or before them.
			if i := indexOf(a.names, d.Name); i >= 0 {
				a.names = append(a.names[:i], a.names[i+1:]...)
			} else if nsCreatedInLogs && a.unnamed > 0 {
				a.unnamed--
			}
			if d.Name != "" {
				d.Objects, d.ObjectCount = []string{d.Name}, 1
			}
		case "deletecollection":
			// The namespace controller deletes whole collections; a
			// selector would remove fewer, which Metadata level hides.
			d.ObjectCount = len(a.names) + a.unnamed
			d.Objects = append([]string(nil), a.names[:min(len(a.names), maxObjectNames)]...)
			a.names, a.unnamed = nil, 0
		}
	}
	if atRequest < 0 {
		atRequest = count()
	}
	var rest []string
	for res, a := range live {
		for _, n := range a.names {
			rest = append(rest, res+"/"+n)
		}
		if a.unnamed > 0 {
			rest = append(rest, fmt.Sprintf("%s: %d unnamed", res, a.unnamed))
		}
	}
	sort.Strings(rest)
	if len(rest) > maxListed {
		rest = rest[:maxListed]
	}
	return atRequest, rest
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
