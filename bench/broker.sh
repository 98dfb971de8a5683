# Start a broker for a benchmark (sourced after common.sh): `start_broker TIMEOUT`
# writes a config where alice approves every request (requests time out after
# TIMEOUT), sets BROKER_CONFIG, BROKER_URL and BROKER_PID, and prints nothing; the
# broker is stopped when the script exits; BROKER_EXTRA_CONFIG is appended to the
# config. `alice_token` prints a token for alice.
start_broker() {
  local config="$work/broker.toml"
  BROKER_CONFIG="$config"
  # The load tools send unsigned requests, as an unenrolled machine would.
  printf 'version = 1\nrequire_enrollment = false\n[people.alice]\nunix = "alice"\n[defaults]\napprovers = ["alice"]\nquorum = 1\ntimeout = "%s"\n' \
    "$1" > "$config"
  printf '%s' "${BROKER_EXTRA_CONFIG:-}" >> "$config"
  chmod 600 "$config"
  "$GATE" serve --listen 127.0.0.1:0 --config "$config" 2> "$work/broker.log" &
  BROKER_PID=$!
  trap 'kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 100); do
    BROKER_URL="$(sed -n 's/^gate serve: listening on //p' "$work/broker.log")"
    [ -n "$BROKER_URL" ] && return
    sleep 0.1
  done
  echo "bench: the broker did not start:" >&2
  cat "$work/broker.log" >&2
  exit 1
}

alice_token() {
  "$GATE" serve token create alice --config "$BROKER_CONFIG"
}
