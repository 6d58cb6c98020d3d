package workload

import "strings"

// NormalizeImage turns an image reference into the fully qualified form a
// container runtime reports in node.status.images: docker.io/library/ for
// bare names, :latest when there is no tag, and the digest alone when there
// is one (runtimes report repo@digest and repo:tag as separate names).
func NormalizeImage(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	first, rest, hasSlash := strings.Cut(name, "/")
	switch {
	case !hasSlash:
		name = "docker.io/library/" + name
	case first == "docker.io" || first == "index.docker.io":
		if !strings.Contains(rest, "/") {
			rest = "library/" + rest
		}
		name = "docker.io/" + rest
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		name = "docker.io/" + name
	}
	if hasDigest {
		return name + "@" + digest
	}
	if tag == "" {
		tag = "latest"
	}
	return name + ":" + tag
}
