package access

import "testing"

func TestLooksLikeAddress(t *testing.T) {
	tests := []struct {
		env, value string
		want       bool
	}{
		{"KUBE_MASTER", "k8s-master.tools.example.org", true},
		{"KUBERNETES_SERVICE_HOST", "10.0.0.1", true},
		{"APISERVER_URL", "https://api.example.org:6443", true},
		{"K8S_API", "localhost:6443", true},
		{"KUBE_API_TOKEN", "eyJhbGciOi.eyJpc3Mi.c2lnbmF0dXJl", false},
		{"APISERVER_ENABLED", "true", false},
		{"KUBERNETES_SERVICE_PORT", "6443", false},
		{"KUBE_MASTER", "/etc/kube/master", false},
		{"KUBE_MASTER", "eyJhbGciOi.eyJpc3Mi.c2lnbmF0dXJl", false},
		{"KUBE_MASTER", "v1.2.3", false},
		{"HOME", "k8s-master.tools.example.org", false},
	}
	for _, tt := range tests {
		if got := isAPIServerEnv(tt.env) && looksLikeAddress(tt.value); got != tt.want {
			t.Errorf("%s=%s: %v, want %v", tt.env, tt.value, got, tt.want)
		}
	}
}
