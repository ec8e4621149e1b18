#!/bin/sh
# Test host command standing in for a reboot that fixes the node: sets the node condition named
# in $CONDITION back to False through the API, as node-problem-detector would after a clean boot,
# and appends to STATE/runs.log. Usage: clear-condition.sh STATE (env: KUBECTL, KUBECONFIG, NODE, CONDITION)
set -eu
echo "clear-condition" >>"$1/runs.log"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$KUBECTL" patch node "$NODE" --subresource=status --type=strategic -p \
  "{\"status\":{\"conditions\":[{\"type\":\"$CONDITION\",\"status\":\"False\",\"reason\":\"Rebooted\",\"message\":\"cleared by the test agent\",\"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}"
echo "cleared $CONDITION on $NODE"
