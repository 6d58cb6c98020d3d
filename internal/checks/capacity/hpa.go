package capacity

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/premortem/premortem/internal/check"
	"github.com/premortem/premortem/internal/checks/apiservice"
	"github.com/premortem/premortem/internal/snapshot"
	"github.com/premortem/premortem/internal/workload"
)

// HPACannotScale is the hpa-cannot-scale check.
var HPACannotScale = &check.Check{
	ID:        "hpa-cannot-scale",
	Title:     "HorizontalPodAutoscaler that cannot scale out",
	Category:  "capacity",
	Severity:  check.High,
	Incidents: []string{"168", "169", "170"},
	Reads:     []snapshot.Resource{snapshot.HorizontalPodAutoscalers},
	Optional:  []snapshot.Resource{snapshot.APIServices},
	Doc: `Reads the conditions the HPA controller writes and reports autoscalers that
will not add replicas when load grows:

  - ScalingActive False (other than ScalingDisabled, a target scaled to 0 on
    purpose): the controller cannot compute a replica count, usually because
    the metrics API is down or the pods have no request for the metric's
    resource (FailedGetResourceMetric, missing request for cpu); or
    AbleToScale False for a reason other than a backoff window (the target
    cannot be read or resized). Autoscaling is off and nobody is told;
  - ScalingLimited True with reason TooManyReplicas while running at
    maxReplicas: the controller wants more replicas than it may add.
    Autoscalers with minReplicas equal to maxReplicas are pinned by design
    and left out.

In incident 168 a production HPA showed FailedGetResourceMetric for three
days (a finished test pod without requests matched its selector) and the API
did not scale; in incident 169 HPAs could not read metrics at all; in
incident 170 the shared gateway's HPA sat at 10/10 for hours while replicas
were OOMKilled.

When the metrics API an HPA reads is itself unavailable (its APIService is
not Available), the HPAs failing for that reason are one condition with one
fix: they are reported together, in one finding on the APIService, whose
evidence lists them. Likewise when no APIService serves the metrics API at
all (no metrics-server installed): one finding for the cluster lists the
HPAs that cannot scale for it.

Severity: high when the autoscaler cannot compute or apply a scale, medium
when it is held at maxReplicas.`,
	Remediation: `kubectl describe hpa shows the condition's message. For metrics errors,
check the metrics API (kubectl get apiservice v1beta1.metrics.k8s.io, the
metrics-server pods) and that every container of the target's pods has a
request for the resource the HPA scales on. At maxReplicas, raise
maxReplicas if the cluster has room, or make each replica cheaper; alert on
the HPA being at its maximum.`,
	Evidence: []check.EvidenceKey{
		{Name: "condition", Doc: "the condition that triggered: ScalingActive, AbleToScale or ScalingLimited"},
		{Name: "reason", Doc: "its reason"},
		{Name: "message", Doc: "its message"},
		{Name: "since", Doc: "its lastTransitionTime (RFC 3339)"},
		{Name: "currentReplicas", Doc: "status.currentReplicas"},
		{Name: "desiredReplicas", Doc: "status.desiredReplicas"},
		{Name: "minReplicas", Doc: "spec.minReplicas"},
		{Name: "maxReplicas", Doc: "spec.maxReplicas"},
		{Name: "apiService", Doc: "the unavailable metrics APIService (grouped findings)"},
		{Name: "hpas", Doc: "the HPAs that cannot scale because of it, namespace/name (at most 20)"},
		{Name: "hpaCount", Doc: "how many they are"},
	},
	Run: runHPACannotScale,
}

// hpaCondition returns the HPA's condition of type t.
func hpaCondition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) (autoscalingv2.HorizontalPodAutoscalerCondition, bool) {
	for _, c := range h.Status.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return autoscalingv2.HorizontalPodAutoscalerCondition{}, false
}

// metricsAPIs are the groups of the metrics APIs, by the words the HPA
// controller uses for them in its condition messages.
var metricsAPIs = map[string]string{
	"resource metrics API": "metrics.k8s.io",
	"custom metrics API":   "custom.metrics.k8s.io",
	"external metrics API": "external.metrics.k8s.io",
}

// metricsAPIGroup returns the group of the metrics API a condition message
// says the controller failed to read.
func metricsAPIGroup(msg string) string {
	for words, group := range metricsAPIs {
		if strings.Contains(msg, words) {
			return group
		}
	}
	return ""
}

// notServed prefixes, in runHPACannotScale's down, a metrics API group
// that no APIService serves.
const notServed = "(not served) "

// blocked are the HPAs that cannot scale because one metrics APIService is
// unavailable.
type blocked struct {
	api  string
	hpas []string
	cond autoscalingv2.HorizontalPodAutoscalerCondition
}

func runHPACannotScale(p *check.Pass) error {
	down := map[string]string{} // group -> unavailable APIService
	if p.Has(snapshot.APIServices) {
		for _, a := range apiservice.UnavailableAPIServices(p.Snapshot) {
			if _, ok := down[a.Group]; !ok {
				down[a.Group] = a.Name
			}
		}
		// A metrics API no APIService serves at all (no metrics-server
		// installed) stops every HPA that reads it, for one reason with
		// one fix: one finding for the cluster, not one per HPA.
		for _, group := range metricsAPIs {
			served := false
			for _, a := range p.Snapshot.APIServices {
				served = served || a.Group == group
			}
			if !served {
				down[group] = notServed + group
			}
		}
	}
	byAPI := map[string]*blocked{}
	for _, h := range check.SortedByName(p.Snapshot.HorizontalPodAutoscalers) {
		minR := workload.Replicas(h.Spec.MinReplicas)
		ev := map[string]any{"currentReplicas": h.Status.CurrentReplicas, "desiredReplicas": h.Status.DesiredReplicas,
			"minReplicas": minR, "maxReplicas": h.Spec.MaxReplicas}
		obj := []check.Object{{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: h.Namespace, Name: h.Name}}
		target := h.Spec.ScaleTargetRef
		if target.Kind != "" && target.Name != "" {
			gv, _ := schema.ParseGroupVersion(target.APIVersion)
			obj = append(obj, check.Object{Group: gv.Group, Kind: target.Kind, Namespace: h.Namespace, Name: target.Name})
		}
		name := h.Namespace + "/" + h.Name
		report := func(sev check.Severity, c autoscalingv2.HorizontalPodAutoscalerCondition, title, msg string) {
			ev["condition"], ev["reason"], ev["message"] = string(c.Type), c.Reason, c.Message
			if !c.LastTransitionTime.IsZero() {
				ev["since"] = check.FormatTime(c.LastTransitionTime.Time)
			}
			p.Report(check.Finding{Severity: sev, Title: title, Message: msg, Objects: obj, Evidence: ev})
		}
		active, _ := hpaCondition(&h, autoscalingv2.ScalingActive)
		able, _ := hpaCondition(&h, autoscalingv2.AbleToScale)
		limited, _ := hpaCondition(&h, autoscalingv2.ScalingLimited)
		if active.Status == corev1.ConditionFalse && active.Reason != "ScalingDisabled" {
			if api, ok := down[metricsAPIGroup(active.Message)]; ok {
				b := byAPI[api]
				if b == nil {
					b = &blocked{api: api, cond: active}
					byAPI[api] = b
				}
				b.hpas = append(b.hpas, name)
				continue
			}
		}
		switch {
		case active.Status == corev1.ConditionFalse && active.Reason != "ScalingDisabled":
			report(check.High, active, fmt.Sprintf("HPA %s cannot compute a replica count (%s)", name, active.Reason),
				fmt.Sprintf("HorizontalPodAutoscaler %s has ScalingActive False (%s): %s. Autoscaling is off while the "+
					"condition lasts; when load grows, %s %s stays at %d replicas (incidents 168, 169).",
					name, active.Reason, active.Message, target.Kind, target.Name, h.Status.CurrentReplicas))
		case able.Status == corev1.ConditionFalse && able.Reason != "BackoffBoth" && able.Reason != "BackoffUpscale" && able.Reason != "BackoffDownscale":
			report(check.High, able, fmt.Sprintf("HPA %s cannot scale its target (%s)", name, able.Reason),
				fmt.Sprintf("HorizontalPodAutoscaler %s has AbleToScale False (%s): %s. It cannot read or resize %s %s, "+
					"so autoscaling is off (incidents 168, 169).", name, able.Reason, able.Message, target.Kind, target.Name))
		case limited.Status == corev1.ConditionTrue && limited.Reason == "TooManyReplicas" &&
			h.Status.CurrentReplicas >= h.Spec.MaxReplicas && minR < h.Spec.MaxReplicas:
			report(check.Medium, limited, fmt.Sprintf("HPA %s is held at maxReplicas %d", name, h.Spec.MaxReplicas),
				fmt.Sprintf("HorizontalPodAutoscaler %s runs %s %s at its maxReplicas (%d) and wants more: %s. More load "+
					"now lands on replicas that are already saturated (incident 170).",
					name, target.Kind, target.Name, h.Spec.MaxReplicas, limited.Message))
		}
	}
	for _, api := range slices.Sorted(maps.Keys(byAPI)) {
		b := byAPI[api]
		if group, ok := strings.CutPrefix(api, notServed); ok {
			p.Report(check.Finding{
				Severity: check.High,
				Title:    fmt.Sprintf("No metrics API serves %s: %s cannot scale", group, check.Plural(len(b.hpas), "HPA", "HPAs")),
				Message: fmt.Sprintf("%s read metrics from %s, which no APIService serves: no metrics adapter (metrics-server for "+
					"resource metrics) is installed, so none of them can compute a replica count (%s: %s). Autoscaling is off "+
					"for all of them (incidents 168, 169).",
					check.Plural(len(b.hpas), "HorizontalPodAutoscaler", "HorizontalPodAutoscalers"), group, b.cond.Reason, b.cond.Message),
				Evidence: map[string]any{"apiService": "none serves " + group, "hpas": check.First(b.hpas, 20), "hpaCount": len(b.hpas),
					"condition": string(b.cond.Type), "reason": b.cond.Reason, "message": b.cond.Message},
			})
			continue
		}
		p.Report(check.Finding{
			Severity: check.High,
			Title:    fmt.Sprintf("APIService %s unavailable: %s cannot scale", api, check.Plural(len(b.hpas), "HPA", "HPAs")),
			Message: fmt.Sprintf("%s cannot compute a replica count because APIService %s is unavailable (%s: %s). "+
				"Autoscaling is off for all of them until the metrics API is back (incidents 168, 169).",
				check.Plural(len(b.hpas), "HorizontalPodAutoscaler", "HorizontalPodAutoscalers"), api, b.cond.Reason, b.cond.Message),
			Objects: []check.Object{{Group: "apiregistration.k8s.io", Kind: "APIService", Name: api}},
			Evidence: map[string]any{"apiService": api, "hpas": check.First(b.hpas, 20), "hpaCount": len(b.hpas),
				"condition": string(b.cond.Type), "reason": b.cond.Reason, "message": b.cond.Message},
		})
	}
	return nil
}
