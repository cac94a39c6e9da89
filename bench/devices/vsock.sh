#!/usr/bin/env bash
# carapace-vsock's relay cost: bench-devices-vsock (a front-end playing the guest, no KVM)
# against a plain UNIX socket pair in the same run. Results: docs/PERFORMANCE.md.
# usage: bench/devices/vsock.sh [BUILD_DIR] [MiB] [round trips]
set -eu
B=${1:-build}
exec "$B/bench/devices/bench-devices-vsock" "$B/devices/carapace-vsock" "${2:-64}" "${3:-2000}"
