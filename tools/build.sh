#!/usr/bin/env bash
# Builds pinned tools that are programs of their own (promtool, krew, helm) into
# $TOOLS_BIN (default: .cache/tools/bin at the repository root), each from
# its own module tools/<name>/. Idempotent: a binary whose version stamp
# matches is not rebuilt. Usage: tools/build.sh [NAME...] (default: all).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${TOOLS_BIN:-$root/.cache/tools/bin}
mkdir -p "$bin"
# shellcheck source=pinned.sh
source "$here/pinned.sh"

want=("$@")
# build_in DIR NAME VERSION PACKAGE [LDFLAGS], from the module tools/DIR.
build_in() {
  local dir=$1
  shift
  if [[ ${#want[@]} -eq 0 || " ${want[*]} " == *" $1 "* ]]; then
    pinned_build tools "$bin" "$1" "$here/$dir" "$2" "$3" "${4:-}"
  fi
}
# build NAME VERSION PACKAGE [LDFLAGS], from the module tools/NAME.
build() { build_in "$1" "$@"; }

# promtool checks and unit-tests deploy/prometheus/premortem-rules.yaml.
prom_version=v0.316.0 # the module version of Prometheus 3.16.0
prom_ldflags="-s -w -X github.com/prometheus/common/version.Version=3.16.0 \
 -X github.com/prometheus/common/version.Revision=$prom_version -X github.com/prometheus/common/version.Branch=HEAD"
build promtool "$prom_version" github.com/prometheus/prometheus/cmd/promtool "$prom_ldflags"

# krew's own manifest validator, and krew to install the release archives
# as a user would: internal/dist's test checks the filled manifest with both.
krew_version=v0.4.3
build_in krew validate-krew-manifest "$krew_version" sigs.k8s.io/krew/cmd/validate-krew-manifest
build_in krew krew "$krew_version" sigs.k8s.io/krew/cmd/krew

# The helm CLI: test/e2e/chart installs deploy/helm-plugin into it and runs
# `helm premortem preflight` against a release in a lab.
helm_version=v3.22.0
build helm "$helm_version" helm.sh/helm/v3/cmd/helm "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
