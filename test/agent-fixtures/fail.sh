#!/bin/sh
# Test host command: records that it ran, prints 200 numbered lines, then fails with FAIL_CODE.
# Usage: fail.sh STATE
set -eu
echo rotate-logs >>"$1/runs.log"
i=1
while [ "$i" -le 200 ]; do
  echo "line $i of a long failing output"
  i=$((i + 1))
done
echo "fatal: simulated failure" >&2
exit "${FAIL_CODE:-1}"
