#!/bin/bash
# The one rule for comparing a VMM's serial output with a saved transcript of the test guest:
# drop CRs and every "info:" line (VMM-dependent by the guest's contract), then compare exactly.
# Usage: check-transcript.sh EXPECTED_FILE OUTPUT_FILE  (prints a unified diff on a mismatch)
# Used by check-microvm.sh; a carapace runner test can call it with expected/LABEL.txt.
set -u
expected=$1 output=$2
[ -r "$expected" ] || { echo "no expected transcript $expected"; exit 1; }
[ -r "$output" ] || { echo "no output file $output"; exit 1; }
diff -u --label "$expected" --label "$output (filtered)" "$expected" \
	<(tr -d '\r' <"$output" | grep -v '^info:')
