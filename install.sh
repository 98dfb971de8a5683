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

echo "building gate (release) into $BIN_DIR ..."
cargo install --locked --path "$here" --root "$PREFIX" --force --quiet
echo "installed $BIN_DIR/gate ($("$BIN_DIR/gate" --version))"

case ":$PATH:" in
  *":$BIN_DIR:"*) ;;
  *)
    echo
    echo "note: $BIN_DIR is not on your PATH. Add it, e.g. for bash:"
    echo "  echo 'export PATH=\"$BIN_DIR:\$PATH\"' >> ~/.bashrc && export PATH=\"$BIN_DIR:\$PATH\""
    ;;
esac
