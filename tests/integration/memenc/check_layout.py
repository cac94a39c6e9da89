#!/usr/bin/env python3
"""An independent reading of `carapace measure --layout-out DIR`: recompute the SNP launch digest
or the TDX MRTD from DIR/plan.jsonl + DIR/pages.bin alone (hashlib, from the public formats:
AMD SEV-SNP ABI PAGE_INFO; Intel TDX module MEM.PAGE.ADD / MR.EXTEND records), check that no
page is given twice, and check each ACPI table's checksum and length.
usage: check_layout.py snp|tdx DIR EXPECTED_HEX [--direct]"""
import hashlib
import json
import os
import struct
import sys

VMSA_GPA = 0xFFFFFFFFF000
SNP_TYPES = {"normal": 1, "vmsa": 2, "zero": 3, "unmeasured": 4, "secrets": 5, "cpuid": 6}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    platform, d, expected = sys.argv[1], sys.argv[2], sys.argv[3].strip().lower()
    direct = "--direct" in sys.argv[4:]
    pages = open(os.path.join(d, "pages.bin"), "rb").read()
    if len(pages) % 4096 or pages[:4096] != bytes(4096):
        fail("pages.bin does not start with the zero page or is not whole pages")
    seen = set()
    n = 0
    if platform == "snp":
        ld = bytes(48)
    else:
        mrtd = hashlib.sha384()
    with open(os.path.join(d, "plan.jsonl")) as f:
        for line in f:
            p = json.loads(line)
            if set(p) != {"gpa", "type", "measured", "offset"}:
                fail("unexpected keys %s" % sorted(p))
            gpa, typ, off = p["gpa"], p["type"], p["offset"]
            if gpa % 4096 or off % 4096 or off + 4096 > len(pages):
                fail("page %d: gpa 0x%x / offset 0x%x not aligned or outside pages.bin" % (n, gpa, off))
            if typ != "vmsa":
                if gpa in seen:
                    fail("page 0x%x given twice" % gpa)
                seen.add(gpa)
            data = pages[off:off + 4096]
            n += 1
            if platform == "snp":
                t = SNP_TYPES[typ]
                if typ in ("zero", "secrets", "cpuid", "unmeasured") and off != 0:
                    fail("a %s page with contents" % typ)
                contents = hashlib.sha384(data).digest() if typ in ("normal", "vmsa") else bytes(48)
                info = ld + contents + struct.pack("<HBBBBBBQ", 0x70, t, 0, 0, 0, 0, 0, gpa)
                assert len(info) == 0x70
                ld = hashlib.sha384(info).digest()
            else:
                if typ != "normal":
                    fail("TDX page type %s" % typ)
                rec = b"MEM.PAGE.ADD".ljust(16, b"\0") + struct.pack("<Q", gpa)
                mrtd.update(rec.ljust(128, b"\0"))
                if p["measured"]:
                    for c in range(16):
                        rec = b"MR.EXTEND".ljust(16, b"\0") + struct.pack("<Q", gpa + 256 * c)
                        mrtd.update(rec.ljust(128, b"\0") + data[256 * c:256 * c + 256])
    got = (ld if platform == "snp" else mrtd.digest()).hex()
    print("pages: %d, recomputed %s" % (n, got))
    if got != expected:
        fail("recomputed %s, carapace measure printed %s" % (got, expected))
    acpi = os.path.join(d, "acpi")
    tables = sorted(os.listdir(acpi))
    if direct and not {"RSDP.dat", "XSDT.dat", "FACP.dat", "DSDT.dat", "APIC.dat"} <= set(tables):
        fail("ACPI tables missing: %s" % tables)
    for name in tables:
        b = open(os.path.join(acpi, name), "rb").read()
        if name == "RSDP.dat":
            ok = b[:8] == b"RSD PTR " and sum(b[:20]) % 256 == 0 and sum(b[:36]) % 256 == 0 and len(b) == 36
        else:
            ok = b[:4] == name[:4].encode() and struct.unpack("<I", b[4:8])[0] == len(b) and sum(b) % 256 == 0
        if not ok:
            fail("ACPI %s: bad signature, length or checksum" % name)
        print("acpi %s: %d bytes, checksum ok" % (name, len(b)))
    print("PASS")


main()
