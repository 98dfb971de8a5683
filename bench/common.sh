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
# Build gate exactly as install.sh installs it: static, musl where the toolchain has
# it. As root the bench first makes the musl build available (musl-tools, rustup).
if [ "$(id -u)" = 0 ] && [ -z "${GATE_BUILD_TARGET:-}" ]; then
  need musl-gcc musl-tools
  arch="$(uname -m)"
  rustup target add "$arch-unknown-linux-musl" >/dev/null 2>&1 \
    || echo "bench: could not add the $arch musl target; measuring the glibc build" >&2
fi
target="$("$root/install.sh" --print-target)"
flags="$("$root/install.sh" --print-rustflags)"
echo "bench: gate built for $target with RUSTFLAGS='$flags'" >&2
(cd "$root" && RUSTFLAGS="$flags" cargo build --release --locked --quiet --target "$target")
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
GATE="$target_dir/$target/release/gate"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GATE_HOME="$work/home"
mkdir -p "$GATE_HOME"
