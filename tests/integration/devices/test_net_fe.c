/* Integration: carapace-net (jailed, TAP opened by name) in a network namespace the test made
 * itself (net.sh runs this under `unshare --net`): the front-end sends an ARP request for the
 * TAP's address on the transmit queue and receives the kernel's ARP reply on the receive queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe_util.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };

int main(void)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");
	char bin[512], dir[] = "/tmp/carapace-net.XXXXXX", sock[128];
	struct fe_env e;
	int ret = 1, found = 0;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/devices/carapace-net", build ? build : ".");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/net.sock", dir);
	char *argv[] = { bin, "--socket-path", sock, "--tap", "cptap0", "--mac", "52:54:00:00:00:02", NULL };
	pid = fe_spawn(argv, sock);
	if (pid < 0)
		return 1;
	if (system("ip link set cptap0 up && ip addr add 10.99.0.1/24 dev cptap0") != 0) {
		fprintf(stderr, "FAIL: configuring cptap0\n");
		goto out;
	}
	if (fe_env_open(&e, sock, 1u << 20, 2, 64, ~0ull, ~0ull) < 0) {
		fprintf(stderr, "FAIL: front-end: %s\n", e.err.msg);
		goto out;
	}
	/* Receive buffers. */
	uint64_t rx[8];
	for (int i = 0; i < 8; i++) {
		rx[i] = fe_alloc(&e, 2048);
		struct vu_drv_buf b = { rx[i], 2048, true };
		vu_drvq_add(&e.q[0], &b, 1);
	}
	vu_drvq_kick(&e.q[0]);
	/* virtio-net header (12 zero bytes) + ARP who-has 10.99.0.1 tell 10.99.0.2 */
	uint64_t g = fe_alloc(&e, 12 + 42);
	uint8_t pkt[12 + 42] = { 0 };
	uint8_t *f = pkt + 12;
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08, f[13] = 0x06;                   /* ARP */
	f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0;   /* Ethernet, IPv4 */
	f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;   /* request */
	memcpy(f + 22, guest_mac, 6);
	inet_pton(AF_INET, "10.99.0.2", f + 28);
	inet_pton(AF_INET, "10.99.0.1", f + 38);
	memcpy(fe_host(&e, g), pkt, sizeof(pkt));
	struct vu_drv_buf tb = { g, 12 + 42, false };
	vu_drvq_add(&e.q[1], &tb, 1);
	vu_drvq_kick(&e.q[1]);
	for (int i = 0; i < 300 && !found; i++) {
		uint16_t h;
		uint32_t l;

		while (vu_drvq_get_used(&e.q[0], &h, &l) == 1) {
			uint8_t *fr = NULL;
			for (int k = 0; k < 8; k++) /* buffers are single-descriptor: head = slot order */
				if (h == k)
					fr = (uint8_t *)fe_host(&e, rx[k]) + 12;
			if (fr && l >= 12 + 42 && fr[12] == 0x08 && fr[13] == 0x06 && fr[21] == 2 &&
			    memcmp(fr, guest_mac, 6) == 0) {
				printf("ok: ARP reply from the kernel through carapace-net: 10.99.0.1 is at %02x:%02x:%02x:%02x:%02x:%02x\n",
				       fr[22], fr[23], fr[24], fr[25], fr[26], fr[27]);
				found = 1;
			}
			struct vu_drv_buf b = { rx[h < 8 ? h : 0], 2048, true };
			vu_drvq_add(&e.q[0], &b, 1);
			vu_drvq_kick(&e.q[0]);
		}
		vu_drvq_wait(&e.q[0], 10);
	}
	if (!found)
		fprintf(stderr, "FAIL: no ARP reply received\n");
	ret = found ? 0 : 1;
	fe_env_close(&e);
	if (WEXITSTATUS(fe_wait(pid)) != 0) {
		fprintf(stderr, "FAIL: carapace-net did not exit cleanly\n");
		ret = 1;
	}
	pid = -1;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		fe_wait(pid);
	}
	unlink(sock);
	rmdir(dir);
	return ret;
}
