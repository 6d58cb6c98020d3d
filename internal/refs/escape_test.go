package refs

import (
	"bytes"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/output/outputtest"
	"github.com/premortem/premortem/internal/snapshot"
)

// evil is cluster data that tries to forge a row and rewrite the terminal.
const evil = "web\n| forged | row |\x1b[2J\x1b]0;owned\x07"

// Object names, keys, ConfigMap lines, kubeconfig entries and server
// errors come from the cluster: the table escapes them.
func TestWriteTableEscapesClusterData(t *testing.T) {
	qs, err := address.ParseQueries([]string{"master.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSearch(qs)
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: " + strconv.Quote(evil) + "\n  cluster:\n    server: https://master.example.org\n"
	s.Visit(snapshot.Resource{}, &corev1.ConfigMap{ObjectMeta: meta("tools", evil), Data: map[string]string{
		evil:   "x: master.example.org \x1b[31mred\x1b[0m",
		"kube": kc,
	}})
	s.Visit(snapshot.Resource{}, &corev1.Pod{ObjectMeta: meta("tools", evil), Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: evil, Env: []corev1.EnvVar{{Name: evil, Value: "master.example.org\n| forged |"}}}},
		Volumes:    []corev1.Volume{{Name: evil, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: evil}}}}},
	}})
	s.AddSnapshot(&snapshot.Snapshot{Info: snapshot.Info{Skipped: []snapshot.Skipped{{Resource: snapshot.Secrets, Reason: evil}}}})
	r := s.Result()
	if len(r.References) < 3 {
		t.Fatalf("references = %+v, want the ConfigMap's two and the pod's", r.References)
	}
	var b bytes.Buffer
	if err := Write(&b, "table", r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	outputtest.CheckEscaped(t, "table", out, "| forged")
}
