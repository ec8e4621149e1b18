#!/bin/sh
# Test host command: appends "NAME <Unix milliseconds>" to STATE/runs.log, so a test can tell
# when the command ran (self-fence's reboot). Usage: record-time.sh STATE NAME
set -eu
echo "$2 $(date +%s%3N)" >>"$1/runs.log"
echo "ran $2"
