#!/usr/bin/env python3
"""The host side of the test guest's virtio-vsock scenario, speaking Firecracker's hybrid vsock
(docs/vsock.md there): a listener on <uds>_<port> for the guest's connection, then a connection
to <uds> with "CONNECT <listen>\\n" answered "OK <host_port>\\n". Exits 0 when every exchange
was as the guest scenario (tests/guest/vsock.c) defines it; prints why not otherwise.
usage: vsock_peer.py UDS PORT LISTEN BYTES READY_FILE"""
import os
import socket
import sys

uds, port, listen, nbytes, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
# Bounds only the test's time when the guest never comes; no result depends on it.
WAIT = 240


def fail(msg):
    print("peer: FAIL: " + msg, flush=True)
    sys.exit(1)


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            fail("connection closed after %r, before a whole line" % data)
        data += chunk
        if len(data) > 256:
            fail("line too long: %r" % data)
    return data


path = "%s_%d" % (uds, port)
if os.path.exists(path):
    os.unlink(path)
lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lst.bind(path)
os.chmod(path, 0o777)  # the jailed helper may run as another user (nobody, when started as root)
lst.listen(1)
lst.settimeout(WAIT)
open(ready, "w").close()

# 1. The guest connects to host port PORT: it reaches <uds>_<port>.
conn, _ = lst.accept()
conn.settimeout(WAIT)
line = read_line(conn)
if line != b"hello host, this is the guest\n":
    fail("guest-initiated stream: got %r" % line)
conn.sendall(b"hello guest\n")
rest = conn.recv(64)
if rest != b"":
    fail("guest-initiated stream: expected the guest to close, got %r" % rest)
conn.close()
print("peer: guest-initiated stream on %s: a line each way, closed by the guest" % path, flush=True)

# 2. The host connects to the guest's port LISTEN through <uds>.
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(WAIT)
s.connect(uds)
s.sendall(b"CONNECT %d\n" % listen)
ok = read_line(s)
parts = ok.split()
if len(parts) != 2 or parts[0] != b"OK" or not parts[1].isdigit():
    fail("CONNECT %d: answered %r, expected OK <host_port>" % (listen, ok))
s.sendall(bytes(i & 0xff for i in range(nbytes)))
line = read_line(s)
if line != b"guest got %d bytes\n" % nbytes:
    fail("host-initiated stream: got %r" % line)
s.close()
print("peer: host-initiated stream to guest port %d (%s): %d bytes in, a line back" % (listen, ok.decode().strip(), nbytes),
      flush=True)
