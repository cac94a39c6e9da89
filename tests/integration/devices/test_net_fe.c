/* Integration: carapace-net (jailed, TAP opened by name) in a network namespace the test made
 * itself (net.sh runs this under `unshare --net`): the front-end sends an ARP request for the
 * TAP's address on the transmit queue and receives the kernel's ARP reply on the receive queue.
 * Its counter page (--stats-fd, Firecracker's `net` group) then holds exactly what the test sent
 * and received: frames with their 12-byte header, the malformed one apart, every kick. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/devstats.h"
#include "fe_util.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };

int main(void)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");
	char bin[512], dir[] = "/tmp/carapace-net.XXXXXX", sock[128];
	struct fe_env e;
	struct fe_stats st;
	int ret = 1, found = 0;
	unsigned rx_kicks = 0, tx_kicks = 0;
	uint64_t rx_frames = 0, rx_bytes = 0;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/devices/carapace-net", build ? build : ".");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/net.sock", dir);
	if (fe_stats_open(&st) < 0)
		return 1;
	char *argv[] = { bin, "--socket-path", sock, "--tap", "cptap0", "--mac", "52:54:00:00:00:02",
			 "--stats-fd", st.arg, NULL };
	pid = fe_spawn(argv, sock);
	fe_stats_sent(&st);
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
	rx_kicks++;
	/* A malformed frame first: the header alone, no frame after it. It is dropped, counted. */
	uint64_t bad = fe_alloc(&e, 12);
	memset(fe_host(&e, bad), 0, 12);
	struct vu_drv_buf bb = { bad, 12, false };
	vu_drvq_add(&e.q[1], &bb, 1);
	vu_drvq_kick(&e.q[1]);
	tx_kicks++;
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
	tx_kicks++;
	for (int i = 0; i < 300 && !found; i++) {
		uint16_t h;
		uint32_t l;

		while (vu_drvq_get_used(&e.q[0], &h, &l) == 1) {
			rx_frames += l > 0;
			rx_bytes += l;
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
			rx_kicks++;
		}
		vu_drvq_wait(&e.q[0], 10);
	}
	if (!found)
		fprintf(stderr, "FAIL: no ARP reply received\n");
	ret = found ? 0 : 1;
	vu_fe_close(&e.fe);
	if (WEXITSTATUS(fe_wait(pid)) != 0) {
		fprintf(stderr, "FAIL: carapace-net did not exit cleanly\n");
		ret = 1;
	}
	pid = -1;
	/* The helper has gone: what it delivered after the ARP reply is in the used ring now. */
	{
		uint16_t h;
		uint32_t l;

		while (vu_drvq_get_used(&e.q[0], &h, &l) == 1) {
			rx_frames += l > 0;
			rx_bytes += l;
		}
	}
	fe_env_close(&e);
	{
		const struct devstats_kind *k = devstats_kind(DEVKIND_NET);
		uint64_t want[DS_NET__N] = {
			[DS_NET_TX_BYTES] = 12 + 42, [DS_NET_TX_PACKETS] = 1, [DS_NET_TX_COUNT] = 1,
			[DS_NET_TX_MALFORMED] = 1, [DS_NET_RX_PACKETS] = rx_frames, [DS_NET_RX_BYTES] = rx_bytes,
			[DS_NET_RX_QUEUE_EVENTS] = rx_kicks, [DS_NET_TX_QUEUE_EVENTS] = tx_kicks,
		};
		uint64_t rx_count = fe_stats_get(&st, DS_NET_RX_COUNT), tap_events = fe_stats_get(&st, DS_NET_RX_TAP_EVENTS);

		/* Every frame read from the TAP was delivered but for one the guest had no buffer
		 * for when the helper ended; none failed, none needed more than one wake-up. */
		want[DS_NET_RX_COUNT] = rx_count == rx_frames + 1 ? rx_count : rx_frames;
		want[DS_NET_RX_TAP_EVENTS] = tap_events >= 1 && tap_events <= rx_count ? tap_events : 0;
		for (unsigned i = 0; i < DS_NET__N; i++) {
			uint64_t v = fe_stats_get(&st, i);

			if (v != want[i]) {
				fprintf(stderr, "FAIL: net counter %s: %llu, expected %llu\n", k->names[i],
					(unsigned long long)v, (unsigned long long)want[i]);
				ret = 1;
			}
		}
		if (rx_frames < 1 || rx_bytes < 12 + 42)
			ret = 1;
		if (!ret)
			printf("ok: net counters: tx 1 frame of %u bytes + 1 malformed, rx %llu frames of %llu bytes, "
			       "%u rx and %u tx kicks\n", 12 + 42, (unsigned long long)rx_frames,
			       (unsigned long long)rx_bytes, rx_kicks, tx_kicks);
	}
	fe_stats_close(&st);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		fe_wait(pid);
	}
	unlink(sock);
	rmdir(dir);
	return ret;
}
