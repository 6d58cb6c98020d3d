# Sourced by lab/bins/build.sh and tools/build.sh. pinned_build builds one
# program at a pinned version from a Go module of its own (so that its
# dependencies stay out of premortem's) into a directory of binaries, and
# does nothing when the binary's version stamp matches.
#
# pinned_build LOG_PREFIX BIN_DIR NAME MODULE_DIR VERSION PACKAGE [LDFLAGS]
pinned_build() {
  local prefix=$1 bin=$2 name=$3 dir=$4 version=$5 pkg=$6 ldflags=${7:-"-s -w"}
  local stamp="$bin/.$name.version"
  # The stamp covers the flags and the module's go.sum too: changing either rebuilds.
  version="$version $(cat "$dir/go.sum" - <<<"$ldflags" | cksum | cut -d' ' -f1)"
  if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    return 0
  fi
  echo "$prefix: building $name ${version% *} (cold builds take minutes; later ones reuse the Go build cache)" >&2
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$version" > "$stamp"
  echo "$prefix: built $name in $((SECONDS - start))s" >&2
}
