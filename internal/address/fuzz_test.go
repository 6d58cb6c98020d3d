package address

import "testing"

// FuzzKubeconfig: kubeconfigs come from ConfigMap and Secret data, which
// anyone with write access to one controls; parsing never panics.
//
//	go test ./internal/address -run '^$' -fuzz '^FuzzKubeconfig$' -fuzztime 30s
func FuzzKubeconfig(f *testing.F) {
	f.Add("apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://10.64.0.11:6443\n")
	f.Add(`{"clusters":[{"name":"a","cluster":{"server":"https://a:6443"}}]}`)
	f.Add("clusters: &a [*a]\nserver: x\n")
	f.Add("clusters:\n- cluster: {server: [1]}\n")
	f.Fuzz(func(t *testing.T, text string) {
		Kubeconfig(text)
	})
}

// FuzzParseQuery: refs arguments never panic the parser.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"10.64.0.11", "https://k8s-master.example.org:6443/path", "[::1]:443", "fe80::1%eth0", "*.example.org", "", "a..b", "1.2.3.4.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseQuery(s)
	})
}
