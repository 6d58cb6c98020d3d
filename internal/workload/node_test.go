package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestNodeCondition(t *testing.T) {
	n := &corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
	}}}
	if c := NodeCondition(n, corev1.NodeReady); c != &n.Status.Conditions[1] {
		t.Errorf("NodeCondition(Ready) = %v, want a pointer into the node", c)
	}
	if c := NodeCondition(n, corev1.NodeDiskPressure); c != nil {
		t.Errorf("NodeCondition(DiskPressure) = %v, want nil", c)
	}
	for _, tc := range []struct {
		node *corev1.Node
		want bool
	}{
		{n, true},
		{&corev1.Node{}, false},
		{&corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}}, false},
	} {
		if got := NodeReady(tc.node); got != tc.want {
			t.Errorf("NodeReady(%+v) = %v, want %v", tc.node.Status.Conditions, got, tc.want)
		}
	}
}
