#!/usr/bin/env bash
# Installs what the browser tests (test/browser, internal/browsertest) and
# the terminal tests (test/e2e/terminal) drive: Debian's chromium and tmux,
# only when missing. Run by `make test`, so a fresh machine runs those tests
# instead of skipping them. Without root or passwordless sudo it says what
# to install and goes on: the tests then skip, naming what they lack.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v tmux >/dev/null || need+=(tmux)
[ "${#need[@]}" -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
	echo "test-deps: not Debian; install ${need[*]} for the browser and terminal tests" >&2
	exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! sudo -n true 2>/dev/null; then
		echo "test-deps: not root; run: sudo apt-get install ${need[*]}" >&2
		exit 0
	fi
	sudo="sudo -n"
fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
