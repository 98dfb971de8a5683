#!/usr/bin/env bash
# Build gate from this checkout and install it into $PREFIX/bin (default ~/.local/bin).
# Safe to run again: it rebuilds and replaces the binary, its shell completions and
# its man pages, nothing else. Completions and man pages come from the gate just
# built (`gate completions SHELL`, `gate man --dir DIR`) and go to
#   bash  ${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/gate
#   zsh   $PREFIX/share/zsh/site-functions/_gate
#   fish  ${XDG_CONFIG_HOME:-~/.config}/fish/completions/gate.fish
#   man   $PREFIX/share/man/man1/gate.1 and gate-SUBCOMMAND.1
# A failure there is a warning: the install itself has succeeded.
#
#   ./install.sh                 build and install
#   ./install.sh --print-target  print the target triple it would build, and exit
#   ./install.sh --print-rustflags  print the RUSTFLAGS it would build with, and exit
#
# GATE_BUILD_TARGET=<triple> overrides the target chosen below; GATE_PIE=1 builds a
# position-independent executable (see docs/performance.md for the trade-off).
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

# gate starts once per guarded command, so start-up time is its overhead. On Linux
# the binary is static (no dynamic loader). musl is preferred over glibc: static
# glibc probes the CPU's caches with CPUID at every start, and CPUID traps to the
# hypervisor on virtual machines (about 0.7 ms a start measured on a 2-core VM;
# see bench/overhead.sh). The musl build needs the Rust target and a musl C
# compiler (SQLite and ring are C); without them the glibc build is static too.
host="$(rustc -vV | sed -n 's/^host: //p')"
musl_ready() {
  local musl="$1" arch="${1%%-*}"
  command -v rustup >/dev/null 2>&1 \
    && rustup target list --installed 2>/dev/null | grep -qx "$musl" \
    && { command -v "$arch-linux-musl-gcc" >/dev/null 2>&1 || command -v musl-gcc >/dev/null 2>&1; }
}
hint=""
target="${GATE_BUILD_TARGET:-}"
if [ -z "$target" ]; then
  case "$host" in
    *-unknown-linux-gnu)
      musl="${host%-gnu}-musl"
      if musl_ready "$musl"; then
        target="$musl"
      else
        target="$host"
        hint="for a faster gate (static musl): rustup target add $musl, install a musl C compiler (Debian: apt-get install musl-tools), run ./install.sh again"
      fi
      ;;
    *) target="$host" ;;
  esac
fi
# Linux builds are static and, unless GATE_PIE=1, position-dependent: a static PIE
# relocates itself at every start (about 20,000 pointers, 90 copy-on-write pages,
# 0.4 ms a call on a 2-core VM). The stack, heap and mappings stay randomised.
flags="${RUSTFLAGS:-}"
case "$target" in
  *-linux-gnu | *-linux-musl)
    flags="$flags -C target-feature=+crt-static"
    [ "${GATE_PIE:-0}" = 1 ] || flags="$flags -C relocation-model=static"
    ;;
esac
case "${1:-}" in
  --print-target) echo "$target"; exit 0 ;;
  --print-rustflags) echo "$flags"; exit 0 ;;
esac
export RUSTFLAGS="$flags"
# The C parts find a musl compiler named <arch>-linux-musl-gcc on their own; point
# them at Debian's plain `musl-gcc` when that is the one there is.
case "$target" in
  *-linux-musl)
    arch="${target%%-*}"
    if ! command -v "$arch-linux-musl-gcc" >/dev/null 2>&1 && command -v musl-gcc >/dev/null 2>&1; then
      export "CC_$(echo "$target" | tr - _)=musl-gcc"
    fi
    ;;
esac

echo "building gate (release, $target) into $BIN_DIR ..."
cd "$here"  # so .cargo/config.toml (SQLite build flags) applies
cargo install --locked --path . --root "$PREFIX" --force --quiet --target "$target"
echo "installed $BIN_DIR/gate ($("$BIN_DIR/gate" --version))"
if [ -n "$hint" ]; then echo "note: $hint"; fi

case ":$PATH:" in
  *":$BIN_DIR:"*) ;;
  *)
    echo
    echo "note: $BIN_DIR is not on your PATH. Add it, e.g. for bash:"
    echo "  echo 'export PATH=\"$BIN_DIR:\$PATH\"' >> ~/.bashrc && export PATH=\"$BIN_DIR:\$PATH\""
    ;;
esac

# Completions and man pages: extras. Each failure warns and the next goes on.
warn() { echo "install.sh: warning: $*" >&2; }
install_output() {  # FILE COMMAND...: COMMAND's stdout becomes FILE, whole or not at all
  local file="$1"; shift
  mkdir -p "$(dirname "$file")" && "$@" > "$file.tmp" && mv -f "$file.tmp" "$file"
}
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
zsh_dir="$PREFIX/share/zsh/site-functions"
for pair in "bash $data_home/bash-completion/completions/gate" \
            "zsh $zsh_dir/_gate" \
            "fish $config_home/fish/completions/gate.fish"; do
  shell="${pair%% *}" file="${pair#* }"
  if install_output "$file" "$BIN_DIR/gate" completions "$shell"; then
    echo "installed $shell completion $file"
  else
    rm -f "$file.tmp"
    warn "could not install the $shell completion $file (gate works without it)"
  fi
done
man_dir="$PREFIX/share/man/man1"
if "$BIN_DIR/gate" man --dir "$man_dir"; then
  echo "installed man pages $man_dir/gate.1 and gate-*.1 (man gate)"
else
  warn "could not install the man pages into $man_dir (gate --help has the same text)"
fi
# zsh loads _gate only from a directory on its fpath: the built-in one (zsh -f) or
# one ~/.zshrc adds.
if command -v zsh >/dev/null 2>&1 \
  && ! zsh -fc 'print -rl -- $fpath' 2>/dev/null | grep -qxF "$zsh_dir" \
  && ! grep -qsF -e "$zsh_dir" -e "${zsh_dir/#"$HOME"/\~}" -e "${zsh_dir/#"$HOME"/\$HOME}" "${ZDOTDIR:-$HOME}/.zshrc"; then
  echo
  echo "note: for zsh completion add $zsh_dir to fpath, in ~/.zshrc before compinit:"
  echo "  fpath=($zsh_dir \$fpath)"
fi
