// Package incident is the table of public incident write-ups premortem's
// checks come from. A check cites incidents by ID; docs/incidents.md is
// generated from this table (go generate ./internal/checks).
package incident

import (
	"slices"
	"strings"
)

// Incident is one publicly written-up outage.
type Incident struct {
	// ID is stable: checks and findings cite it ("004").
	ID    string
	Title string
	// Org is the organisation that ran the cluster and wrote it up.
	Org  string
	Year int
	// URL is the public write-up (a post-mortem, a talk).
	URL string
	// Latent is the condition that was visible before the outage: what
	// premortem must see before it pages anyone.
	Latent string
	// Seen says where premortem can see the latent condition: a read of
	// the API, an audit log, or nowhere it reads (then Why says why not).
	Seen Visibility
	Why  string
}

// Visibility is where a latent condition shows.
type Visibility string

const (
	SeenAPI   Visibility = "API read"
	SeenAudit Visibility = "audit log"
	SeenNot   Visibility = "not visible"
)

// seeds are the five write-ups premortem was built from. Other files add
// theirs with register, each in its own range of IDs, so that authors of
// different areas never edit the same list.
var seeds = []Incident{
	{
		ID: "000", Title: "WikiKube API servers saturated during MediaWiki deploys", Org: "Wikimedia", Year: 2024,
		URL:    "https://wikitech.wikimedia.org/wiki/Incidents/2024-05-28_wikikube-api",
		Latent: "per-node agents (an OpenTelemetry collector) watching the whole cluster, and clients pinned to literal API server addresses behind two load-balancing paths",
		Seen:   SeenAPI,
	},
	{
		ID: "001", Title: "Calico down after a Helm release per script run piled up Jobs and NetworkPolicies", Org: "Wikimedia", Year: 2024,
		URL:    "https://wikitech.wikimedia.org/wiki/Incidents/2024-10-09_calico-codfw",
		Latent: "object counts growing without bound (Jobs without a TTL, one Helm release per run, NetworkPolicies per release) until the CNI agents crash-loop",
		Seen:   SeenAPI,
	},
	{
		ID: "002", Title: "Toolforge Kubernetes master's floating IPs and DNS name removed while still in use", Org: "Wikimedia", Year: 2018,
		URL:    "https://wikitech.wikimedia.org/wiki/Incidents/2018-12-04_Toolforge-Kubernetes",
		Latent: "a kubeconfig naming an address about to be removed, and an internal name missing from the API server certificate",
		Seen:   SeenAPI,
	},
	{
		ID: "003", Title: "Cluster-wide rolling restart reached a single-replica calico-typha", Org: "Wikimedia", Year: 2021,
		URL:    "https://wikitech.wikimedia.org/wiki/Incidents/2021-09-29_eqiad-kubernetes",
		Latent: "critical networking components with one replica, their image absent from the nodes they may land on",
		Seen:   SeenAPI,
	},
	{
		ID: "004", Title: "How the OOM-Killer Deleted My Namespace, and Other Kubernetes Tales (KubeCon NA talk)", Org: "Datadog", Year: 2020,
		URL:    "https://www.youtube.com/watch?v=MrNhdmyXXKg",
		Latent: "an unavailable aggregated API holding back namespace deletions for days; node drift (kernel, runtime); expensive LIST patterns",
		Seen:   SeenAPI,
	},
}

// registered are the incidents other files add (register).
var registered []Incident

// register adds incidents to the table; call it from a package-level var
// or init of the file that holds them.
func register(ins ...Incident) bool {
	registered = append(registered, ins...)
	return true
}

// All returns every incident, ordered by ID. The slice is the caller's.
func All() []Incident {
	out := slices.Concat(seeds, registered)
	slices.SortStableFunc(out, func(a, b Incident) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Lookup returns the incident with the given ID.
func Lookup(id string) (Incident, bool) {
	for _, in := range slices.Concat(seeds, registered) {
		if in.ID == id {
			return in, true
		}
	}
	return Incident{}, false
}
