#!/usr/bin/python3
# Policy-wide queries (setools) on the compiled carapace module linked with the refpolicy base:
# whole-policy questions that sampled access checks (check_access.c) cannot answer, e.g. "is
# there ANY file a helper may execute". Prints FAIL lines; exit 1 on any failure, 77 without
# setools. Usage: analyse.py POLICY.bin
import sys

try:
    import setools
except ImportError:
    print("SKIP: python3-setools not importable")
    sys.exit(77)

HELPERS = ["blk", "rng", "console", "net"]
# Local IPC is not "the network"; every other socket class is.
LOCAL_SOCKETS = {"unix_stream_socket", "unix_dgram_socket", "socket"}
NET_OBJECTS = {"node", "netif", "packet", "peer", "association"}
# Granted to every domain by the refpolicy base: receiving from peers labelled by the kernel
# on sockets the domain could not create in the first place.
BASE_PEER_PERMS = {"recvfrom", "recv", "sendto"}

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL " + msg)


def allows(p, **kw):
    return list(setools.TERuleQuery(p, ruletype=["allow"], **kw).results())


def show(rules):
    return "; ".join(str(r) for r in rules[:4])


def main():
    p = setools.SELinuxPolicy(sys.argv[1])
    classes = {str(c) for c in p.classes()}
    net_classes = {c for c in classes if c.endswith("socket") and c not in LOCAL_SOCKETS}
    constrained = {str(t) for t in p.lookup_typeattr("mcs_constrained_type").expand()}
    dta = setools.DomainTransitionAnalysis(p)

    for h in HELPERS:
        t = "carapace_%s_t" % h
        own_exec = "carapace_%s_exec_t" % h
        r = allows(p, source=t, perms={"execute_no_trans"})
        if r:
            fail("%s may execute programs: %s" % (t, show(r)))
        # textrel_shlib_t (execute, execmod) is granted to every domain by Debian's base
        # policy; nothing a module can take away (docs/mac.md, "Limits").
        r = [x for x in allows(p, source=t, tclass=["file"], perms={"execute"})
             if str(x.target) not in ("lib_t", "ld_so_t", "textrel_shlib_t", own_exec)]
        if r:
            fail("%s may map files executable: %s" % (t, show(r)))
        r = allows(p, source=t, tclass=["process"],
                   perms={"transition", "dyntransition", "setexec", "setcurrent", "execmem"})
        if r:
            fail("%s may change domain or make code: %s" % (t, show(r)))
        r = list(setools.TERuleQuery(p, ruletype=["type_transition"], source=t,
                                     tclass=["process"]).results())
        if r:
            fail("%s has a process type transition: %s" % (t, show(r)))
        r = allows(p, source=t, target="kvm_device_t")
        if r:
            fail("%s may touch /dev/kvm: %s" % (t, show(r)))
        r = [x for x in allows(p, source=t, tclass=net_classes | NET_OBJECTS)
             if not set(map(str, x.perms)) <= BASE_PEER_PERMS]
        if h == "net":
            r = [x for x in r if str(x.tclass) != "tun_socket"]
        if r:
            fail("%s may use the network: %s" % (t, show(r)))
        if h != "net":
            r = allows(p, source=t, target="tun_tap_device_t")
            if r:
                fail("%s may use TAP devices: %s" % (t, show(r)))
        if t not in constrained:
            fail("%s is not MCS-constrained" % t)
        if not list(dta.shortest_path("carapace_t", t)):
            fail("no domain transition carapace_t -> %s" % t)
        # The only way into a helper domain is the runner exec'ing the helper binary.
        entrants = {str(x.source) for x in allows(p, target=t, tclass=["process"],
                                                  perms={"transition", "dyntransition"})}
        if entrants - {"carapace_t"}:
            fail("domains other than carapace_t may enter %s: %s" % (t, sorted(entrants)))
        ent = {str(x.target) for x in allows(p, source=t, tclass=["file"], perms={"entrypoint"})}
        if ent != {own_exec}:
            fail("%s entrypoints are %s, expected only %s" % (t, sorted(ent), own_exec))

    # Identity changes: the runner may give helpers and files system_u/system_r whoever
    # started it; a helper may change no identity, role or object owner.
    for attr in ("can_change_process_identity", "can_change_process_role",
                 "can_change_object_identity"):
        members = {str(t) for t in p.lookup_typeattr(attr).expand()}
        if "carapace_t" not in members:
            fail("the runner is not in %s: helpers could not be started as system_u:system_r" % attr)
        for h in HELPERS:
            if "carapace_%s_t" % h in members:
                fail("carapace_%s_t is in %s" % (h, attr))
    if "carapace_t" in constrained:
        fail("the runner must not be MCS-constrained: it assigns the categories")
    r = [x for x in allows(p, source="carapace_t", tclass=net_classes)
         if not set(map(str, x.perms)) <= BASE_PEER_PERMS and str(x.tclass) != "tun_socket"]
    if r:
        fail("the runner may use network sockets: %s" % show(r))
    r = allows(p, source="carapace_t", perms={"execute_no_trans"})
    if r:
        fail("the runner may run programs in its own domain: %s" % show(r))
    r = [x for x in allows(p, source="carapace_t", tclass=["capability"])
         if set(map(str, x.perms)) & {"sys_module", "sys_rawio", "sys_ptrace", "sys_boot", "mac_admin", "mac_override"}]
    if r:
        fail("the runner holds dangerous capabilities: %s" % show(r))
    print("analysis: %d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
