package restart

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// NodeStatusMaxImages is the kubelet's default --node-status-max-images: a
// node reports at most this many images (the largest), so an image missing
// from a full list may still be on the node.
const NodeStatusMaxImages = 50

// normalizeImage turns an image reference into the fully qualified form a
// container runtime reports in node.status.images: docker.io/library/ for
// bare names, :latest when there is no tag, and the digest alone when there
// is one (runtimes report repo@digest and repo:tag as separate names).
func normalizeImage(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	first, rest, hasSlash := strings.Cut(name, "/")
	switch {
	case !hasSlash:
		name = "docker.io/library/" + name
	case first == "docker.io" || first == "index.docker.io":
		if !strings.Contains(rest, "/") {
			rest = "library/" + rest
		}
		name = "docker.io/" + rest
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		name = "docker.io/" + name
	}
	if hasDigest {
		return name + "@" + digest
	}
	if tag == "" {
		tag = "latest"
	}
	return name + ":" + tag
}

// nodeImages is what one node reports having pulled.
type nodeImages struct {
	node *corev1.Node
	have map[string]bool
	// complete: the node listed fewer than NodeStatusMaxImages images (and
	// at least one), so an image absent from the list is absent from the
	// node. An empty list says nothing: the kubelet may be told to report
	// none (--node-status-max-images=0), and simulated nodes report none.
	complete bool
}

// imageIndex answers "which of the nodes this pod template can be scheduled
// to lack this image?" for many workloads cheaply: candidate nodes are
// computed once per distinct scheduling constraint (most workloads share a
// handful), and the answer once per (constraint, image).
type imageIndex struct {
	nodes      []nodeImages
	candidates map[string][]int // constraint key -> indexes into nodes
	answers    map[string]imageAnswer
}

// imageAnswer counts the candidate nodes without an image.
type imageAnswer struct {
	candidates int
	missing    []string // node names where the image is provably absent
	unknown    int      // nodes whose full (capped) or empty list does not name it
}

func newImageIndex(nodes []corev1.Node) *imageIndex {
	idx := &imageIndex{candidates: map[string][]int{}, answers: map[string]imageAnswer{}}
	for i := range nodes {
		n := &nodes[i]
		ni := nodeImages{node: n, have: map[string]bool{}}
		for _, img := range n.Status.Images {
			for _, name := range img.Names {
				ni.have[normalizeImage(name)] = true
			}
		}
		ni.complete = len(n.Status.Images) > 0 && len(n.Status.Images) < NodeStatusMaxImages
		idx.nodes = append(idx.nodes, ni)
	}
	return idx
}

// constraintKey identifies what decides where a pod may run.
func constraintKey(t *corev1.PodTemplateSpec, daemon bool) string {
	var required *corev1.NodeSelector
	if a := t.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		required = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	b, _ := json.Marshal(struct {
		D bool
		S map[string]string
		R *corev1.NodeSelector
		T []corev1.Toleration
	}{daemon, t.Spec.NodeSelector, required, t.Spec.Tolerations})
	return string(b)
}

// candidateNodes lists the nodes a new pod of t may be scheduled to:
// node selector and required node affinity match, every NoSchedule and
// NoExecute taint tolerated, and (except for DaemonSets, which tolerate it)
// the node not cordoned. Resources and pod (anti-)affinity are not
// considered: the answer is a superset of where the scheduler may put it.
func (idx *imageIndex) candidateNodes(t *corev1.PodTemplateSpec, daemon bool) (string, []int) {
	key := constraintKey(t, daemon)
	if c, ok := idx.candidates[key]; ok {
		return key, c
	}
	pod := &corev1.Pod{Spec: t.Spec}
	affinity := nodeaffinity.GetRequiredNodeAffinity(pod)
	noScheduleOrExecute := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	c := []int{}
	for i, ni := range idx.nodes {
		if ni.node.Spec.Unschedulable && !daemon {
			continue
		}
		if ok, err := affinity.Match(ni.node); err != nil || !ok {
			continue
		}
		if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), ni.node.Spec.Taints, t.Spec.Tolerations, noScheduleOrExecute, false); untolerated {
			continue
		}
		c = append(c, i)
	}
	idx.candidates[key] = c
	return key, c
}

// lookup answers for one image over the candidate nodes of key.
func (idx *imageIndex) lookup(key string, candidates []int, image string) imageAnswer {
	ak := key + "\x00" + image
	if a, ok := idx.answers[ak]; ok {
		return a
	}
	norm := normalizeImage(image)
	a := imageAnswer{candidates: len(candidates)}
	for _, i := range candidates {
		ni := idx.nodes[i]
		switch {
		case ni.have[norm]:
		case ni.complete:
			a.missing = append(a.missing, ni.node.Name)
		default:
			a.unknown++
		}
	}
	idx.answers[ak] = a
	return a
}

// templateImages lists the distinct images of a pod template's init and
// regular containers, in spec order.
func templateImages(t *corev1.PodTemplateSpec) []string {
	var out []string
	seen := map[string]bool{}
	for _, cs := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
		for _, c := range cs {
			if c.Image != "" && !seen[c.Image] {
				seen[c.Image] = true
				out = append(out, c.Image)
			}
		}
	}
	return out
}
