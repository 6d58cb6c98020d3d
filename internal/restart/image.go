package restart

import (
	"encoding/json"
	"math/bits"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/premortem/premortem/internal/workload"
)

// NodeStatusMaxImages is the kubelet's default --node-status-max-images: a
// node reports at most this many images (the largest), so an image missing
// from a full list may still be on the node.
const NodeStatusMaxImages = 50

// imageIndex answers "which of the nodes this pod template can be scheduled
// to lack this image?" for many workloads cheaply: node sets are bitsets,
// candidate nodes are computed once per distinct scheduling constraint (most
// workloads share a handful), and an answer is a few word operations.
type imageIndex struct {
	nodes []*corev1.Node
	// complete: nodes that listed fewer than NodeStatusMaxImages images (and
	// at least one), so an image absent from the list is absent from the
	// node. An empty list says nothing: the kubelet may be told to report
	// none (--node-status-max-images=0), and simulated nodes report none.
	complete bitset
	// have: normalized image -> nodes that list it.
	have       map[string]bitset
	candidates map[string]bitset // constraint key -> candidate nodes
}

// bitset is a set of node indexes.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)   { b[i/64] |= 1 << (i % 64) }
func (b bitset) count() (n int) {
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// imageAnswer counts the candidate nodes without an image.
type imageAnswer struct {
	candidates int
	missing    int      // nodes where the image is provably absent
	examples   []string // up to three of them, by name
	unknown    int      // nodes whose full (capped) or empty list does not name it
}

func newImageIndex(nodes []corev1.Node) *imageIndex {
	idx := &imageIndex{complete: newBitset(len(nodes)), have: map[string]bitset{}, candidates: map[string]bitset{}}
	for i := range nodes {
		n := &nodes[i]
		idx.nodes = append(idx.nodes, n)
		for _, img := range n.Status.Images {
			for _, name := range img.Names {
				norm := workload.NormalizeImage(name)
				b, ok := idx.have[norm]
				if !ok {
					b = newBitset(len(nodes))
					idx.have[norm] = b
				}
				b.set(i)
			}
		}
		if len(n.Status.Images) > 0 && len(n.Status.Images) < NodeStatusMaxImages {
			idx.complete.set(i)
		}
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
func (idx *imageIndex) candidateNodes(t *corev1.PodTemplateSpec, daemon bool) bitset {
	key := constraintKey(t, daemon)
	if c, ok := idx.candidates[key]; ok {
		return c
	}
	pod := &corev1.Pod{Spec: t.Spec}
	affinity := nodeaffinity.GetRequiredNodeAffinity(pod)
	noScheduleOrExecute := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	c := newBitset(len(idx.nodes))
	for i, n := range idx.nodes {
		if n.Spec.Unschedulable && !daemon {
			continue
		}
		if ok, err := affinity.Match(n); err != nil || !ok {
			continue
		}
		if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, t.Spec.Tolerations, noScheduleOrExecute, false); untolerated {
			continue
		}
		c.set(i)
	}
	idx.candidates[key] = c
	return c
}

// lookup answers for one image over a set of candidate nodes.
func (idx *imageIndex) lookup(candidates bitset, image string) imageAnswer {
	have := idx.have[workload.NormalizeImage(image)]
	a := imageAnswer{candidates: candidates.count()}
	for w, c := range candidates {
		lacking := c
		if have != nil {
			lacking &^= have[w]
		}
		missing := lacking & idx.complete[w]
		a.missing += bits.OnesCount64(missing)
		a.unknown += bits.OnesCount64(lacking &^ idx.complete[w])
		for missing != 0 && len(a.examples) < 3 {
			i := bits.TrailingZeros64(missing)
			a.examples = append(a.examples, idx.nodes[w*64+i].Name)
			missing &^= 1 << i
		}
	}
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
