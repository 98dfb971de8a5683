# Route everyday privileged tools through gate. Source this from ~/.bashrc or ~/.zshrc:
#   source /path/to/gate/examples/gate-functions.sh
# gate runs the real binary from PATH, not the function. Each keeps the tool's own
# exit status; gate's own refusals use 100-111 (see the README's exit codes).
# Set GATE_REASON to send a reason with the next commands: GATE_REASON="INC-123" kubectl ...
for tool in kubectl helm terraform psql; do
  eval "$tool() { if [ -n \"\${GATE_REASON:-}\" ]; then gate --reason \"\$GATE_REASON\" -- $tool \"\$@\"; else gate -- $tool \"\$@\"; fi; }"
done
unset tool
