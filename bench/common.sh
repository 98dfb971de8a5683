# Shared set-up for the benchmark scripts: tools, a release build, a private GATE_HOME.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "installing $2 ..." >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
  else echo "bench: '$1' is missing; install the '$2' package" >&2; exit 1; fi
}
need hyperfine hyperfine
# Build gate exactly as install.sh installs it (static on glibc Linux).
host="$(rustc -vV | sed -n 's/^host: //p')"
case "$host" in
  *-linux-gnu) flags="-C target-feature=+crt-static" ;;
  *) flags="" ;;
esac
(cd "$root" && RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release --locked --quiet --target "$host")
GATE="$root/target/$host/release/gate"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GATE_HOME="$work/home"
mkdir -p "$GATE_HOME"
