package incident

// How workloads are updated and placed: system workloads that crash-loop,
// per-node agents that do not reach every node, priority and preemption,
// update strategies and images: IDs 220-249.
var _ = register(
	Incident{
		ID: "220", Title: "calico-kube-controllers CrashLoopBackOff due to Liveness probe failed: Error initializing datastore", Org: "Project Calico (GitHub issue)", Year: 2022,
		URL:    "https://github.com/projectcalico/calico/issues/6642",
		Latent: "after a Kubernetes and Calico upgrade, calico-kube-controllers could not reach the API server's Service address and restarted again and again (CrashLoopBackOff), with no controller reconciling Calico's IPAM and policies",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "221", Title: "Plugin [loop] not work with systemd-resolved running", Org: "CoreDNS (GitHub issue)", Year: 2018,
		URL:    "https://github.com/coredns/coredns/issues/2087",
		Latent: "nodes whose resolv.conf points at a local stub resolver: CoreDNS forwards to itself, its loop plugin exits, and every CoreDNS pod crash-loops, leaving the cluster without DNS",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "222", Title: "coredns are crashing due to loop detection", Org: "CoreDNS (GitHub issue)", Year: 2018,
		URL:    "https://github.com/coredns/coredns/issues/2391",
		Latent: "after a server reboot both CoreDNS pods of a kubeadm cluster stayed in CrashLoopBackOff (loop detected); name resolution in the cluster was down until the forwarding was fixed",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "223", Title: "The kindnet pod is not scheduled if node has a `NoExecute` taint", Org: "kind (GitHub issue)", Year: 2021,
		URL:    "https://github.com/kubernetes-sigs/kind/issues/2204",
		Latent: "a worker tainted NoExecute that the CNI DaemonSet (kindnet) does not tolerate: no CNI pod on that node, which stays NotReady",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "224", Title: "not all operational daemonsets are scheduled on the tainted nodes", Org: "Kubermatic (GitHub issue)", Year: 2021,
		URL:    "https://github.com/kubermatic/kubermatic/issues/7142",
		Latent: "a tainted node pool: canal tolerated every taint but the envoy-agent DaemonSet it needs to reach the API server did not, so canal crash-looped there and the tainted nodes could run no pod",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "225", Title: "Cilium DaemonSet is not scheduled on all nodes", Org: "Cilium (GitHub issue)", Year: 2018,
		URL:    "https://github.com/cilium/cilium/issues/6263",
		Latent: "nodes carrying a taint the Cilium DaemonSet does not tolerate: the agent is not scheduled there and pods on those nodes have no network",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "226", Title: "Implement Node Isolation Using Taints and Tolerations for Dedicated Component Scheduling", Org: "Mojaloop (GitHub issue)", Year: 2026,
		URL:    "https://github.com/mojaloop/project/issues/4355",
		Latent: "three of six nodes tainted for dedicated workloads; the istio-cni-node and ztunnel DaemonSets did not tolerate the taint, so those nodes ran without the mesh CNI and every pod placed there failed sandbox creation",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "227", Title: "kube-proxy is evicted even with ExperimentalCriticalPodAnnotation enabled", Org: "Kubernetes (GitHub issue)", Year: 2018,
		URL:    "https://github.com/kubernetes/kubernetes/issues/58379",
		Latent: "user pods given a priority above zero while kube-proxy ran at priority 0 (no system-node-critical class): kube-proxy was evicted again and again under pressure from those pods",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "228", Title: "Change update strategy to RollingUpgrade for Operator/Webhook Deployment", Org: "Dynatrace operator (GitHub pull request)", Year: 2021,
		URL:    "https://github.com/Dynatrace/dynatrace-operator/pull/304",
		Latent: "the operator's admission webhook Deployment used strategy Recreate: every change to it stopped all webhook pods before new ones started, and pod startup or injection failed meanwhile",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "229", Title: "backend Deployment uses Recreate + 1 replica — every deploy is a ~90s API outage", Org: "Commonly (GitHub issue)", Year: 2026,
		URL:    "https://github.com/Team-Commonly/commonly/issues/654",
		Latent: "the API Deployment used strategy Recreate: each rollout killed the serving pod before its replacement was ready, a 60-90 s outage per deploy",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "230", Title: "The August 2018 Docker Hub outage and the impact on Kubernetes deployments", Org: "Sourcegraph", Year: 2018,
		URL:    "https://working-group--sourcegraph.netlify.app/blog/the-august-2018-docker-hub-outage-and-the-impact-on-kubernetes-deployments",
		Latent: "workloads whose images exist only on Docker Hub: during the registry's downtime any pod rescheduled to a node without the image (or pulled with imagePullPolicy Always) cannot start",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "231", Title: "Apply calico-node before Typha during upgrades to prevent cluster-wide NotReady", Org: "Tigera operator (GitHub pull request)", Year: 2026,
		URL:    "https://github.com/tigera/operator/pull/5110",
		Latent: "an upgrade that rolled Typha ahead of calico-node: the new Typha disconnected every old calico-node, their readiness failed, and the DaemonSet controller replaced the whole fleet at once despite maxUnavailable 0 (Ready nodes fell from 29 to 7 of 30)",
		Seen:   SeenNot,
		Why:    "the collapse came from a version incompatibility between two components during the rollout, not from a setting or state an API read shows beforehand",
	},
	Incident{
		ID: "232", Title: "Registry outage + imagePullPolicy: Always took down a customer-facing API (r/kubernetes)", Org: "Reddit r/kubernetes (anonymous operator)", Year: 2026,
		URL:    "https://reddit.sentinel-team.org/posts/1tlpnsx/snapshots/2026-05-26T15%3A02%3A07.2274Z",
		Latent: "the private API behind the customer-facing front end ran with imagePullPolicy: Always: when its pod restarted during a registry outage the pull failed and the pod stayed down until the registry came back",
		Seen:   SeenAPI,
	},
)
