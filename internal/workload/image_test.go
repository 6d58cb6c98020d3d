package workload

import "testing"

func TestNormalizeImage(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                              "docker.io/library/nginx:latest",
		"nginx:1.27":                         "docker.io/library/nginx:1.27",
		"calico/typha:v3.20.2":               "docker.io/calico/typha:v3.20.2",
		"docker.io/calico/typha:v3.20.2":     "docker.io/calico/typha:v3.20.2",
		"docker.io/nginx":                    "docker.io/library/nginx:latest",
		"registry.k8s.io/coredns/coredns":    "registry.k8s.io/coredns/coredns:latest",
		"localhost:5000/app:1":               "localhost:5000/app:1",
		"quay.io/cilium/cilium:v1@sha256:ab": "quay.io/cilium/cilium@sha256:ab",
	} {
		if got := NormalizeImage(in); got != want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", in, got, want)
		}
	}
}
