package address

import (
	"strings"

	"sigs.k8s.io/yaml"
)

// KubeconfigCluster is one clusters[] entry of a kubeconfig.
type KubeconfigCluster struct {
	Name   string `json:"name"`
	Server string `json:"server"`
}

// Kubeconfig parses text as a kubeconfig and returns its clusters with a
// server; nil when text is not a kubeconfig. Only clusters are decoded:
// users (tokens, keys) are never looked at.
func Kubeconfig(text string) []KubeconfigCluster {
	if !strings.Contains(text, "clusters") || !strings.Contains(text, "server") {
		return nil
	}
	var kc struct {
		Kind     string `json:"kind"`
		Clusters []struct {
			Name    string `json:"name"`
			Cluster struct {
				Server string `json:"server"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(text), &kc); err != nil {
		return nil
	}
	if kc.Kind != "" && kc.Kind != "Config" {
		return nil
	}
	var out []KubeconfigCluster
	for _, c := range kc.Clusters {
		if c.Cluster.Server != "" {
			out = append(out, KubeconfigCluster{Name: c.Name, Server: c.Cluster.Server})
		}
	}
	return out
}
