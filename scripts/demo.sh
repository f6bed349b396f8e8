#!/usr/bin/env bash
# Follow mode, as in production: watch a log under /tmp while this script
# appends the bundled sample to it a few lines at a time. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${TMPDIR:-/tmp}/tinywatcher-demo
mkdir -p "$dir"
: >"$dir/app.log"
sed "s#examples/sample.log#$dir/app.log#g" examples/basic.yaml >"$dir/config.yaml"

bin/tinywatcher watch --config "$dir/config.yaml" &
watcher=$!
trap 'kill $watcher 2>/dev/null; wait $watcher 2>/dev/null' EXIT INT TERM
sleep 1
while IFS= read -r line; do
	printf '%s\n' "$line" >>"$dir/app.log"
	sleep 0.05
done <examples/sample.log
echo "demo: sample appended; Ctrl-C to stop" >&2
wait $watcher
