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
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/premortem/premortem/internal/kube"
	"github.com/premortem/premortem/internal/preflight"
)

func newPreflightCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Say what a Helm upgrade or a kubectl apply --prune would delete, before it does",
		Long: `preflight compares what is deployed with what is about to be deployed and weighs
every object that would be deleted: a Namespace with the objects inside it, a CRD
with its custom resources, a volume claim with its volume's reclaim policy,
Secrets, Services and Ingresses (incident 004). It exits 1 when anything dangerous
would be deleted, 3 when it could not read everything it needed.`,
	}
	cmd.AddCommand(newPreflightHelmCommand(streams), newPreflightApplyCommand(streams))
	return cmd
}

// preflightFlags are shared by both subcommands.
type preflightFlags struct {
	config *genericclioptions.ConfigFlags
	files  []string
	allow  []string
	output string
}

func (p *preflightFlags) add(cmd *cobra.Command, fileHelp string) {
	p.config = genericclioptions.NewConfigFlags(false)
	p.config.AddFlags(cmd.Flags())
	cmd.Flags().StringSliceVarP(&p.files, "filename", "f", nil, fileHelp)
	cmd.Flags().StringArrayVar(&p.allow, "allow", nil, "accept one known deletion: KIND/NAME or KIND/NAMESPACE/NAME (repeatable)")
	cmd.Flags().StringVarP(&p.output, "output", "o", "table", "output format: table or json")
}

func (p *preflightFlags) validate() ([]preflight.Allow, error) {
	if p.output != "table" && p.output != "json" {
		return nil, fmt.Errorf("-o %q: want table or json", p.output)
	}
	if len(p.files) == 0 {
		return nil, errors.New("-f is required (a file, a directory, or - for stdin)")
	}
	var allow []preflight.Allow
	for _, s := range p.allow {
		a, err := preflight.ParseAllow(s)
		if err != nil {
			return nil, err
		}
		allow = append(allow, a)
	}
	return allow, nil
}

func (p *preflightFlags) cluster() (*preflight.Cluster, error) {
	cfg, err := p.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return preflight.NewCluster(kube.Configure(cfg, kube.ClientOptions{UserAgent: userAgent()}))
}

// namespace is -n, else the kubeconfig context's namespace, else
// "default", as helm and kubectl resolve it; explicit says -n was given.
func (p *preflightFlags) namespace() (ns string, explicit bool, err error) {
	ns, explicit, err = p.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", false, fmt.Errorf("namespace: %w", err)
	}
	return ns, explicit, nil
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

func writePreflight(streams Streams, output string, r *preflight.Report) error {
	var err error
	if output == "json" {
		err = preflight.WriteJSON(streams.Out, r)
	} else {
		err = preflight.WriteTable(streams.Out, r)
	}
	if err != nil {
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

func newPreflightHelmCommand(streams Streams) *cobra.Command {
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
			rendered, err := readManifests(p.files, streams.In)
			if err != nil {
				return withExit(ExitError, err)
			}
			ns, _, err := p.namespace()
			if err != nil {
				return withExit(ExitError, err)
			}
			c, err := p.cluster()
			if err != nil {
				return withExit(ExitError, err)
			}
			r, err := c.Helm(cmd.Context(), preflight.HelmOptions{
				Release: args[0], Namespace: ns, Storage: storage, MaxReleaseBytes: maxBytes,
				Rendered: rendered, Install: install, Allow: allow, ReleaseThreshold: threshold,
			})
			if err != nil {
				return withExit(ExitError, err)
			}
			return writePreflight(streams, p.output, r)
		},
	}
	p.add(cmd, "the new rendering (helm template output): files, directories, or - for stdin")
	cmd.Flags().StringVar(&storage, "helm-driver", os.Getenv("HELM_DRIVER"), "Helm's release storage: secret or configmap (default $HELM_DRIVER, else secret)")
	cmd.Flags().Int64Var(&maxBytes, "max-release-bytes", preflight.DefaultMaxReleaseBytes, "refuse a release record that decodes to more than this many bytes")
	cmd.Flags().BoolVar(&install, "install", false, "treat an unknown release as a first install (helm upgrade --install)")
	cmd.Flags().IntVar(&threshold, "release-threshold", preflight.DefaultReleaseThreshold, "warn when the namespace holds this many other releases of the same chart")
	return cmd
}

func newPreflightApplyCommand(streams Streams) *cobra.Command {
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
			objs, err := readManifests(p.files, streams.In)
			if err != nil {
				return withExit(ExitError, err)
			}
			ns, explicit, err := p.namespace()
			if err != nil {
				return withExit(ExitError, err)
			}
			c, err := p.cluster()
			if err != nil {
				return withExit(ExitError, err)
			}
			r, err := c.Prune(cmd.Context(), preflight.PruneOptions{
				Objects: objs, Namespace: ns, EnforceNamespace: explicit,
				Selector: selector, All: all, Allowlist: allowlist, Allow: allow,
			})
			if err != nil {
				return withExit(ExitError, err)
			}
			return writePreflight(streams, p.output, r)
		},
	}
	p.add(cmd, "what kubectl apply would apply: files, directories, or - for stdin")
	cmd.Flags().BoolVar(&prune, "prune", false, "weigh what prune would delete (required)")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "the label selector given to kubectl apply --prune")
	cmd.Flags().BoolVar(&all, "all", false, "kubectl apply --prune --all: every object, no selector")
	cmd.Flags().StringSliceVar(&allowlist, "prune-allowlist", nil, "kubectl's --prune-allowlist (group/version/kind, core/v1/ConfigMap)")
	return cmd
}
