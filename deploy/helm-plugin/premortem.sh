#!/bin/sh
# helm premortem preflight RELEASE [premortem preflight helm flags]: runs
# premortem with the connection Helm gives its plugins (HELM_NAMESPACE,
# HELM_KUBECONTEXT, KUBECONFIG, HELM_DRIVER), and exits with its exit code.
set -eu

usage() {
	echo "usage: helm premortem preflight RELEASE -f RENDERED.yaml [flags]"
	echo "  weighs what upgrading RELEASE to RENDERED.yaml would delete; flags: premortem preflight helm --help"
}

case "${1:-}" in
preflight) shift ;;
"" | -h | --help | help)
	usage
	exit 0
	;;
*)
	echo "helm premortem: unknown command \"$1\"" >&2
	usage >&2
	exit 2
	;;
esac

bin=${PREMORTEM_BIN:-premortem}
if ! command -v "$bin" >/dev/null 2>&1; then
	echo "helm premortem: $bin not found: install premortem (docs/install.md) or set PREMORTEM_BIN" >&2
	exit 2
fi

# Helm's connection first: flags the user adds after RELEASE come later and
# win. Helm takes -n, --kube-context and --kubeconfig off its command line
# and passes them in the environment; KUBECONFIG (a path or a list) is read
# from there by premortem's client as by kubectl's.
exec "$bin" preflight helm \
	${HELM_NAMESPACE:+"--namespace=$HELM_NAMESPACE"} \
	${HELM_KUBECONTEXT:+"--context=$HELM_KUBECONTEXT"} \
	${HELM_DRIVER:+"--helm-driver=$HELM_DRIVER"} \
	"$@"
