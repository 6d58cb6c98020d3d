package etcd

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/snapshot"
)

// ChurnWithoutQuota is the churn-without-quota check.
var ChurnWithoutQuota = &check.Check{
	ID:        "churn-without-quota",
	Title:     "Namespaces creating Jobs, Helm releases or NetworkPolicies fast with no object-count quota",
	Category:  "storage",
	Severity:  check.Medium,
	Incidents: []string{"001", "252", "253", "261"},
	Reads:     []snapshot.Resource{snapshot.Jobs, snapshot.ResourceQuotas},
	Optional:  []snapshot.Resource{snapshot.Secrets, snapshot.ConfigMaps, snapshot.NetworkPolicies},
	Doc: `Counts, per namespace, the Jobs (those of CronJobs aside: the CronJob's
history limits bound them), Helm release records (Secrets or ConfigMaps
labelled owner=helm or OWNER=TILLER) and NetworkPolicies created within the
last window, and reports a namespace that created more than max-created of
one of them while no ResourceQuota there limits their count
(count/jobs.batch; count/secrets or secrets; count/configmaps or configmaps;
count/networkpolicies.networking.k8s.io). Nothing else bounds a script or a
controller that creates an object per run: in incident 001 a maintenance
tool installed a Helm release per run, each with a Job and NetworkPolicies,
and nothing stopped it until Calico fell over; 12,000 Jobs (of a CronJob,
before CronJobs had history limits) made kube-apiserver run out of memory
(incident 252) and 260,000 made etcd slow
(incident 253). Kubernetes has no other limit on how fast objects are
created (incident 261).

Objects already deleted are not seen, so the rate is a lower bound. The
evidence names who creates the objects: the newest Jobs' owner and their
containers' command and arguments, the newest releases and policies.`,
	Remediation: `Find the creator from the evidence (the Jobs' command, the releases' names) and
make it clean up (ttlSecondsAfterFinished, helm uninstall, one reused
release). Then bound the namespace with a ResourceQuota on object counts,
e.g. spec.hard: {count/jobs.batch: "500", count/secrets: "1000",
count/networkpolicies.networking.k8s.io: "200"}, so that a runaway creator
is refused instead of filling etcd.`,
	Params: []check.Param{
		{Name: "window", Type: check.Duration, Default: "168h",
			Doc: "How far back creation times are counted."},
		{Name: "max-created", Type: check.Int, Default: "50", Min: "1",
			Doc: "Report a namespace that created more objects of one kind than this within window, without a count quota for the kind."},
		{Name: "examples", Type: check.Int, Default: "3", Doc: "How many of the newest objects of each kind the evidence describes."},
	},
	Evidence: []check.EvidenceKey{
		{Name: "namespace", Doc: "the namespace"},
		{Name: "window", Doc: "the window counted"},
		{Name: "threshold", Doc: "max-created"},
		{Name: "created", Doc: "objects created within window, by kind (those over the threshold)"},
		{Name: "perDay", Doc: "the same, per day"},
		{Name: "quotaKeys", Doc: "the ResourceQuota keys that would bound each kind (none is set in the namespace)"},
		{Name: "newestJobs", Doc: "the newest Jobs: name, created, owner (kind/name, when owned), command (containers' command and args)"},
		{Name: "newestReleases", Doc: "the newest Helm release records: name, release, created"},
		{Name: "newestNetworkPolicies", Doc: "the newest NetworkPolicies: name, created, release (Helm, when labelled)"},
	},
	Run: runChurnWithoutQuota,
}

// churnKind is one kind of object a namespace may create without bound.
type churnKind struct {
	name      string   // as the finding says it
	quotaKeys []string // ResourceQuota keys that bound its count
}

var (
	churnJobs     = &churnKind{"Jobs", []string{"count/jobs.batch"}}
	churnReleases = &churnKind{"Helm release records", []string{"count/secrets", "secrets", "count/configmaps", "configmaps"}}
	churnPolicies = &churnKind{"NetworkPolicies", []string{"count/networkpolicies.networking.k8s.io"}}
)

// birth is one object created within the window.
type birth struct {
	at     time.Time
	name   string
	detail map[string]any
}

func runChurnWithoutQuota(p *check.Pass) error {
	since := p.Now.Add(-p.Duration("window"))
	byNS := map[string]map[*churnKind][]birth{}
	// add records m when it was created within the window; release names
	// its Helm release, if any. The detail map is made only then: most
	// objects of a large cluster are older.
	add := func(k *churnKind, m *metav1.ObjectMeta, release string) {
		if m.Namespace == "" || m.CreationTimestamp.Time.Before(since) {
			return
		}
		detail := map[string]any{}
		if release != "" {
			detail["release"] = release
		}
		if byNS[m.Namespace] == nil {
			byNS[m.Namespace] = map[*churnKind][]birth{}
		}
		detail["name"] = m.Name
		detail["created"] = check.FormatTime(m.CreationTimestamp.Time)
		byNS[m.Namespace][k] = append(byNS[m.Namespace][k], birth{m.CreationTimestamp.Time, m.Name, detail})
	}
	for i := range p.Snapshot.Jobs {
		j := &p.Snapshot.Jobs[i]
		// A CronJob's history limits bound its Jobs.
		if ref := metav1.GetControllerOfNoCopy(j); ref == nil || ref.Kind != "CronJob" {
			add(churnJobs, &j.ObjectMeta, "")
		}
	}
	for _, r := range []snapshot.Resource{snapshot.Secrets, snapshot.ConfigMaps} {
		if !p.Has(r) {
			continue
		}
		for i := range p.Snapshot.Metadata[r] {
			m := &p.Snapshot.Metadata[r][i].ObjectMeta
			if rel, ok := helmRecord(m.Labels); ok {
				add(churnReleases, m, rel)
			}
		}
	}
	if p.Has(snapshot.NetworkPolicies) {
		for i := range p.Snapshot.Metadata[snapshot.NetworkPolicies] {
			m := &p.Snapshot.Metadata[snapshot.NetworkPolicies][i].ObjectMeta
			add(churnPolicies, m, m.Annotations["meta.helm.sh/release-name"])
		}
	}
	// The count keys each namespace's quotas set.
	bounded := map[string]map[string]bool{}
	for _, q := range p.Snapshot.ResourceQuotas {
		for k := range q.Spec.Hard {
			if bounded[q.Namespace] == nil {
				bounded[q.Namespace] = map[string]bool{}
			}
			bounded[q.Namespace][string(k)] = true
		}
	}
	jobs := map[[2]string]*batchv1.Job{}
	for i := range p.Snapshot.Jobs {
		j := &p.Snapshot.Jobs[i]
		jobs[[2]string{j.Namespace, j.Name}] = j
	}
	limit, n := p.Int("max-created"), p.Int("examples")
	days := max(p.Duration("window").Hours()/24, 1.0/24/60) // a zero window must not divide by zero
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		created, perDay, keys := map[string]int{}, map[string]float64{}, map[string][]string{}
		ev := map[string]any{"namespace": ns, "window": p.Duration("window").String(), "threshold": limit}
		objects := []check.Object{{Kind: "Namespace", Name: ns}}
		var what []string
		for _, k := range []*churnKind{churnJobs, churnReleases, churnPolicies} {
			list := byNS[ns][k]
			if len(list) <= limit || slices.ContainsFunc(k.quotaKeys, func(key string) bool { return bounded[ns][key] }) {
				continue
			}
			slices.SortFunc(list, func(a, b birth) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(a.name, b.name)) })
			created[k.name] = len(list)
			perDay[k.name] = float64(int(float64(len(list))/days*10+0.5)) / 10
			keys[k.name] = k.quotaKeys
			what = append(what, fmt.Sprintf("%d %s", len(list), k.name))
			var newest []map[string]any
			for _, c := range check.First(list, n) {
				if k == churnJobs {
					describeJob(c.detail, jobs[[2]string{ns, c.name}])
				}
				newest = append(newest, c.detail)
			}
			switch k {
			case churnJobs:
				ev["newestJobs"] = newest
				for _, c := range check.First(list, 5) {
					objects = append(objects, check.Object{Group: "batch", Kind: "Job", Namespace: ns, Name: c.name})
				}
			case churnReleases:
				ev["newestReleases"] = newest
			case churnPolicies:
				ev["newestNetworkPolicies"] = newest
				for _, c := range check.First(list, 5) {
					objects = append(objects, check.Object{Group: "networking.k8s.io", Kind: "NetworkPolicy", Namespace: ns, Name: c.name})
				}
			}
		}
		if len(what) == 0 {
			continue
		}
		ev["created"], ev["perDay"], ev["quotaKeys"] = created, perDay, keys
		who := ""
		if jobs, ok := ev["newestJobs"].([]map[string]any); ok && len(jobs) > 0 && jobs[0]["command"] != nil {
			who = fmt.Sprintf(" The newest Job runs: %s.", jobs[0]["command"])
		}
		p.Report(check.Finding{
			Severity: check.Medium,
			Title: fmt.Sprintf("%s created %s in %s with no object-count quota", ns, strings.Join(what, ", "),
				check.FormatAge(p.Duration("window"))),
			Message: fmt.Sprintf("Namespace %s created %s within the last %s (threshold %d each) and no ResourceQuota there limits "+
				"their count. Nothing bounds whatever creates them until etcd, the API server or a controller that handles "+
				"every object falls over (incidents 001, 252, 253).%s", ns, strings.Join(what, ", "), check.FormatAge(p.Duration("window")), limit, who),
			Objects:  objects,
			Evidence: ev,
		})
	}
	return nil
}

// describeJob adds who created a Job to d: its owner and its containers'
// command and arguments.
func describeJob(d map[string]any, j *batchv1.Job) {
	if j == nil {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(j); ref != nil {
		d["owner"] = ref.Kind + "/" + ref.Name
	}
	var cmds []string
	for _, c := range j.Spec.Template.Spec.Containers {
		if s := commandLine(c); s != "" {
			cmds = append(cmds, s)
		}
	}
	if len(cmds) > 0 {
		d["command"] = strings.Join(cmds, "; ")
	}
}

// commandLine is a container's command and args as one line, or its image
// when it sets neither (the image's entrypoint runs).
func commandLine(c corev1.Container) string {
	words := append(slices.Clone(c.Command), c.Args...)
	if len(words) == 0 {
		return "(entrypoint of " + c.Image + ")"
	}
	s := strings.Join(words, " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
