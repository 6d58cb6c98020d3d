#!/usr/bin/env bash
# Builds the lab's control-plane binaries at pinned versions into $LAB_BIN
# (default: .cache/lab/bin at the repository root). Idempotent: a binary that
# exists with a matching version stamp is not rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${LAB_BIN:-$root/.cache/lab/bin}
mkdir -p "$bin"

k8s_version=v1.36.3
k8s_pkg=k8s.io/component-base/version
k8s_ldflags="-s -w \
 -X $k8s_pkg.gitVersion=$k8s_version -X $k8s_pkg.gitMajor=1 -X $k8s_pkg.gitMinor=36 \
 -X $k8s_pkg.gitCommit=0000000000000000000000000000000000000000 -X $k8s_pkg.gitTreeState=clean \
 -X $k8s_pkg.buildDate=2026-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=36 \
 -X k8s.io/client-go/pkg/version.gitCommit=0000000000000000000000000000000000000000 \
 -X k8s.io/client-go/pkg/version.gitTreeState=clean"

# shellcheck source=../../tools/pinned.sh
source "$root/tools/pinned.sh"
# build NAME MODULE_DIR VERSION PACKAGE [LDFLAGS]
build() { pinned_build lab-bins "$bin" "$1" "$here/$2" "$3" "$4" "${5:-}"; }

build kube-apiserver kubernetes "$k8s_version" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kube-controller-manager kubernetes "$k8s_version" k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build kube-scheduler kubernetes "$k8s_version" k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
build etcd etcd v3.6.8 go.etcd.io/etcd/server/v3
build kwok kwok v0.8.0 sigs.k8s.io/kwok/cmd/kwok
