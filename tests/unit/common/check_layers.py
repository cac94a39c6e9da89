#!/usr/bin/env python3
"""Dependencies point one way: every `#include "..."` in carapace's own code may name a header of
its own module or of a module in a lower layer, never a peer's or a higher one's
(docs/ARCHITECTURE.md, "Dependencies"). Exit 0 when the tree keeps the order, 1 with every
offending include listed otherwise.

Usage: check_layers.py SOURCE_ROOT
"""
import os
import re
import sys

# Lowest first. Modules of one layer are peers: neither includes the other.
LAYERS = [
    ["common"],              # errors, utilities, the strict JSON reader, refvals, the seccomp engine
    ["devices"],             # the jailed back-ends and the device-kind table: need only common
    ["memenc", "policy"],    # launch measurement; launch policy (pure evaluator + its CLI)
    ["label", "attest"],     # MAC labelling (uses policy's device/isolation types); attestation
    ["runner"],              # the VMM: uses everything below
]

# Finer order inside a module: attest/hw (hardware verifiers) < attest/tpm (TPM evidence, which
# checks platform evidence with attest/hw's verifiers) < attest/*.c (the programs' entry points).
SUBLAYERS = {
    "attest": [["attest/hw"], ["attest/tpm"], ["attest"]],
}

# Headers no other part may include even though its layer is lower: an entry point is its own
# program's business (attest/tpm must not depend on the hardware-verifier CLI).
PRIVATE = {
    "attest/hw/cli.h": ["attest/hw/", "attest/verify_main.c"],
    "attest/tpm/cli.h": ["attest/tpm/", "attest/verify_main.c", "runner/main.c"],
}

# (including file, included header) -> why it cannot be otherwise. Keep it empty if you can.
EXCEPTIONS = {}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sublayer(top, path):
    """Index of path's part inside its module (0 when the module has no finer order): a prefix
    with a slash holds a subdirectory, the module's own name only the files directly in it."""
    for j, prefixes in enumerate(SUBLAYERS.get(top, [])):
        for p in prefixes:
            if ("/" in p and path.startswith(p + "/")) or (p == top and path.count("/") == 1):
                return j
    return 0


def rank(path):
    """(layer, sublayer, module) of a repository-relative path, or None outside the layers."""
    top = path.split("/", 1)[0]
    for i, layer in enumerate(LAYERS):
        if top in layer and "/" in path:
            return i, sublayer(top, path), top
    return None


def check_edge(src, inc):
    """None when src may include inc, else the reason it may not."""
    if (src, inc) in EXCEPTIONS:
        return None
    for header, allowed in PRIVATE.items():
        if inc == header and not any(src.startswith(a) for a in allowed):
            return "%s is private to %s" % (header, ", ".join(allowed))
    a, b = rank(src), rank(inc)
    if a is None:
        return None
    if b is None:
        return "%s is in no layer (names must be \"module/file.h\")" % inc
    if a[2] == b[2]:
        if b[1] > a[1]:
            return "%s is above %s inside %s" % (inc, src, a[2])
        return None
    if b[0] > a[0]:
        return "%s (layer %d, %s) is above %s (layer %d, %s)" % (inc, b[0], b[2], src, a[0], a[2])
    if b[0] == a[0]:
        return "%s and %s are peers (layer %d): neither includes the other" % (b[2], a[2], a[0])
    return None


def self_test():
    """The rules bite: each of these must be refused, each of those allowed."""
    refused = [
        ("memenc/direct_boot.h", "runner/acpi.h"),       # up
        ("common/cli.h", "runner/cli.h"),                # up from the bottom
        ("policy/parse.c", "memenc/plan.h"),             # peers
        ("attest/hw/snp_verify.c", "attest/tpm/verify.h"),  # up inside attest
        ("attest/tpm/cli_evidence.c", "attest/hw/cli.h"),   # private entry point
        ("runner/config.c", "policy2/jread.h"),          # in no layer
        ("devices/helper.c", "label/label.h"),           # label is above devices
    ]
    allowed = [
        ("runner/vm.c", "label/label.h"),
        ("label/label.c", "policy/policy.h"),
        ("label/label.c", "devices/devkinds.h"),
        ("attest/tpm/verify.c", "attest/hw/verify.h"),
        ("attest/verify_main.c", "attest/hw/cli.h"),
        ("policy/parse.c", "common/refvals.h"),
        ("devices/jail/seccomp.c", "common/seccomp_engine.h"),
        ("runner/main.c", "attest/tpm/cli.h"),
        ("tests/unit/x.c", "runner/vm.h"),               # tests and benches are outside
    ]
    bad = [e for e in refused if check_edge(*e) is None] + [e for e in allowed if check_edge(*e) is not None]
    for e in bad:
        print("check_layers self-test: wrong verdict for %s -> %s" % e)
    return not bad


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    if not self_test():
        return 1
    modules = [m for layer in LAYERS for m in layer]
    problems, seen = [], 0
    for m in modules:
        for dirpath, _, files in os.walk(os.path.join(root, m)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                full = os.path.join(dirpath, f)
                src = os.path.relpath(full, root)
                with open(full, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for inc in INCLUDE.findall(text):
                    seen += 1
                    why = check_edge(src, inc)
                    if why:
                        problems.append("%s: #include \"%s\": %s" % (src, inc, why))
    for p in problems:
        print(p)
    if seen == 0:
        print("check_layers: no includes found under %s: wrong source root?" % root)
        return 1
    print("check_layers: %d includes checked, %d against the layer order" % (seen, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
