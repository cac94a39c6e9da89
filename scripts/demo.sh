#!/usr/bin/env bash
# The README's first command ends here: boot the built-in demo guest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec ./build/runner/carapace run "$@"
