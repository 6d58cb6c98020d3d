package incident

// Cluster DNS, Service routing, address space, node conditions and the
// control plane's liveness: IDs 130-159.
var _ = register(
	Incident{
		ID: "130", Title: "Total DNS outage in Kubernetes cluster", Org: "Zalando", Year: 2019,
		URL:    "https://kubernetes-on-aws.readthedocs.io/en/latest/postmortems/jan-2019-dns-outage.html",
		Latent: "a few CoreDNS replicas with a 100Mi memory limit serving the whole cluster with no node-local cache: a spike in queries OOM-killed them all at once",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "131", Title: "CoreDNS Performance Degradation", Org: "RebelMouse", Year: 2025,
		URL:    "https://status.rebelmouse.com/incidents/w170d4lz2bhl",
		Latent: "too few CoreDNS replicas for the cluster: when a node reroll terminated one, the rest could not absorb its load and lookups timed out",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "132", Title: "DNS service runs entirely on a single node", Org: "kubernetes/kubeadm issue tracker", Year: 2019,
		URL:    "https://github.com/kubernetes/kubeadm/issues/1657",
		Latent: "both CoreDNS replicas scheduled on the first control-plane node: removing that node took cluster DNS down",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "133", Title: "CoreDNS rollout can cause node-specific cluster DNS failure on the source node", Org: "Canonical (k8s-snap issue tracker)", Year: 2026,
		URL:    "https://github.com/canonical/k8s-snap/issues/2462",
		Latent: "a single CoreDNS pod: a Helm upgrade moved it to another node and workloads on the old node lost cluster DNS",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "134", Title: "DNS issues in Kubernetes. Public postmortem #1", Org: "Preply", Year: 2020,
		URL:    "https://medium.com/preply-engineering/dns-postmortem-e169efd45afd",
		Latent: "kube-proxy failing to delete stale conntrack entries for the kube-dns Service, so lookups kept going to pods that no longer existed",
		Seen:   SeenNot,
		Why:    "conntrack state lives in each node's kernel; the API shows the kube-dns endpoints as correct throughout",
	},
	Incident{
		ID: "135", Title: "Core DNS Service does not point to the endpoint", Org: "coredns/deployment issue tracker", Year: 2020,
		URL:    "https://github.com/coredns/deployment/issues/225",
		Latent: "the kube-dns Service with no ready endpoint (its only CoreDNS pod listed under notReadyAddresses): every lookup in the cluster fails",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "136", Title: "Create service failed with error: failed to allocate a serviceIP: range is full", Org: "Azure/AKS issue tracker", Year: 2020,
		URL:    "https://github.com/Azure/AKS/issues/1843",
		Latent: "a Service CIDR of 32 addresses filling up as Helm releases added Services, until new Services were refused",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "137", Title: "Support multiple IPv4 address ranges for service Cluster IPs", Org: "kubernetes/kubernetes issue tracker", Year: 2021,
		URL:    "https://github.com/kubernetes/kubernetes/issues/104088",
		Latent: "a long-lived cluster that had used every ClusterIP of its Service range, with no way to widen it short of recreating every Service",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "138", Title: "Creating an application fails : \"Internal error occurred: failed to allocate a serviceIP: range is full\"", Org: "Kyma (kyma-project issue tracker)", Year: 2021,
		URL:    "https://github.com/kyma-project/kyma/issues/10700",
		Latent: "a private AKS cluster created with a /25 Service range (128 ClusterIPs) running out as applications were added",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "139", Title: "Fail to create pod on a specific node : \"no IP addresses available in range\"", Org: "k3s-io/k3s issue tracker", Year: 2022,
		URL:    "https://github.com/k3s-io/k3s/issues/5885",
		Latent: "a node's pod range (/24) exhausted by addresses the CNI's host-local IPAM leaked for pods long gone, with 14 pods running",
		Seen:   SeenNot,
		Why:    "leaked IPAM reservations are files on the node; the API shows 14 pods on a node with room for 254",
	},
	Incident{
		ID: "140", Title: "kube-scheduler die because of lost lease while kube-apiserver is still working", Org: "kubernetes/kubernetes issue tracker", Year: 2018,
		URL:    "https://github.com/kubernetes/kubernetes/issues/70730",
		Latent: "no kube-scheduler holding its leader lock after control-plane nodes were lost: the lock goes unrenewed and nothing schedules pods",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "141", Title: "Control plane components (scheduler, controller-manager) stuck after API server outage — pods not being scheduled", Org: "Rackspace Spot (issue tracker)", Year: 2026,
		URL:    "https://github.com/rackerlabs/spot/issues/323",
		Latent: "after an API server outage and nodes under DiskPressure evicting ~700 pods, a scheduler and controller-manager that no longer acted: new pods Pending with no events, Jobs without pods",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "142", Title: "Post Incident Review: pvek8s Kernel Update — Simultaneous 3-Node Reboot Cascade", Org: "pgmac", Year: 2026,
		URL:    "https://incidents.pgmac.net.au/incidents/2026-06-05-pvek8s-kernel-reboot-cluster-recovery-failure/",
		Latent: "a kube-scheduler that kept renewing its Lease while its watch had stalled: 46 pods Pending for four hours with no scheduling events",
		Seen:   SeenNot,
		Why:    "the scheduler's Lease stayed fresh, so its liveness looked right; only the unscheduled pods showed it, after the fact",
	},
	Incident{
		ID: "143", Title: "kubelet fails to start pods after upgrade to 1.31.X", Org: "kubernetes/kubernetes issue tracker", Year: 2024,
		URL:    "https://github.com/kubernetes/kubernetes/issues/127316",
		Latent: "kubelets upgraded to 1.31 talking through a load balancer to API servers still on 1.30: a kubelet newer than the API server, outside the version-skew policy",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "144", Title: "[BUG] Upgrade doesn't adhere to K8s version skew policy", Org: "Gravitational (gravity issue tracker)", Year: 2020,
		URL:    "https://github.com/gravitational/gravity/issues/1346",
		Latent: "an upgrade that left new kubelets reporting to an older API server; they could not register their labels and the nodes went degraded",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "145", Title: "Kubelet is upgraded before API server which breaks the upgrade", Org: "Scality (metalk8s issue tracker)", Year: 2020,
		URL:    "https://github.com/scality/metalk8s/issues/2845",
		Latent: "the bootstrap node's kubelet upgraded before every API server: a kubelet newer than the API server calling APIs that did not exist yet",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "146", Title: "You Broke Reddit: The Pi-Day Outage", Org: "Reddit", Year: 2023,
		URL:    "https://www.reddit.com/r/RedditEng/comments/11xx5o0/you_broke_reddit_the_piday_outage/",
		Latent: "Calico route reflectors selected by the node-role.kubernetes.io/master label, which the 1.24 upgrade removed: every route reflector vanished at once",
		Seen:   SeenNot,
		Why:    "the route-reflector selection is in Calico's BGP configuration (custom resources premortem does not read); before the upgrade the label still matched",
	},
	Incident{
		ID: "147", Title: "Under disk pressure Kubelet evicts even apiserver", Org: "kubernetes-sigs/kubespray issue tracker", Year: 2018,
		URL:    "https://github.com/kubernetes-sigs/kubespray/issues/3049",
		Latent: "control-plane nodes under DiskPressure: the kubelet evicted the API server's own pod",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "148", Title: "Pods belonging to a daemonSet massively evicted from worker with diskpressure.", Org: "kubernetes/kube-scheduler issue tracker", Year: 2024,
		URL:    "https://github.com/kubernetes/kube-scheduler/issues/5",
		Latent: "a worker under DiskPressure: hundreds of DaemonSet pods evicted and recreated on it within minutes, in a loop",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "149", Title: "No DNS resolve for 5 min after node failure (CoreDNS)", Org: "kubernetes/kubernetes issue tracker", Year: 2019,
		URL:    "https://github.com/kubernetes/kubernetes/issues/77650",
		Latent: "two CoreDNS replicas on three nodes: when the node of one failed, lookups failed for five minutes while its endpoint was still served",
		Seen:   SeenNot,
		Why:    "the failure is in how long a dead endpoint keeps being served (node-monitor grace period, client retries), which a read made before the node fails cannot show",
	},
	Incident{
		ID: "150", Title: "Fix leaking taints in case of cloud provider error on node deletion", Org: "kubernetes/autoscaler issue tracker", Year: 2017,
		URL:    "https://github.com/kubernetes/autoscaler/pull/360",
		Latent: "nodes the cluster autoscaler drained but failed to delete, left with its ToBeDeletedByClusterAutoscaler NoSchedule taint: capacity that no pod can use",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "151", Title: "[Bug]: Nodes stay cordoned", Org: "kube-hetzner (terraform-hcloud-kube-hetzner issue tracker)", Year: 2024,
		URL:    "https://github.com/mysticaltech/terraform-hcloud-kube-hetzner/issues/1497",
		Latent: "nodes cordoned for a reboot or upgrade whose drain a PodDisruptionBudget blocked, left cordoned after the lock expired",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "152", Title: "If the pod expulsion or removal fails during the nodedrain operation, the entire node will be schdulingDisabled", Org: "k8snetworkplumbingwg (sriov-network-operator issue tracker)", Year: 2023,
		URL:    "https://github.com/k8snetworkplumbingwg/sriov-network-operator/issues/429",
		Latent: "an operator that cordons a node before draining it and, when the drain keeps failing, leaves the node SchedulingDisabled",
		Seen:   SeenAPI,
	},
)
