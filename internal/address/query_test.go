package address

import (
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		query, text string
		want        []int
	}{
		{"k8s-master.tools.example.org", "server: https://k8s-master.tools.example.org:6443", []int{16}},
		{"k8s-master.tools.example.org", "K8S-MASTER.Tools.Example.ORG", []int{0}},
		{"k8s-master.tools.example.org", "host k8s-master.tools.example.org. done", []int{5}},
		{"k8s-master.tools.example.org", "old-k8s-master.tools.example.org", nil},
		{"k8s-master.tools.example.org", "x.k8s-master.tools.example.org", nil},
		{"k8s-master.tools.example.org", "k8s-master.tools.example.org.internal", nil},
		{"k8s-master.tools.example.org", "k8s-master.tools.example.organic", nil},
		{"master.tools.example.org", "k8s-master.tools.example.org", nil},
		{"https://k8s-master.tools.example.org:6443/api", "KUBE_MASTER=k8s-master.tools.example.org", []int{12}},
		{"10.64.0.117", "https://10.64.0.117:6443", []int{8}},
		{"10.64.0.11", "https://10.64.0.117:6443", nil},
		{"10.64.0.11", "10.64.0.11.nip.io", []int{0}}, // a name that embeds the address
		{"10.64.0.11", "10.64.0.11.5", nil},
		{"10.64.0.11", "ip 10.64.0.11.", []int{3}},
		{"0.64.0.117", "10.64.0.117", nil},
		{"10.64.0.117:6443", "[10.64.0.117, 10.64.0.117]", []int{1, 14}},
		{"fd00::1", "https://[FD00::1]:6443", []int{9}},
		{"fd00::1", "fd00::10", nil},
		{"kube.example.org", "\u212aube.example.org", nil}, // only ASCII letters fold
		{"kube.example.org", "kube.example.or", nil},
	}
	for _, tt := range tests {
		q, err := ParseQuery(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if got := q.Find(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Find(%q in %q) = %v, want %v", tt.query, tt.text, got, tt.want)
		}
		if got := q.Contains(tt.text); got != (len(tt.want) > 0) {
			t.Errorf("Contains(%q in %q) = %v", tt.query, tt.text, got)
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct{ in, host, err string }{
		{"K8s-Master.tools.example.org.", "k8s-master.tools.example.org", ""},
		{"https://10.64.0.117:6443/", "10.64.0.117", ""},
		{"[fd00::1]:443", "fd00::1", ""},
		{"10.0.0.1:6443", "10.0.0.1", ""},
		{"not a host", "", "neither"},
		{"", "", "no address"},
		{"a..b", "", "not a valid"},
	}
	for _, tt := range tests {
		q, err := ParseQuery(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseQuery(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || q.Host != tt.host {
			t.Errorf("ParseQuery(%q) = %q, %v; want %q", tt.in, q.Host, err, tt.host)
		}
	}
}
