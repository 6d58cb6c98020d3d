package incident

// The well-run scenario (lab scenario 200-well-run) recreates the opposite of
// these incidents: cluster DNS with room, spread and a disruption budget.
// Their latent conditions are sizing questions an API read cannot settle.
var _ = register(
	Incident{
		ID: "200", Title: "Total DNS outage in Kubernetes cluster", Org: "Zalando", Year: 2019,
		URL:    "https://kubernetes-on-aws.readthedocs.io/en/latest/postmortems/jan-2019-dns-outage.html",
		Latent: "CoreDNS memory limits sized for normal load (100Mi); a retry storm raised DNS queries until every CoreDNS pod was OOM-killed at once",
		Seen:   SeenNot,
		Why:    "the API shows a limit, not whether it holds the peak: that needs usage metrics under load",
	},
	Incident{
		ID: "201", Title: "CoreDNS Performance Degradation", Org: "RebelMouse", Year: 2025,
		URL:    "https://status.rebelmouse.com/incidents/w170d4lz2bhl",
		Latent: "CoreDNS replicas without headroom to lose one: a planned node replacement took one pod away and the rest timed out",
		Seen:   SeenNot,
		Why:    "headroom depends on the query rate per replica, which no API object records",
	},
)
