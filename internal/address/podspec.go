package address

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Field is one string of an object that may name an address.
type Field struct {
	// Path locates the string: "containers[checker].env[KUBE_MASTER]".
	Path string
	// Kind says what sort of field it is: env, args, command, image,
	// hostAliases, dnsConfig, nfs.
	Kind  string
	Value string
	// EnvName is the variable's name for an env field.
	EnvName string
}

// PodSpecFields returns the strings of a pod spec that may name an
// address or hostname: container env values, args, command and images,
// hostAliases, dnsConfig and NFS volume servers.
func PodSpecFields(spec *corev1.PodSpec) []Field {
	var out []Field
	containers := func(kind string, cs []corev1.Container) {
		for _, c := range cs {
			p := fmt.Sprintf("%s[%s]", kind, c.Name)
			for _, e := range c.Env {
				if e.Value != "" {
					out = append(out, Field{Path: p + ".env[" + e.Name + "]", Kind: "env", Value: e.Value, EnvName: e.Name})
				}
			}
			for i, a := range c.Args {
				out = append(out, Field{Path: p + ".args[" + strconv.Itoa(i) + "]", Kind: "args", Value: a})
			}
			for i, a := range c.Command {
				out = append(out, Field{Path: p + ".command[" + strconv.Itoa(i) + "]", Kind: "command", Value: a})
			}
			if c.Image != "" {
				out = append(out, Field{Path: p + ".image", Kind: "image", Value: c.Image})
			}
		}
	}
	containers("initContainers", spec.InitContainers)
	containers("containers", spec.Containers)
	for _, c := range spec.EphemeralContainers {
		containers("ephemeralContainers", []corev1.Container{corev1.Container(c.EphemeralContainerCommon)})
	}
	for i, h := range spec.HostAliases {
		p := "hostAliases[" + strconv.Itoa(i) + "]"
		out = append(out, Field{Path: p + ".ip", Kind: "hostAliases", Value: h.IP})
		for j, n := range h.Hostnames {
			out = append(out, Field{Path: p + ".hostnames[" + strconv.Itoa(j) + "]", Kind: "hostAliases", Value: n})
		}
	}
	if d := spec.DNSConfig; d != nil {
		for i, n := range d.Nameservers {
			out = append(out, Field{Path: "dnsConfig.nameservers[" + strconv.Itoa(i) + "]", Kind: "dnsConfig", Value: n})
		}
		for i, s := range d.Searches {
			out = append(out, Field{Path: "dnsConfig.searches[" + strconv.Itoa(i) + "]", Kind: "dnsConfig", Value: s})
		}
	}
	for _, v := range spec.Volumes {
		if v.NFS != nil {
			out = append(out, Field{Path: "volumes[" + v.Name + "].nfs.server", Kind: "nfs", Value: v.NFS.Server})
		}
	}
	return out
}

// ConfigUse is a ConfigMap or Secret a pod spec uses, and how.
type ConfigUse struct {
	Kind string // ConfigMap or Secret
	Name string
	How  string // "volume kubeconfig", "envFrom (container app)", "env TOKEN (container app)"
}

// PodSpecConfig returns the ConfigMaps and Secrets a pod spec mounts or
// takes environment variables from (same namespace as the pod).
func PodSpecConfig(spec *corev1.PodSpec) []ConfigUse {
	var out []ConfigUse
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			out = append(out, ConfigUse{Kind: "ConfigMap", Name: v.ConfigMap.Name, How: "volume " + v.Name})
		case v.Secret != nil:
			out = append(out, ConfigUse{Kind: "Secret", Name: v.Secret.SecretName, How: "volume " + v.Name})
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					out = append(out, ConfigUse{Kind: "ConfigMap", Name: s.ConfigMap.Name, How: "projected volume " + v.Name})
				}
				if s.Secret != nil {
					out = append(out, ConfigUse{Kind: "Secret", Name: s.Secret.Name, How: "projected volume " + v.Name})
				}
			}
		}
	}
	containers := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil {
					out = append(out, ConfigUse{Kind: "ConfigMap", Name: e.ConfigMapRef.Name, How: "envFrom (container " + c.Name + ")"})
				}
				if e.SecretRef != nil {
					out = append(out, ConfigUse{Kind: "Secret", Name: e.SecretRef.Name, How: "envFrom (container " + c.Name + ")"})
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					out = append(out, ConfigUse{Kind: "ConfigMap", Name: r.Name, How: "env " + e.Name + " (container " + c.Name + ", key " + r.Key + ")"})
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					out = append(out, ConfigUse{Kind: "Secret", Name: r.Name, How: "env " + e.Name + " (container " + c.Name + ", key " + r.Key + ")"})
				}
			}
		}
	}
	containers(spec.InitContainers)
	containers(spec.Containers)
	for _, s := range spec.ImagePullSecrets {
		out = append(out, ConfigUse{Kind: "Secret", Name: s.Name, How: "imagePullSecrets"})
	}
	return out
}
