package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/preflight"
)

func newPreflightCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Say what a Helm upgrade or a kubectl apply --prune would delete, before it does",
		Long: `preflight compares what is deployed with what is about to be deployed and weighs
every object that would be deleted: a Namespace with the objects inside it, a CRD
with its custom resources, a volume claim with its volume's reclaim policy,
Secrets, Services and Ingresses (incident 004). It exits 1 when anything dangerous
would be deleted, 3 when it could not read everything it needed.`,
	}
	cmd.AddCommand(newPreflightHelmCommand(e), newPreflightApplyCommand(e))
	return cmd
}

// preflightFlags are shared by both subcommands.
type preflightFlags struct {
	flags  *kube.Flags
	files  []string
	allow  []string
	output *outputFlag
}

func (p *preflightFlags) add(cmd *cobra.Command, fileHelp string) {
	p.flags = kube.NewFlags()
	p.flags.AddFlags(cmd.Flags())
	cmd.Flags().StringSliceVarP(&p.files, "filename", "f", nil, fileHelp)
	cmd.Flags().StringArrayVar(&p.allow, "allow", nil, "accept one known deletion: KIND/NAME or KIND/NAMESPACE/NAME (repeatable)")
	p.output = addOutputFlag(cmd.Flags(), preflight.Formats, "output")
}

func (p *preflightFlags) validate() ([]preflight.Allow, error) {
	if len(p.files) == 0 {
		return nil, errors.New("-f is required (a file, a directory, or - for stdin)")
	}
	var allow []preflight.Allow
	for _, s := range p.allow {
		a, err := preflight.ParseAllow(s)
		if err != nil {
			return nil, fmt.Errorf("--allow: %w", err)
		}
		allow = append(allow, a)
	}
	return allow, nil
}

func (p *preflightFlags) cluster(e *env) (*preflight.Cluster, error) {
	cfg, err := restConfig(p.flags, kube.ClientOptions{UserAgent: userAgent()})
	if err != nil {
		return nil, err
	}
	c, err := preflight.NewCluster(cfg)
	if err != nil {
		return nil, withExit(ExitError, err)
	}
	c.PageSize, c.Log = p.flags.ChunkSize(), e.log
	return c, nil
}

// readManifests parses -f inputs: files, directories (their .yaml, .yml and
// .json files, not recursing) and - for stdin.
func readManifests(files []string, stdin io.Reader) ([]preflight.Object, error) {
	var objs []preflight.Object
	parse := func(source string, data []byte) error {
		got, err := preflight.ParseManifest(source, data)
		if err != nil {
			return err
		}
		objs = append(objs, got...)
		return nil
	}
	for _, f := range files {
		if f == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read stdin: %w", err)
			}
			if err := parse("<stdin>", data); err != nil {
				return nil, err
			}
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		paths := []string{f}
		if st.IsDir() {
			entries, err := os.ReadDir(f)
			if err != nil {
				return nil, err
			}
			paths = paths[:0]
			for _, e := range entries {
				switch strings.ToLower(filepath.Ext(e.Name())) {
				case ".yaml", ".yml", ".json":
					if !e.IsDir() {
						paths = append(paths, filepath.Join(f, e.Name()))
					}
				}
			}
			sort.Strings(paths)
		}
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if err := parse(path, data); err != nil {
				return nil, err
			}
		}
	}
	return objs, nil
}

func writePreflight(e *env, output string, r *preflight.Report) error {
	if err := preflight.Write(e.Out, output, r); err != nil {
		return withExit(ExitError, err)
	}
	switch {
	case r.Dangerous > 0:
		return withExit(ExitFindings, nil)
	case len(r.Incomplete) > 0:
		return withExit(ExitIncomplete, nil)
	}
	return nil
}

func newPreflightHelmCommand(e *env) *cobra.Command {
	var (
		p         preflightFlags
		storage   string
		maxBytes  int64
		install   bool
		threshold int
	)
	cmd := &cobra.Command{
		Use:   "helm RELEASE -n NAMESPACE -f RENDERED.yaml",
		Short: "Weigh what `helm upgrade` would delete, from `helm template` output",
		Long: `Reads the deployed release from the cluster (its Secret or ConfigMap record, decoded
by Helm's own SDK after a size check), compares its manifest with the new rendering
(helm template ... > RENDERED.yaml, or - for stdin), and weighs every object Helm
would delete. A live object annotated helm.sh/resource-policy=keep is left alone,
as Helm leaves it. Also counts what the upgrade creates and warns when the namespace
already holds many releases of the same chart (incident 001).`,
		Example: `  helm template shop ./chart -n shop > new.yaml
  premortem preflight helm shop -n shop -f new.yaml
  helm template shop ./chart -n shop | premortem preflight helm shop -n shop -f - -o json
  premortem preflight helm shop -n shop -f new.yaml --allow Service/shop/legacy-api`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			allow, err := p.validate()
			if err != nil {
				return withExit(ExitError, err)
			}
			storage = strings.TrimSuffix(strings.ToLower(storage), "s")
			if storage == "" {
				storage = preflight.StorageSecret
			}
			rendered, err := readManifests(p.files, e.In)
			if err != nil {
				return withExit(ExitError, err)
			}
			ns, _, err := p.flags.ContextNamespace()
			if err != nil {
				return withExit(ExitError, err)
			}
			c, err := p.cluster(e)
			if err != nil {
				return err
			}
			r, err := c.Helm(cmd.Context(), preflight.HelmOptions{
				Release: args[0], Namespace: ns, Storage: storage, MaxReleaseBytes: maxBytes,
				Rendered: rendered, Install: install, Allow: allow, ReleaseThreshold: threshold,
			})
			if err != nil {
				return withExit(ExitError, err)
			}
			return writePreflight(e, p.output.value, r)
		},
	}
	p.add(cmd, "the new rendering (helm template output): files, directories, or - for stdin")
	cmd.Flags().StringVar(&storage, "helm-driver", os.Getenv("HELM_DRIVER"), "Helm's release storage: secret or configmap (default $HELM_DRIVER, else secret)")
	cmd.Flags().Int64Var(&maxBytes, "max-release-bytes", preflight.DefaultMaxReleaseBytes, "refuse a release record that decodes to more than this many bytes")
	cmd.Flags().BoolVar(&install, "install", false, "treat an unknown release as a first install (helm upgrade --install)")
	cmd.Flags().IntVar(&threshold, "release-threshold", preflight.DefaultReleaseThreshold, "warn when the namespace holds this many other releases of the same chart")
	return cmd
}

func newPreflightApplyCommand(e *env) *cobra.Command {
	var (
		p         preflightFlags
		prune     bool
		selector  string
		all       bool
		allowlist []string
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILES --prune (-l SELECTOR | --all)",
		Short: "Weigh what `kubectl apply --prune` would delete",
		Long: `Lists what kubectl's prune would delete: objects of the prune allowlist (kubectl's
default, or --prune-allowlist) in every namespace FILES touch (and cluster-wide for
cluster-scoped kinds), matching the selector, created by kubectl apply (they carry
the last-applied-configuration annotation), and absent from FILES. Each is weighed
as for helm. Metadata-only LISTs; nothing is applied.`,
		Example: `  premortem preflight apply -f manifests/ --prune -l app=shop
  premortem preflight apply -f all.yaml --prune --all -n shop -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			allow, err := p.validate()
			if err != nil {
				return withExit(ExitError, err)
			}
			if !prune {
				return withExit(ExitError, errors.New("--prune is required: without it kubectl apply deletes nothing"))
			}
			if selector == "" && !all {
				return withExit(ExitError, errors.New("--prune needs -l SELECTOR or --all, as kubectl does"))
			}
			if _, err := labels.Parse(selector); err != nil {
				return withExit(ExitError, fmt.Errorf("-l %q: %w", selector, err))
			}
			objs, err := readManifests(p.files, e.In)
			if err != nil {
				return withExit(ExitError, err)
			}
			ns, explicit, err := p.flags.ContextNamespace()
			if err != nil {
				return withExit(ExitError, err)
			}
			c, err := p.cluster(e)
			if err != nil {
				return err
			}
			r, err := c.Prune(cmd.Context(), preflight.PruneOptions{
				Objects: objs, Namespace: ns, EnforceNamespace: explicit,
				Selector: selector, All: all, Allowlist: allowlist, Allow: allow,
			})
			if err != nil {
				return withExit(ExitError, err)
			}
			return writePreflight(e, p.output.value, r)
		},
	}
	p.add(cmd, "what kubectl apply would apply: files, directories, or - for stdin")
	cmd.Flags().BoolVar(&prune, "prune", false, "weigh what prune would delete (required)")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "the label selector given to kubectl apply --prune")
	cmd.Flags().BoolVar(&all, "all", false, "kubectl apply --prune --all: every object, no selector")
	cmd.Flags().StringSliceVar(&allowlist, "prune-allowlist", nil, "kubectl's --prune-allowlist (group/version/kind, core/v1/ConfigMap)")
	return cmd
}
