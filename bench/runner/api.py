#!/usr/bin/env python3
"""Firecracker-compatible API (runner/api) against the command line, in one run on one machine:
  1. GET / latency over a kept-alive connection (median and 99th percentile of N requests);
  2. a full configure-and-start (start carapace --api-sock, PUT /machine-config, PUT /boot-source,
     PUT /actions InstanceStart, wait for the process to end) against `carapace run` with the same
     options, each to the end of the process;
  3. the RSS the API adds: the API process's peak RSS while it serves (it holds no guest memory:
     the VM runs in its child) against the peak RSS of `carapace run`.
With KVM the guest is `reset` (it ends itself at once); without KVM both paths end at the same
/dev/kvm check, so (2) then measures everything before KVM: parsing, HTTP, fork+exec, policy.
usage: api.py CARAPACE GUEST_ELF [N]"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, time

C, G = sys.argv[1], os.path.realpath(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 20
kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def req(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"} if body is not None else {})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def serve(tmp):
    sock = os.path.join(tmp, "api.sock")
    p = subprocess.Popen([C, "run", "--api-sock", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(sock):
        if p.poll() is not None:
            sys.exit("carapace --api-sock ended early")
        time.sleep(0.001)
    return p, sock


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


with tempfile.TemporaryDirectory() as tmp:
    # 1. GET / latency
    p, sock = serve(tmp)
    conn = UnixConn(sock)
    lat = []
    for _ in range(50):
        req(conn, "GET", "/")
    for _ in range(N * 50):
        t = time.perf_counter()
        st, _ = req(conn, "GET", "/")
        lat.append(time.perf_counter() - t)
        assert st == 200
    lat.sort()
    for body, path in (({"vcpu_count": 1, "mem_size_mib": 32}, "/machine-config"),
                       ({"kernel_image_path": G, "boot_args": "reset"}, "/boot-source")):
        req(conn, "PUT", path, body)
    api_rss = peak_rss_kib(p.pid)
    p.terminate()
    p.wait()
    print(f"GET / over a kept-alive connection, {len(lat)} requests: median {statistics.median(lat) * 1e6:.0f} us, "
          f"p99 {lat[int(len(lat) * 0.99)] * 1e6:.0f} us")

    # 2. configure-and-start, API vs command line, alternating
    api_t, cli_t, cli_rss = [], [], 0
    for i in range(N):
        t = time.perf_counter()
        p, sock = serve(tmp)
        conn = UnixConn(sock)
        req(conn, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})
        req(conn, "PUT", "/boot-source", {"kernel_image_path": G, "boot_args": "reset"})
        st, body = req(conn, "PUT", "/actions", {"action_type": "InstanceStart"})
        if st != 204:
            p.terminate()  # without KVM the start is refused: the process is ended here
        p.wait()
        api_t.append(time.perf_counter() - t)
        conn.close()
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", C, "run", "--memory", "32M", "--vcpus", "1",
                            "--kernel", G, "--cmdline", "reset"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        cli_t.append(time.perf_counter() - t)
        cli_rss = max(cli_rss, int(r.stderr.strip().splitlines()[-1]))
    a, c = statistics.median(api_t), statistics.median(cli_t)
    print(f"configure-and-start to process end ({'KVM, guest reset' if kvm else 'no KVM: both end at the /dev/kvm check'}), "
          f"{N} runs each: API {a * 1e3:.1f} ms, command line {c * 1e3:.1f} ms, ratio {a / c:.2f}")
    print(f"peak RSS: API process while serving {api_rss} KiB; carapace run (command line) {cli_rss} KiB")
