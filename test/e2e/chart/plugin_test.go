package chart_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
)

// helmCLI returns the pinned helm built by tools/build.sh (make tools, which
// make test runs first). A missing binary fails the test: the plugin is
// not tested otherwise.
func helmCLI(t *testing.T) string {
	t.Helper()
	p := filepath.Join(root, ".cache", "tools", "bin", "helm")
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("helm not found at %s: build it with `make tools`", p)
	}
	return p
}

// shop installs release "shop" of a small chart into ns with Helm's SDK,
// stored by driver: a ConfigMap, and with withNamespace a Namespace
// holding a ConfigMap, which the next rendering drops (a dangerous
// deletion: preflight exits 1).
func shop(t *testing.T, ns, driver string, withNamespace bool) {
	t.Helper()
	c := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "shop", Version: "1.0.0"}}
	add := func(name, data string) {
		c.Templates = append(c.Templates, &chart.File{Name: "templates/" + name, Data: []byte(data)})
	}
	add("settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: \"1\"}\n")
	if withNamespace {
		add("data.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"-data}\n---\n"+
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: data, namespace: "+ns+"-data}\ndata: {b: \"2\"}\n")
	}
	in := action.NewInstall(helmConfig(t, ns, driver))
	in.ReleaseName, in.Namespace, in.CreateNamespace, in.Timeout = "shop", ns, true, time.Minute
	if _, err := in.RunWithContext(context.Background(), c, nil); err != nil {
		t.Fatalf("helm install shop -n %s: %v", ns, err)
	}
}

// newShop is the next rendering of shop: the ConfigMap only.
const newShop = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: \"2\"}\n"

type run struct {
	code   int
	stdout string
	stderr string
}

func runCmd(t *testing.T, env []string, name string, args ...string) run {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		return run{ee.ExitCode(), out.String(), errOut.String()}
	default:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return run{0, out.String(), errOut.String()}
}

// TestHelmPlugin installs deploy/helm-plugin into the pinned helm CLI and
// runs `helm premortem preflight` against releases named alike in three
// namespaces: it reports what `premortem preflight helm` reports, exit code
// included, in the namespace -n names, with the driver HELM_DRIVER names.
func TestHelmPlugin(t *testing.T) {
	needLab(t)
	helm, bin := helmCLI(t), premortem(t)
	shop(t, "pk-a", "secret", true)
	shop(t, "pk-b", "secret", false)
	shop(t, "pk-c", "configmap", true)
	dir := t.TempDir()
	rendered := filepath.Join(dir, "new.yaml")
	if err := os.WriteFile(rendered, []byte(newShop), 0o644); err != nil {
		t.Fatal(err)
	}
	// Helm's own directories in the test's, the lab's admin kubeconfig,
	// premortem on PATH.
	env := []string{
		"HOME=" + dir, "PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HELM_PLUGINS=" + filepath.Join(dir, "plugins"), "HELM_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"HELM_CACHE_HOME=" + filepath.Join(dir, "cache"), "HELM_DATA_HOME=" + filepath.Join(dir, "data"),
		"KUBECONFIG=" + cluster.Kubeconfig,
	}
	if r := runCmd(t, env, helm, "plugin", "install", filepath.Join(root, "deploy", "helm-plugin")); r.code != 0 {
		t.Fatalf("helm plugin install: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(t, env, helm, "plugin", "list"); !strings.Contains(r.stdout, "premortem") {
		t.Fatalf("helm plugin list: %s%s", r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		name   string
		helm   []string // helm's args and environment
		env    []string
		direct []string // premortem's
		code   int
	}{
		{"-n before", []string{"-n", "pk-a", "premortem", "preflight", "shop", "-f", rendered, "-o", "json"}, nil,
			[]string{"preflight", "helm", "shop", "-n", "pk-a", "-f", rendered, "-o", "json"}, 1},
		{"-n after", []string{"premortem", "preflight", "shop", "-f", rendered, "-o", "json", "-n", "pk-a"}, nil,
			[]string{"preflight", "helm", "shop", "-n", "pk-a", "-f", rendered, "-o", "json"}, 1},
		{"other namespace", []string{"premortem", "preflight", "shop", "-f", rendered, "-o", "json", "--namespace", "pk-b"}, nil,
			[]string{"preflight", "helm", "shop", "-n", "pk-b", "-f", rendered, "-o", "json"}, 0},
		{"HELM_NAMESPACE", []string{"premortem", "preflight", "shop", "-f", rendered}, []string{"HELM_NAMESPACE=pk-a"},
			[]string{"preflight", "helm", "shop", "-n", "pk-a", "-f", rendered}, 1},
		{"HELM_DRIVER", []string{"premortem", "preflight", "shop", "-n", "pk-c", "-f", rendered, "-o", "json"}, []string{"HELM_DRIVER=configmap"},
			[]string{"preflight", "helm", "shop", "-n", "pk-c", "--helm-driver", "configmap", "-f", rendered, "-o", "json"}, 1},
		{"wrong driver", []string{"premortem", "preflight", "shop", "-n", "pk-c", "-f", rendered}, nil,
			[]string{"preflight", "helm", "shop", "-n", "pk-c", "-f", rendered}, 2},
		{"no such release", []string{"premortem", "preflight", "shop", "-n", "default", "-f", rendered}, nil,
			[]string{"preflight", "helm", "shop", "-n", "default", "-f", rendered}, 2},
		{"--kube-context", []string{"--kube-context", "nosuch", "premortem", "preflight", "shop", "-n", "pk-a", "-f", rendered}, nil,
			[]string{"preflight", "helm", "shop", "-n", "pk-a", "--context", "nosuch", "-f", rendered}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := runCmd(t, append(slices.Clone(env), tc.env...), helm, tc.helm...)
			d := runCmd(t, env, bin, append(tc.direct, "--kubeconfig", cluster.Kubeconfig)...)
			if h.code != tc.code || d.code != tc.code {
				t.Errorf("exit: helm plugin %d, premortem %d, want %d\nplugin stderr: %s\npremortem stderr: %s", h.code, d.code, tc.code, h.stderr, d.stderr)
			}
			if h.stdout != d.stdout {
				t.Errorf("helm premortem preflight printed:\n%s\npremortem preflight helm printed:\n%s", h.stdout, d.stdout)
			}
			if tc.code == 2 && h.stderr == "" {
				t.Error("an error without a message")
			}
			if tc.code == 1 && !strings.Contains(h.stdout, "-data") {
				t.Errorf("the dangerous deletion of the release's Namespace is not named:\n%s", h.stdout)
			}
		})
	}
}
