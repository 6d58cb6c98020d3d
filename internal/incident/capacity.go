package incident

// Resources, limits, eviction, disruption budgets, autoscaling, quotas and
// rollouts: IDs 160-199.
var _ = register(
	Incident{
		ID: "160", Title: "Kubernetes Failure Stories (KubeCon Europe 2019): ingress OOMKilled at a fixed memory limit", Org: "Zalando", Year: 2019,
		URL:    "https://fr2.slideshare.net/try_except_/kubernetes-failure-stories-kubecon-europe-barcelona",
		Latent: "the shared ingress (Skipper) ran with a memory limit fixed at 500Mi; when an unrelated slow backend piled up in-flight requests every replica was OOMKilled and the load balancer had zero healthy hosts",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "161", Title: "How a production outage was caused using Kubernetes pod priorities", Org: "Grafana Labs", Year: 2019,
		URL:    "https://grafana.com/blog/2019/07/24/how-a-production-outage-was-caused-using-kubernetes-pod-priorities/",
		Latent: "ingesters requesting a quarter of a node, whose rollout needs an extra replica placed on a node with that much free; with pod priorities introduced, the pending replica was placed by preempting running pods",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "162", Title: "Post Mortem: Kubernetes Node OOM", Org: "Blue Matador", Year: 2019,
		URL:    "https://www.bluematador.com/blog/post-mortem-kubernetes-node-oom",
		Latent: "pods without memory requests and limits scheduled onto nodes by requests alone, until a node ran out of memory (SystemOOM)",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "163", Title: "Outage post-mortem (January 18-22)", Org: "Moonlight", Year: 2019,
		URL:    "https://updates.moonlightwork.com/outage-post-mortem-87370",
		Latent: "the scheduler placed several high-CPU replicas of the API on the same node; the node crashed and took them all, then the next node, with no anti-affinity to spread them",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "164", Title: "azure-wi-webhook-controller-manager breaks AKS upgrade because of PDB", Org: "Azure workload identity (GitHub issue)", Year: 2023,
		URL:    "https://github.com/Azure/azure-workload-identity/issues/824",
		Latent: "a PodDisruptionBudget shipped in a chart that allowed no disruption of a healthy webhook Deployment; the node drain never completed, the upgrade failed after an hour and left the cluster in a failed state",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "165", Title: "Unable to drain nodes with Istio enabled due to PodDisruptionBudgets", Org: "Epiphany (Hitachi Energy, GitHub issue)", Year: 2021,
		URL:    "https://github.com/hitachienergy/epiphany/issues/2380",
		Latent: "istio-ingressgateway and istiod with one replica each and PodDisruptionBudgets of minAvailable 1: allowed disruptions 0, so the cluster upgrade hung for hours on the first drain",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "166", Title: "PodDisruptionBudget: tekton-pipelines-webhook blocks AKS rolling upgrades", Org: "Tekton (GitHub issue)", Year: 2021,
		URL:    "https://github.com/tektoncd/pipeline/issues/3759",
		Latent: "a webhook with one replica under a PodDisruptionBudget of minAvailable 80%: allowed disruptions 0, every AKS node upgrade hung and failed",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "167", Title: "System upgrade fails due to PodDisruptionBudget", Org: "kube-hetzner (GitHub issue)", Year: 2024,
		URL:    "https://github.com/mysticaltech/terraform-hcloud-kube-hetzner/issues/1507",
		Latent: "PodDisruptionBudgets that leave every worker with a pod that cannot be evicted: the upgrade stalls with nodes cordoned, and the application is down until someone intervenes",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "168", Title: "HPA being evaluated incorrectly: can't grab CPU metrics (production HPA not scaling)", Org: "Kubernetes (GitHub issue)", Year: 2020,
		URL:    "https://github.com/kubernetes/kubernetes/issues/87935",
		Latent: "an HPA whose ScalingActive condition had been False (FailedGetResourceMetric, missing request for cpu) for three days: a completed helm test pod matched its selector, and the production API did not scale",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "169", Title: "HPA not working: failed to get cpu utilization: unable to get metrics for resource cpu", Org: "Kubernetes (GitHub issue)", Year: 2018,
		URL:    "https://github.com/kubernetes/kubernetes/issues/56165",
		Latent: "HPAs unable to read pod metrics from the resource metrics API, so autoscaling silently stopped while load grew",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "170", Title: "Raise applications-production APISIX max replicas 10 -> 16 (HPA saturated during a bot-crawl incident)", Org: "MIT Open Learning (GitHub pull request)", Year: 2026,
		URL:    "https://github.com/mitodl/ol-infrastructure/pull/5073",
		Latent: "the shared gateway's HPA pinned at maxReplicas (10/10) for hours while a replica was OOMKilled twice against its 1500Mi limit",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "171", Title: "Kubernetes Exceeded Quota: rolling updates not working", Org: "UK Ministry of Justice Cloud Platform (GitHub issue)", Year: 2019,
		URL:    "https://github.com/ministryofjustice/cloud-platform/issues/590",
		Latent: "a namespace ResourceQuota used to its hard limit (limits.cpu 6/6, limits.memory 12Gi/12Gi): the ReplicaSet could not create the new pods of a rollout",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "172", Title: "Rolling deployments fail due to CPU quota exceeded during pod scaling", Org: "Veryfront (GitHub issue)", Year: 2026,
		URL:    "https://github.com/veryfront/veryfront-code/issues/168",
		Latent: "a production namespace at 21.5 of 24 CPU of its quota: the surge pod of every rolling update was forbidden, so rollouts failed and the Deployment ran below its replicas",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "173", Title: "Backend fails liveness probe in production", Org: "Akvo (GitHub pull request)", Year: 2019,
		URL:    "https://github.com/akvo/akvo-rsr/pull/3477",
		Latent: "a liveness probe with timeoutSeconds 1 on a backend whose slow requests made it miss the probe: the kubelet restarted a busy but healthy container",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "174", Title: "Relax homepage liveness/readiness probe timeout under node pressure", Org: "devantler-tech (GitHub pull request)", Year: 2026,
		URL:    "https://github.com/devantler-tech/platform/pull/1714",
		Latent: "liveness probes with timeoutSeconds 1: on a CPU-pressured node the event loop was starved for a second and the kubelet killed a healthy pod again and again",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "175", Title: "Kubernetes Liveness Probes Failures: cascading failure due to aggressive probe timeouts", Org: "Vedant Ghodekar (blog)", Year: 2023,
		URL:    "https://www.vdnt.click/blog/k8s-liveness-probes",
		Latent: "a liveness probe with a 1-second timeout on the primary API: a database latency spike failed the probes, the kubelet killed the pods, the survivors were overwhelmed, and 80% of the service went down",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "176", Title: "Incident Report: CarbonPlan hub outage July 15 2021", Org: "2i2c", Year: 2021,
		URL:    "https://github.com/2i2c-org/infrastructure/issues/524",
		Latent: "cluster-critical pods (cluster-autoscaler, kube-dns) competing for room on small nodes: kube-dns scaling up pushed out the cluster-autoscaler, and dask pods stayed Pending with no autoscaler to add nodes",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "177", Title: "LEAP's hub pod got re-scheduled: investigate why and protect it", Org: "2i2c", Year: 2023,
		URL:    "https://github.com/2i2c-org/infrastructure/issues/3363",
		Latent: "200 worker nodes ate the cloud quota; the hub pod, drained off its node by the autoscaler, sat Pending with no capacity to schedule on",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "178", Title: "\"volume node affinity conflict\" when upgrading Elastic AMIs", Org: "Free Law Project (CourtListener, GitHub issue)", Year: 2023,
		URL:    "https://github.com/freelawproject/courtlistener/issues/3245",
		Latent: "a StatefulSet pod whose EBS volume was in a zone where the node upgrade left no node: the pod sat Pending (volume node affinity conflict) and one of three Elastic nodes stayed down for a week unnoticed",
		Seen:   SeenAPI,
	},
)
