#!/bin/sh
# Test host command: appends its name to STATE/runs.log (the marker tests count), prints to
# stdout and stderr, then optionally pauses. Usage: record-run.sh STATE NAME [SECONDS]
set -eu
state="$1"
name="$2"
pause="${3:-0}"
echo "$name" >>"$state/runs.log"
echo "ran $name"
echo "ran $name (stderr)" >&2
sleep "$pause"
