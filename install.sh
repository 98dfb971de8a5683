#!/usr/bin/env bash
# Build gate from this checkout and install it into $PREFIX/bin (default ~/.local/bin).
# Safe to run again: it rebuilds and replaces the binary, nothing else.
set -euo pipefail

PREFIX="${PREFIX:-$HOME/.local}"
BIN_DIR="$PREFIX/bin"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v cargo >/dev/null 2>&1; then
  for candidate in "$HOME/.cargo/bin/cargo"; do
    [ -x "$candidate" ] && PATH="$(dirname "$candidate"):$PATH" && break
  done
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install the Rust toolchain (https://rustup.rs, or your" >&2
  echo "distribution's 'cargo' package), open a new shell, and run ./install.sh again." >&2
  exit 1
fi

# On glibc Linux the binary is linked statically: gate runs on every guarded
# command, and skipping the dynamic loader saves about half a millisecond a call.
target_args=()
host="$(rustc -vV | sed -n 's/^host: //p')"
case "$host" in
  *-linux-gnu)
    export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
    target_args=(--target "$host")
    ;;
esac

echo "building gate (release) into $BIN_DIR ..."
cd "$here"  # so .cargo/config.toml (SQLite build flags) applies
cargo install --locked --path . --root "$PREFIX" --force --quiet "${target_args[@]}"
echo "installed $BIN_DIR/gate ($("$BIN_DIR/gate" --version))"

case ":$PATH:" in
  *":$BIN_DIR:"*) ;;
  *)
    echo
    echo "note: $BIN_DIR is not on your PATH. Add it, e.g. for bash:"
    echo "  echo 'export PATH=\"$BIN_DIR:\$PATH\"' >> ~/.bashrc && export PATH=\"$BIN_DIR:\$PATH\""
    ;;
esac
