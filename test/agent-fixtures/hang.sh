#!/bin/sh
# Test host command that never finishes: ignores SIGTERM, starts a child that sleeps 60 s, writes
# both process ids under STATE, and waits. Only killing its process group ends it.
# Usage: hang.sh STATE
state="$1"
trap '' TERM
echo clean-images >>"$state/runs.log"
sleep 60 &
echo "$!" >"$state/hang-child.pid"
echo "$$" >"$state/hang.pid"
echo "hanging"
wait
