#!/usr/bin/env bash
# Builds pinned tools that are programs of their own (promtool) into
# $TOOLS_BIN (default: .cache/tools/bin at the repository root), each from
# its own module under tools/<name>/ so that its dependencies stay out of
# premortem's. Idempotent: a binary whose version stamp matches is not
# rebuilt. Usage: tools/build.sh [NAME...] (default: every tool).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${TOOLS_BIN:-$root/.cache/tools/bin}
mkdir -p "$bin"

# build NAME VERSION PACKAGE [LDFLAGS]: the module is tools/NAME.
build() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-"-s -w"}
  local dir="$here/$name" stamp="$bin/.$name.version"
  # The stamp covers the flags and the module's go.sum too: changing either rebuilds.
  version="$version $(cat "$dir/go.sum" - <<<"$ldflags" | cksum | cut -d' ' -f1)"
  if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    return 0
  fi
  echo "tools: building $name ${version% *} (a cold build takes minutes)" >&2
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$version" > "$stamp"
  echo "tools: built $name in $((SECONDS - start))s" >&2
}

want=("$@")
wanted() { [[ ${#want[@]} -eq 0 ]] || [[ " ${want[*]} " == *" $1 "* ]]; }

# promtool checks and unit-tests deploy/prometheus/premortem-rules.yaml.
prom_version=v0.316.0 # the module version of Prometheus 3.16.0
prom_ldflags="-s -w -X github.com/prometheus/common/version.Version=3.16.0 \
 -X github.com/prometheus/common/version.Revision=$prom_version -X github.com/prometheus/common/version.Branch=HEAD"
wanted promtool && build promtool "$prom_version" github.com/prometheus/prometheus/cmd/promtool "$prom_ldflags"
exit 0
