#!/usr/bin/env bash
# Runs a command N times in a row and counts how often it fails: the check that a test
# does not flake (not part of CI). Each run's output is kept in target/repeat/RUN.log.
#   scripts/repeat.sh 20 bash scripts/browser-tests.sh
#   scripts/repeat.sh 5 cargo test -p roster-web --test api
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:?usage: scripts/repeat.sh N COMMAND...}"
shift
mkdir -p target/repeat
failed=0
for i in $(seq 1 "$runs"); do
    start=$(date +%s)
    if "$@" >"target/repeat/$i.log" 2>&1; then
        outcome=passed
    else
        outcome=FAILED
        failed=$((failed + 1))
    fi
    echo "run $i/$runs: $outcome in $(($(date +%s) - start)) s$( [ "$outcome" = FAILED ] && echo " (target/repeat/$i.log)")"
done
echo "$((runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
