# Route everyday privileged tools through gate. Source this from ~/.bashrc or ~/.zshrc:
#   source /path/to/gate/examples/gate-functions.sh
# gate runs the real binary from PATH, not the function. Each keeps the tool's own exit status; gate's own refusals use 100-111.
for tool in kubectl helm terraform psql; do
  eval "$tool() { gate -- $tool \"\$@\"; }"
done
unset tool
