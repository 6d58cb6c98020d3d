package access

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

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

// TestEachSubmatch: running the patterns on runs of address bytes finds
// what running them on the whole text finds, in the same order.
func TestEachSubmatch(t *testing.T) {
	texts := []string{
		"", "server: https://10.64.0.11:6443\n", "a:12:34", "host:6443_x", "host:6443-x", "x=https://[fd00::1]:6443/api",
		"url: http://svc.ns.svc.cluster.local:8080/v1?limit=500 and https://API.Example.org:443",
		"httpſ://\u212aube-master:6443", "k8s-master.example.org:6443,10.0.0.1:443;[::1]:6443", "-a-:99999 .b.:12\t10:00:00Z",
		"https://", "://x:1", "ends with port:80", "tab\tsep:6443\"quoted:443\"",
	}
	// Random texts over the bytes that matter: separators, word and host
	// bytes, brackets, a multi-byte rune.
	alphabet := []string{"a", "K", "f", "0", "6", "4", ":", "/", ".", "-", "_", "[", "]", " ", "\"", "=", "h", "t", "p", "s", "https://", ":6443", "\u212a", "\n"}
	seed := uint32(1)
	for range 3000 {
		var b strings.Builder
		seed = seed*1664525 + 1013904223
		for n := seed % 24; n > 0; n-- {
			seed = seed*1664525 + 1013904223
			b.WriteString(alphabet[seed>>8%uint32(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, tt := range []struct {
		re   *regexp.Regexp
		need func(string) bool
	}{{hostPort, hasPort}, {httpsURL, hasScheme}} {
		for _, text := range texts {
			var got [][]string
			eachSubmatch(tt.re, text, tt.need, func(m []string) { got = append(got, m) })
			if want := tt.re.FindAllStringSubmatch(text, -1); !reflect.DeepEqual(got, want) {
				t.Errorf("%s in %q: %q, want %q", tt.re, text, got, want)
			}
		}
	}
}
