/* Device helpers' counters on a shared page (devices/devstats.h). */
#include "devices/devstats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static const char *const blk_names[DS_BLK__N] = {
	[DS_BLK_READ_BYTES] = "read_bytes",
	[DS_BLK_WRITE_BYTES] = "write_bytes",
	[DS_BLK_READ_COUNT] = "read_count",
	[DS_BLK_WRITE_COUNT] = "write_count",
	[DS_BLK_FLUSH_COUNT] = "flush_count",
	[DS_BLK_INVALID_REQS] = "invalid_reqs_count",
	[DS_BLK_EXECUTE_FAILS] = "execute_fails",
	[DS_BLK_QUEUE_EVENT_COUNT] = "queue_event_count",
	[DS_BLK_UPDATE_COUNT] = "update_count",
	[DS_BLK_UPDATE_FAILS] = "update_fails",
};

static const char *const net_names[DS_NET__N] = {
	[DS_NET_RX_BYTES] = "rx_bytes_count",
	[DS_NET_RX_PACKETS] = "rx_packets_count",
	[DS_NET_RX_COUNT] = "rx_count",
	[DS_NET_TX_BYTES] = "tx_bytes_count",
	[DS_NET_TX_PACKETS] = "tx_packets_count",
	[DS_NET_TX_COUNT] = "tx_count",
	[DS_NET_RX_QUEUE_EVENTS] = "rx_queue_event_count",
	[DS_NET_TX_QUEUE_EVENTS] = "tx_queue_event_count",
	[DS_NET_RX_TAP_EVENTS] = "rx_tap_event_count",
	[DS_NET_TAP_READ_FAILS] = "tap_read_fails",
	[DS_NET_TAP_WRITE_FAILS] = "tap_write_fails",
	[DS_NET_TX_MALFORMED] = "tx_malformed_frames",
};

static const char *const rng_names[DS_RNG__N] = {
	[DS_RNG_EVENT_COUNT] = "entropy_event_count",
	[DS_RNG_BYTES] = "entropy_bytes",
	[DS_RNG_HOST_FAILS] = "host_rng_fails",
};

static const char *const vsock_names[DS_VSOCK__N] = {
	[DS_VSOCK_RX_BYTES] = "rx_bytes_count",
	[DS_VSOCK_TX_BYTES] = "tx_bytes_count",
	[DS_VSOCK_RX_PACKETS] = "rx_packets_count",
	[DS_VSOCK_TX_PACKETS] = "tx_packets_count",
	[DS_VSOCK_CONNS_ADDED] = "conns_added",
	[DS_VSOCK_CONNS_KILLED] = "conns_killed",
	[DS_VSOCK_CONNS_REMOVED] = "conns_removed",
	[DS_VSOCK_RX_QUEUE_EVENTS] = "rx_queue_event_count",
	[DS_VSOCK_TX_QUEUE_EVENTS] = "tx_queue_event_count",
};

_Static_assert(DS_BLK__N <= DEVSTATS_MAX && DS_NET__N <= DEVSTATS_MAX && DS_RNG__N <= DEVSTATS_MAX &&
	       DS_VSOCK__N <= DEVSTATS_MAX, "a kind has more counters than the page holds");
_Static_assert(DEVSTATS_MAX * sizeof(uint64_t) <= DEVSTATS_SIZE, "the counters do not fit the page");

static const struct devstats_kind kinds[DEVKIND__COUNT] = {
	[DEVKIND_BLK] = { "block", true, DS_BLK__N, blk_names },
	[DEVKIND_NET] = { "net", true, DS_NET__N, net_names },
	[DEVKIND_RNG] = { "entropy", false, DS_RNG__N, rng_names },
	[DEVKIND_VSOCK] = { "vsock", false, DS_VSOCK__N, vsock_names },
	/* DEVKIND_CONSOLE: none */
};

const struct devstats_kind *devstats_kind(enum devkind_id k)
{
	if ((unsigned)k >= DEVKIND__COUNT || !kinds[k].group)
		return NULL;
	return &kinds[k];
}

/* ---- the helper's side ---- */

static uint64_t private_page[DEVSTATS_MAX];
static uint64_t *counters = private_page;

int devstats_attach(int fd, struct cp_err *err)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || st.st_size != DEVSTATS_SIZE) {
		int e = errno;
		close(fd);
		return cp_err_set(err, e ? e : EINVAL, "--stats-fd: not a %d-byte counter page", DEVSTATS_SIZE);
	}
	p = mmap(NULL, DEVSTATS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return cp_err_set(err, errno, "--stats-fd: mmap: %s", strerror(errno));
	counters = p;
	return 0;
}

void devstats_add(unsigned i, uint64_t n)
{
	if (i < DEVSTATS_MAX)
		__atomic_fetch_add(&counters[i], n, __ATOMIC_RELAXED);
}

/* ---- the VM process's side ---- */

int devstats_create(int *fd_out, const uint64_t **page, struct cp_err *err)
{
	int fd = memfd_create("carapace-devstats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (fd < 0)
		return cp_err_set(err, errno, "counter page: memfd_create: %s", strerror(errno));
	/* Sealed at its size: a helper that shrank it would make the VM process's read fault. */
	if (ftruncate(fd, DEVSTATS_SIZE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = errno;
		close(fd);
		return cp_err_set(err, e, "counter page: %s", strerror(e));
	}
	p = mmap(NULL, DEVSTATS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(fd);
		return cp_err_set(err, e, "counter page: mmap: %s", strerror(e));
	}
	*fd_out = fd;
	*page = p;
	return 0;
}

void devstats_unmap(const uint64_t *page)
{
	if (page)
		munmap((void *)page, DEVSTATS_SIZE);
}

void devstats_observe(const uint64_t *page, unsigned n, uint64_t seen[DEVSTATS_MAX])
{
	if (!page)
		return;
	for (unsigned i = 0; i < n && i < DEVSTATS_MAX; i++) {
		/* One load per counter: the helper may change it at any time. */
		uint64_t v = __atomic_load_n(&page[i], __ATOMIC_RELAXED);
		if (v > INT64_MAX)
			v = INT64_MAX;
		if (v > seen[i])
			seen[i] = v;
	}
}
