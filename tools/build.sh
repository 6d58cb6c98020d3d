#!/usr/bin/env bash
# Builds pinned tools that are programs of their own (promtool) into
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
# build NAME VERSION PACKAGE [LDFLAGS], from the module tools/NAME.
build() {
  if [[ ${#want[@]} -eq 0 || " ${want[*]} " == *" $1 "* ]]; then
    pinned_build tools "$bin" "$1" "$here/$1" "$2" "$3" "${4:-}"
  fi
}

# promtool checks and unit-tests deploy/prometheus/premortem-rules.yaml.
prom_version=v0.316.0 # the module version of Prometheus 3.16.0
prom_ldflags="-s -w -X github.com/prometheus/common/version.Version=3.16.0 \
 -X github.com/prometheus/common/version.Revision=$prom_version -X github.com/prometheus/common/version.Branch=HEAD"
build promtool "$prom_version" github.com/prometheus/prometheus/cmd/promtool "$prom_ldflags"
