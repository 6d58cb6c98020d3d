package refs

import (
	"bytes"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/golden"
	"github.com/premortem/premortem/internal/snapshot"
)

const secretToken = "secret-token-never-print-me"

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: toolforge
  cluster:
    server: https://K8S-MASTER.tools.example.org:6443
- name: other
  cluster:
    server: https://other.example.org
users:
- name: checker
  user:
    token: ` + secretToken + `
`

func meta(ns, name string, owner ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owner}
}

func controller(apiVersion, kind, name string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, Controller: &t}
}

func podSpec(env []corev1.EnvVar, volumes ...corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.org/app:1", Env: env}}, Volumes: volumes}
}

// fixture is a small cluster with references of every sort to
// k8s-master.tools.example.org and 10.64.0.117, and near misses.
func fixture() []any {
	url := "https://10.64.0.117:6443/validate"
	svcURL := "https://k8s-master.tools.example.org/mutate"
	return []any{
		&corev1.ConfigMap{ObjectMeta: meta("tools", "checker-kubeconfig"), Data: map[string]string{"config": kubeconfig, "unrelated": "old-k8s-master.tools.example.org 10.64.0.11"}},
		&corev1.ConfigMap{ObjectMeta: meta("obs", "otel"), Data: map[string]string{"config.yaml": "endpoints:\n- https://10.64.0.117:6443\n"}},
		&corev1.Secret{ObjectMeta: meta("tools", "checker-credentials"), Data: map[string][]byte{"kubeconfig": []byte(kubeconfig), "token": []byte(secretToken + " k8s-master.tools.example.org")}},
		&corev1.Secret{ObjectMeta: meta("tools", "unused"), Data: map[string][]byte{"x": []byte("nothing here")}},
		&appsv1.Deployment{ObjectMeta: meta("tools", "checker"), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(
			[]corev1.EnvVar{{Name: "KUBE_MASTER", Value: "k8s-master.tools.example.org"}},
			corev1.Volume{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "checker-kubeconfig"}}}},
			corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "checker-credentials"}}},
		)}}},
		&appsv1.DaemonSet{ObjectMeta: meta("obs", "otel"), Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "otel", Args: []string{"--apiserver=https://10.64.0.117:6443"},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "otel"}}}}}},
			HostAliases: []corev1.HostAlias{{IP: "10.64.0.117", Hostnames: []string{"k8s-master.tools.example.org"}}},
		}}}},
		&batchv1.CronJob{ObjectMeta: meta("tools", "nightly"), Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(
			[]corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "checker-credentials"}, Key: "token"}}}})}}}}},
		// A Job of the CronJob: its copy of the template is not reported again.
		&batchv1.Job{ObjectMeta: meta("tools", "nightly-1", controller("batch/v1", "CronJob", "nightly")), Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(
			[]corev1.EnvVar{{Name: "X", Value: "k8s-master.tools.example.org"}})}}},
		&corev1.Pod{ObjectMeta: meta("tools", "checker-abc-1", controller("apps/v1", "ReplicaSet", "checker-abc")), Spec: podSpec(
			[]corev1.EnvVar{{Name: "KUBE_MASTER", Value: "k8s-master.tools.example.org"}},
			corev1.Volume{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "checker-kubeconfig"}}}})},
		&corev1.Pod{ObjectMeta: meta("tools", "nightly-1-xyz", controller("batch/v1", "Job", "nightly-1")), Spec: podSpec(nil)},
		&corev1.Pod{ObjectMeta: meta("obs", "otel-n1", controller("apps/v1", "DaemonSet", "otel")), Spec: podSpec(nil)},
		// A bare pod: searched itself, consumer of the ConfigMap.
		&corev1.Pod{ObjectMeta: meta("tools", "debug"), Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sh", Command: []string{"curl", "https://k8s-master.tools.example.org:6443/healthz"}}},
			DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"10.64.0.117"}},
			Volumes:   []corev1.Volume{{Name: "kc", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "checker-kubeconfig"}}}}}}},
		&corev1.Service{ObjectMeta: meta("default", "legacy-master"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "k8s-master.tools.example.org"}},
		&corev1.Service{ObjectMeta: meta("default", "ext"), Spec: corev1.ServiceSpec{ExternalIPs: []string{"10.64.0.117"}, ClusterIPs: []string{"10.96.0.10"}}},
		&discoveryv1.EndpointSlice{ObjectMeta: meta("default", "kubernetes"), Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.64.0.117"}}, {Addresses: []string{"10.64.0.118"}}}},
		&networkingv1.Ingress{ObjectMeta: meta("tools", "web"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "k8s-master.tools.example.org"}}}},
		&networkingv1.NetworkPolicy{ObjectMeta: meta("obs", "to-apiserver"), Spec: networkingv1.NetworkPolicySpec{
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.64.0.117/32"}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.64.0.0/24", Except: []string{"10.64.0.11/32"}}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}},
			}}}}},
		&admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "policy"}, Webhooks: []admissionv1.ValidatingWebhook{{Name: "v.example.org", ClientConfig: admissionv1.WebhookClientConfig{URL: &url}}}},
		&admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "inject"}, Webhooks: []admissionv1.MutatingWebhook{{Name: "m.example.org", ClientConfig: admissionv1.WebhookClientConfig{URL: &svcURL}}}},
	}
}

func search(t *testing.T, args ...string) *Result {
	t.Helper()
	qs, err := address.ParseQueries(args)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSearch(qs)
	for _, o := range fixture() {
		s.Visit(snapshot.Resource{}, o)
	}
	s.AddSnapshot(&snapshot.Snapshot{Metadata: map[snapshot.Resource][]metav1.PartialObjectMetadata{
		snapshot.ReplicaSets: {{ObjectMeta: meta("tools", "checker-abc", controller("apps/v1", "Deployment", "checker"))}},
	}})
	return s.Result()
}

func TestSearchGolden(t *testing.T) {
	r := search(t, "k8s-master.tools.example.org", "https://10.64.0.117:6443", "10.64.0.11", "unused.example.org")
	for _, format := range []string{"table", "json"} {
		var b bytes.Buffer
		if err := Write(&b, format, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), secretToken) {
			t.Fatalf("%s output contains the Secret's value:\n%s", format, b.String())
		}
		golden.Check(t, "testdata/search."+format+".golden", b.Bytes())
	}
}

func TestSearchReferences(t *testing.T) {
	r := search(t, "k8s-master.tools.example.org")
	type want struct{ object, field, kind, consumer string }
	wants := []want{
		{"ConfigMap tools/checker-kubeconfig", "data[config]", "kubeconfig", "Deployment tools/checker"},
		{"Secret tools/checker-credentials", "data[kubeconfig]", "kubeconfig", "Deployment tools/checker"},
		{"Secret tools/checker-credentials", "data[token]", "secret-data", "CronJob tools/nightly"},
		{"Deployment tools/checker", "spec.template.spec.containers[app].env[KUBE_MASTER]", "env", "Deployment tools/checker"},
		{"DaemonSet obs/otel", "spec.template.spec.hostAliases[0].hostnames[0]", "hostAliases", "DaemonSet obs/otel"},
		{"Pod tools/debug", "spec.containers[sh].command[1]", "command", "Pod tools/debug"},
		{"Service default/legacy-master", "spec.externalName", "externalName", ""},
		{"Ingress tools/web", "spec.rules[0].host", "ingress-host", ""},
		{"MutatingWebhookConfiguration inject", "webhooks[m.example.org].clientConfig.url", "webhook-url", ""},
	}
	if len(r.References) != len(wants) {
		for _, ref := range r.References {
			t.Logf("got %s %s %s", ref.Object, ref.Field, ref.Kind)
		}
		t.Fatalf("%d references, want %d", len(r.References), len(wants))
	}
	for _, w := range wants {
		found := false
		for _, ref := range r.References {
			if ref.Object.String() != w.object || ref.Field != w.field || ref.Kind != w.kind {
				continue
			}
			found = true
			if w.consumer == "" {
				if len(ref.Consumers) != 0 {
					t.Errorf("%s %s: consumers %v, want none", w.object, w.field, ref.Consumers)
				}
				continue
			}
			ok := false
			for _, c := range ref.Consumers {
				ok = ok || c.Workload.String() == w.consumer
			}
			if !ok {
				t.Errorf("%s %s: consumers %+v, want %s", w.object, w.field, ref.Consumers, w.consumer)
			}
		}
		if !found {
			t.Errorf("no reference %+v", w)
		}
	}
	// The ConfigMap is used by the Deployment (its pod named) and a bare pod.
	for _, ref := range r.References {
		if ref.Object.Name == "checker-kubeconfig" {
			if len(ref.Consumers) != 2 || ref.Consumers[0].Pods[0] != "checker-abc-1" || ref.Consumers[1].Workload.Name != "debug" {
				t.Errorf("ConfigMap consumers = %+v", ref.Consumers)
			}
		}
		if ref.Object.Kind == "Secret" && ref.Context != "" {
			t.Errorf("a Secret reference carries context: %+v", ref)
		}
	}
}

func TestSearchIPExact(t *testing.T) {
	r := search(t, "10.64.0.11")
	if len(r.References) != 1 || r.References[0].Object.Name != "checker-kubeconfig" || r.References[0].Field != "data[unrelated]" {
		t.Errorf("10.64.0.11 references = %+v", r.References)
	}
}
