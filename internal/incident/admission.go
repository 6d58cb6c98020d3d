package incident

// Admission webhooks, API extensions and their certificates: IDs 100-129.
var _ = register(
	Incident{
		ID: "100", Title: "How a simple admission webhook lead to a cluster outage", Org: "Jetstack", Year: 2019,
		URL:    "https://blog.jetstack.io/blog/gke-webhook-outage/",
		Latent: "an Open Policy Agent webhook intercepting every resource in every namespace, kube-system included, with a 30-second timeout: when OPA was unreachable during a master upgrade, API requests timed out and nodes were recreated in an endless loop",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "101", Title: "If gatekeeper crashes, entire cluster stops functioning.", Org: "open-policy-agent/gatekeeper issue tracker", Year: 2019,
		URL:    "https://github.com/open-policy-agent/gatekeeper/issues/291",
		Latent: "a fail-closed policy webhook served by one pod, intercepting the namespace it runs in: when its node went down, API calls timed out and the replacement pod could not be created until the webhook configuration was deleted",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "102", Title: "Change gatekeeper /v1/admit default timeout from 5s to 3s", Org: "open-policy-agent/gatekeeper issue tracker", Year: 2020,
		URL:    "https://github.com/open-policy-agent/gatekeeper/issues/870",
		Latent: "a fail-open webhook with a 5-second timeout intercepting lease and endpoint updates in kube-system: with its backend gone, the controller-manager and scheduler could not renew their leader leases within the deadline and orphaned pods were never cleaned up",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "103", Title: "Webhook with FailurePolicy: Ignore that applies to controller manager leases breaks clusters", Org: "kubernetes/kubernetes issue tracker", Year: 2020,
		URL:    "https://github.com/kubernetes/kubernetes/issues/90217",
		Latent: "a fail-open webhook matching every CREATE and UPDATE, with a timeout as long as the leader-election request deadline: a backend that timed out made the controller-manager lose its lease",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "104", Title: "[Bug] When the service is unavailable, the control surface will loop indefinitely", Org: "kyverno/kyverno issue tracker", Year: 2022,
		URL:    "https://github.com/kyverno/kyverno/issues/4686",
		Latent: "Kyverno's fail-closed webhooks without namespace exclusions: when a node group was rebuilt and Kyverno had no endpoints, the VPC CNI DaemonSet pods could not be created and PodGC could not delete orphaned pods",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "105", Title: "Default webhook configuration can result in cluster wide deadlock", Org: "topolvm/topolvm issue tracker", Year: 2019,
		URL:    "https://github.com/topolvm/topolvm/issues/57",
		Latent: "a fail-closed pod-mutating webhook that excluded only its own namespace: after every worker restarted, Calico's DaemonSet pods in kube-system could not be created, and the webhook's pods could not run without Calico",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "106", Title: "Admission webhooks can deadlock pod creation cluster-wide during a networking disruption", Org: "Cozystack (cozystack/cozystack issue tracker)", Year: 2026,
		URL:    "https://github.com/cozystack/cozystack/issues/3125",
		Latent: "several fail-closed Pod CREATE webhooks with in-cluster backends and no system-namespace exclusion: a pod-network disruption made them unreachable, and the networking pods that would restore it (hostNetwork DaemonSets too) could not be created",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "107", Title: "SelfSigned Issuers breaks Kubernetes Operator's web hooks when rotating certificate.", Org: "cert-manager/cert-manager issue tracker", Year: 2022,
		URL:    "https://github.com/cert-manager/cert-manager/issues/5519",
		Latent: "webhook caBundles injected by cert-manager's cainjector from a self-signed certificate, with the cainjector crash-looping: at rotation the new CA never reached the webhook configurations and every webhook call failed TLS verification",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "108", Title: "training-operator addon: short-lived (90d default) cert-manager CA causes webhook caBundle to expire, breaking all training-job admission", Org: "AMD (AMD-AGI/Primus-SaFE issue tracker)", Year: 2026,
		URL:    "https://github.com/AMD-AGI/Primus-SaFE/issues/628",
		Latent: "a 90-day CA in the training operator's webhook caBundle whose renewal did not reach the bundle: exactly 90 days after install every PyTorchJob and TFJob create was rejected with an expired-certificate error",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "109", Title: "Linkerd Check command missed to Validate Webhook TLS Credentials", Org: "linkerd/linkerd2 issue tracker", Year: 2021,
		URL:    "https://github.com/linkerd/linkerd2/issues/5697",
		Latent: "expired proxy-injector webhook certificates: Deployments could not create pods and HPAs could not scale while the mesh's own health check passed",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "110", Title: "Extend the 'check' command to validate webhooks certificate validity period", Org: "Linkerd (linkerd/linkerd2 issue tracker)", Year: 2020,
		URL:    "https://github.com/linkerd/linkerd2/issues/4889",
		Latent: "webhook certificates and CA bundles (proxy injector, service-profile validator, tap APIService) reaching their expiry unnoticed; users reported downtime when they did",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "111", Title: "Internal error occurred: failed calling webhook \"sidecar-injector.istio.io\": Post https://istio-sidecar-injector.istio-system.svc:443/inject?timeout=30s: x509: certificate has expired or is not yet va", Org: "istio/istio issue tracker", Year: 2020,
		URL:    "https://github.com/istio/istio/issues/22372",
		Latent: "an expired certificate behind Istio's sidecar-injector webhook: pod creation in injected namespaces failed",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "112", Title: "[admission-policy-engine] Add constraint exception for gatekeeper controller", Org: "Flant (deckhouse/deckhouse pull request)", Year: 2026,
		URL:    "https://github.com/deckhouse/deckhouse/pull/17791",
		Latent: "Gatekeeper's fail-closed webhook validating the pods that serve it: when the webhook pod failed, its replacement could not be admitted (a bootstrap deadlock)",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "113", Title: "Remediate webhooks affecting lease resource in kube-system namespace with timeoutSeconds more than 4", Org: "SAP (gardener/gardener pull request)", Year: 2023,
		URL:    "https://github.com/gardener/gardener/pull/7902",
		Latent: "webhooks matching leases in kube-system with timeouts above 3 seconds, fail-open ones included, blocking clusters from waking up from hibernation",
		Seen:   SeenAPI,
	},
	Incident{
		ID: "114", Title: "Investigate into proxy injector admission timeout", Org: "linkerd/linkerd2 issue tracker", Year: 2019,
		URL:    "https://github.com/linkerd/linkerd2/issues/3358",
		Latent: "a proxy-injector webhook answering slower than its 30-second timeout under load: overnight, 85 ReplicaSets failed to create their pods",
		Seen:   SeenNot,
		Why:    "a webhook's response time is in no object: the API server's admission webhook latency metrics show it, and premortem reads no metrics",
	},
)
