#!/usr/bin/env bash
# Regenerate the allowlist section of docs/HARDENING.md from the code (the test suite checks it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${1:-build/runner/carapace}
python3 - "$bin" <<'PY'
import subprocess, sys
table = subprocess.run([sys.argv[1], "run", "--print-seccomp-policy"], check=True, capture_output=True, text=True).stdout
doc = open("docs/HARDENING.md").read()
a, b = "<!-- seccomp-policy:begin -->\n", "<!-- seccomp-policy:end -->"
i, j = doc.index(a) + len(a), doc.index(b)
open("docs/HARDENING.md", "w").write(doc[:i] + table + doc[j:])
PY
