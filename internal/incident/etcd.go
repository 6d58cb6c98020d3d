package incident

// What the cluster stores: objects near etcd's size limits, revisions and
// release records that pile up, churn nothing bounds, the database quota:
// IDs 250-279.
var _ = register(
	Incident{
		ID: "250", Title: "Kubernetes: Error from server: etcdserver: mvcc: database space exceeded", Org: "zwindler (Denis Germain)", Year: 2023,
		URL:    "https://blog.zwindler.fr/en/2023/11/30/kubernetes-error-from-server-etcdserver-mvcc-database-space-exceeded",
		Latent: "short ephemeral Jobs churning pods on a 60-node cluster plus a policy engine (Kyverno) writing an Event per policy evaluation, until etcd reached its backend quota and every write failed with mvcc: database space exceeded",
		Seen:   SeenNot,
		Why:    "etcd's database size and quota are not in the Kubernetes API, and Events are neither read nor counted (the API server keeps no watch cache for them, so even a limit=1 LIST reaches etcd)",
	},
	Incident{
		ID: "251", Title: "Amazon EKS- managing and fixing ETCD database size", Org: "Marcin Cuber", Year: 2024,
		URL:    "https://marcincuber.medium.com/amazon-eks-managing-and-fixing-etcd-database-size-b6fb875888cb?source=user_profile---------1----------------------------",
		Latent: "a policy engine's custom resources (Kyverno 1.12 ephemeralreports) created faster than they were consumed, piling up in etcd until the EKS cluster broke",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "252", Title: "CronJob creates a lot of Job objects", Org: "Kubernetes (GitHub issue)", Year: 2017,
		URL:    "https://github.com/kubernetes/kubernetes/issues/39815",
		Latent: "a CronJob running every minute whose finished Jobs nothing removed: after a month 12,000 Job objects and kube-apiserver ran out of memory",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "253", Title: "CronJob controller does not use shared informers and causes etcd cluster slow log alarm", Org: "Kubernetes (GitHub issue)", Year: 2020,
		URL:    "https://github.com/kubernetes/kubernetes/issues/88025",
		Latent: "more than 260,000 Job objects kept in one cluster: every range read of /registry/jobs took over 100 ms and etcd's slow-request alarms grew steadily in production",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "254", Title: "ReplicaSets not removed, even with revisionHistoryLimit set", Org: "Kubernetes (GitHub issue)", Year: 2017,
		URL:    "https://github.com/kubernetes/kubernetes/issues/40068",
		Latent: "a CD flow deploying several times a day while old ReplicaSets were not cleaned up: 139 for one Deployment, about 3,000 in the cluster, growing fast",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "255", Title: "lower revision history limit", Org: "Red Hat App SRE (qontract-reconcile, GitHub PR)", Year: 2024,
		URL:    "https://github.com/app-sre/qontract-reconcile/pull/4388",
		Latent: "Deployments reconciled often with a generous revision history: more than 19,000 ReplicaSets kept in the cluster",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "256", Title: "Proposal: change default behavior of deployment.spec.revisionHistoryLimit to a limit", Org: "Kubernetes (GitHub issue)", Year: 2016,
		URL:    "https://github.com/kubernetes/kubernetes/issues/23597",
		Latent: "Deployments without a revisionHistoryLimit (the old API kept every ReplicaSet ever created): normal use accumulates dozens of ReplicaSets per Deployment, all stored in etcd",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "257", Title: "Helm 2 and 3 not able to deal with large releases", Org: "Helm (GitHub issue)", Year: 2020,
		URL:    "https://github.com/helm/helm/issues/8281",
		Latent: "a chart whose release record (dashboards, bundled files) grew past what one object may hold: install failed with Request entity too large; the issue lists eight earlier reports since Helm 2",
		Seen:   SeenNot,
		Why:    "Helm 3 keeps release records in Secrets, whose data premortem never reads; only records kept in ConfigMaps (Helm 2, or HELM_DRIVER=configmap) are measured, by configmap-near-size-limit",
	},
	Incident{
		ID: "258", Title: "State file too long results in error writing to configmap", Org: "Estafette (GitHub issue)", Year: 2020,
		URL:    "https://github.com/estafette/estafette-vulnerability-scanner/issues/3",
		Latent: "a controller keeping its growing state in one ConfigMap until a write failed with 422 Too long: must have at most 1048576 characters",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "259", Title: "tiller is using an insane amount of memory", Org: "Helm (GitHub issue)", Year: 2018,
		URL:    "https://github.com/helm/helm/issues/4543",
		Latent: "release history kept without a maximum: with 1,000+ release records helm ls took 50 s and Tiller ran out of memory; clamping the history to 2-3 revisions per release fixed it",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "260", Title: "Set helm releases history size.", Org: "Mad Devs (aws-eks-base, GitHub PR)", Year: 2021,
		URL:    "https://github.com/maddevsio/aws-eks-base/pull/44",
		Latent: "Helm releases installed without max_history, so every upgrade added a release Secret; with enough of them helm list and install failed on client timeouts reading the response",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "261", Title: "Resource Management of ETCD Load", Org: "Kubernetes (GitHub issue)", Year: 2023,
		URL:    "https://github.com/kubernetes/kubernetes/issues/120781",
		Latent: "high-throughput batch work creating thousands of Jobs with nothing in Kubernetes bounding how fast or how many: etcd becomes the bottleneck",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "262", Title: "[Error] Unable to deploy after several revisions - Kubernetes secret can hold 1048576 bytes at most", Org: "Gen3 (uc-cdis, GitHub issue)", Year: 2023,
		URL:    "https://github.com/uc-cdis/gen3-helm/issues/119",
		Latent: "large configuration passed through chart values, so each release record grew until an upgrade failed: Secret sh.helm.release.v1.<release>.v35 is invalid: data: Too long",
		Seen:   SeenNot,
		Why:    "the record is a Secret, whose data premortem never reads; its size cannot be seen without reading it",
	},
)
