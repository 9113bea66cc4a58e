#!/usr/bin/env bash
# Waits for a suite `make test` started in the background (var/test-logs/<name>.log and .rc),
# prints its output, and exits with its status.
set -u
name="$1"
log="var/test-logs/$name.log"
rc_file="var/test-logs/$name.rc"
if [ ! -f "$rc_file" ]; then
	echo "==> Waiting for the $name suites to finish ($log)"
fi
while [ ! -f "$rc_file" ]; do sleep 1; done
echo "==> ${name^} suites (ran in the background)"
cat "$log"
exit "$(cat "$rc_file")"
