#!/bin/sh
# Test host command: appends the arguments it was given (each in brackets) and its environment to
# STATE/argv.log, so that a test can show what reached the host. Usage: record-argv.sh STATE [ARG...]
set -eu
state="$1"
{
  printf 'argv:'
  printf ' [%s]' "$@"
  printf '\n'
  env
} >>"$state/argv.log"
echo "recorded $#"
