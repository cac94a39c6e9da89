/* Polling virtio-mmio (version 2) drivers for the virtio scenarios: blk, rng and console. The
 * device is found from the kernel-style argument virtio_mmio.device=<size>@<base>:<irq>; each
 * request is one descriptor chain on a split ring, completion is polled with a bounded wait. */
#include "virtio.h"

static struct vq_mem vq_mem;

void virtio_fail(const struct vdev *d, const char *fmt, ...)
{
	va_list ap;
	if (d && d->base)
		*vreg(d, VM_STATUS) = *vreg(d, VM_STATUS) | ST_FAILED;
	va_start(ap, fmt);
	guest_vfail(GUEST_VIRTIO_FAILED, "", fmt, ap);
}

/* Parses "<size>@<base>:<irq>[:<id>]" (size with an optional K/M/G suffix), as Linux does. */
static bool virtio_parse_device_arg(const char *s, size_t len, uint32_t *base, uint32_t *size)
{
	size_t at = 0, colon;
	uint64_t sz, b;
	uint32_t mult = 1;

	while (at < len && s[at] != '@')
		at++;
	if (at == 0 || at == len)
		return false;
	colon = at + 1;
	while (colon < len && s[colon] != ':')
		colon++;
	switch (s[at - 1]) {
	case 'K': case 'k': mult = 1u << 10; break;
	case 'M': case 'm': mult = 1u << 20; break;
	case 'G': case 'g': mult = 1u << 30; break;
	default: break;
	}
	if (!parse_u64(s, mult == 1 ? at : at - 1, &sz) || !parse_u64(s + at + 1, colon - at - 1, &b))
		return false;
	sz *= mult;
	if (sz < VM_CONFIG || sz > 0x100000 || b & 3 || b + sz > 0x100000000ull)
		return false;
	*base = (uint32_t)b;
	*size = (uint32_t)sz;
	return true;
}

/* Finds the first listed device with the wanted id; a window that overlaps RAM is refused
 * (probing it would scribble over memory, not talk to a device). */
void virtio_find(const struct guest_boot *boot, uint32_t want, struct vdev *d)
{
	unsigned i, seen = 0;

	mem_set(d, 0, sizeof(*d));
	for (i = 0; i < boot->nargs; i++) {
		const struct guest_arg *a = &boot->args[i];
		uint32_t base, size, magic, version, id;

		if (!a->value || !str_eq_n(a->key, a->key_len, "virtio_mmio.device"))
			continue;
		seen++;
		if (!virtio_parse_device_arg(a->value, a->value_len, &base, &size))
			virtio_fail(NULL, "virtio: cannot parse virtio_mmio.device=%.*s (want <size>@<base>:<irq>)",
			            (int)a->value_len, a->value);
		if (guest_boot_is_ram(boot, base, 4) || guest_boot_is_ram(boot, base + size - 4, 4))
			virtio_fail(NULL, "virtio: window 0x%x+0x%x overlaps RAM", base, size);
		magic = *phys32(base);
		version = *phys32(base + VM_VERSION);
		id = *phys32(base + VM_DEVICE_ID);
		console_printf("info: virtio: 0x%x: magic 0x%x version %u device id %u\n", base, magic,
		               version, id);
		if (magic != VIRTIO_MAGIC)
			virtio_fail(NULL, "virtio: 0x%x: bad magic 0x%x (want 0x74726976)", base, magic);
		if (id != want)
			continue;
		if (version != 2)
			virtio_fail(NULL, "virtio: 0x%x: version %u, this driver speaks only version 2",
			            base, version);
		d->base = base;
		d->device_id = id;
		return;
	}
	virtio_fail(NULL, "virtio: no device with id %u among %u virtio_mmio.device= arguments", want,
	            seen);
}

void virtio_negotiate(struct vdev *d, uint32_t want_lo)
{
	uint32_t hi;

	*vreg(d, VM_STATUS) = 0;
	if (*vreg(d, VM_STATUS) != 0)
		virtio_fail(d, "virtio: device at 0x%x did not reset (status 0x%x)", d->base,
		            *vreg(d, VM_STATUS));
	*vreg(d, VM_STATUS) = ST_ACK;
	*vreg(d, VM_STATUS) = ST_ACK | ST_DRIVER;
	*vreg(d, VM_DEV_FEAT_SEL) = 1;
	hi = *vreg(d, VM_DEV_FEATURES);
	*vreg(d, VM_DEV_FEAT_SEL) = 0;
	d->features_lo = *vreg(d, VM_DEV_FEATURES) & want_lo;
	if (!(hi & F_VERSION_1_HI))
		virtio_fail(d, "virtio: device at 0x%x does not offer VERSION_1 (features hi 0x%x)",
		            d->base, hi);
	*vreg(d, VM_DRV_FEAT_SEL) = 1;
	*vreg(d, VM_DRV_FEATURES) = F_VERSION_1_HI;
	*vreg(d, VM_DRV_FEAT_SEL) = 0;
	*vreg(d, VM_DRV_FEATURES) = d->features_lo;
	*vreg(d, VM_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK;
	if (!(*vreg(d, VM_STATUS) & ST_FEATURES_OK))
		virtio_fail(d, "virtio: device at 0x%x refused features 0x1%08x", d->base,
		            d->features_lo);
}

void virtio_queue_setup(struct vdev *d, uint32_t queue, struct vq_mem *m)
{
	uint32_t max;

	*vreg(d, VM_QUEUE_SEL) = queue;
	max = *vreg(d, VM_QUEUE_NUM_MAX);
	if (max < VQ_SIZE || *vreg(d, VM_QUEUE_READY))
		virtio_fail(d, "virtio: queue %u at 0x%x: QueueNumMax %u < %u or already ready", queue,
		            d->base, max, VQ_SIZE);
	mem_set(m, 0, sizeof(*m));
	*vreg(d, VM_QUEUE_NUM) = VQ_SIZE;
	*vreg(d, VM_QUEUE_DESC) = (uint32_t)(uintptr_t)&m->desc;
	*vreg(d, VM_QUEUE_DESC + 4) = 0;
	*vreg(d, VM_QUEUE_DRIVER) = (uint32_t)(uintptr_t)&m->avail;
	*vreg(d, VM_QUEUE_DRIVER + 4) = 0;
	*vreg(d, VM_QUEUE_DEVICE) = (uint32_t)(uintptr_t)&m->used;
	*vreg(d, VM_QUEUE_DEVICE + 4) = 0;
	m->avail.flags = 1; /* NO_INTERRUPT: this driver polls */
	*vreg(d, VM_QUEUE_READY) = 1;
}

void virtio_driver_ok(struct vdev *d)
{
	*vreg(d, VM_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
}

/* Negotiation and one queue; the device owns vq_mem from QueueReady on. */
static void virtio_init(struct vdev *d, uint32_t want_lo, uint32_t queue)
{
	virtio_negotiate(d, want_lo);
	virtio_queue_setup(d, queue, &vq_mem);
	d->vq = &vq_mem;
	d->queue = queue;
	d->last_used = 0;
	virtio_driver_ok(d);
}

/* Posts one chain, notifies, polls the used ring; returns the length the device wrote. */
static uint32_t virtio_submit(struct vdev *d, const struct vbuf *bufs, unsigned n)
{
	struct vq_mem *q = d->vq;
	uint64_t start;
	unsigned i;
	uint32_t id, len;

	if (n == 0 || n > VQ_SIZE)
		virtio_fail(d, "virtio: chain of %u descriptors (limit %u)", n, VQ_SIZE);
	for (i = 0; i < n; i++) {
		q->desc[i].addr = (uint32_t)(uintptr_t)bufs[i].addr;
		q->desc[i].len = bufs[i].len;
		q->desc[i].flags = (uint16_t)((i + 1 < n ? DESC_NEXT : 0) |
		                              (bufs[i].device_writes ? DESC_WRITE : 0));
		q->desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
	q->avail.ring[q->avail.idx % VQ_SIZE] = 0;
	vbarrier();
	q->avail.idx++;
	vbarrier();
	*vreg(d, VM_QUEUE_NOTIFY) = d->queue;

	start = rdtsc();
	while (*(volatile uint16_t *)&q->used.idx == d->last_used) {
		if (rdtsc() - start > VQ_WAIT_CYCLES)
			virtio_fail(d, "virtio: device at 0x%x did not complete request %u", d->base,
			            d->last_used);
		cpu_relax();
	}
	vbarrier();
	id = q->used.ring[d->last_used % VQ_SIZE].id;
	len = q->used.ring[d->last_used % VQ_SIZE].len;
	d->last_used++;
	*vreg(d, VM_INT_ACK) = *vreg(d, VM_INT_STATUS);
	if (id != 0)
		virtio_fail(d, "virtio: used ring names descriptor %u, the driver posted 0", id);
	return len;
}

/* ---- virtio-blk ---- */
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_S_OK 0
#define BLK_S_IOERR 1

struct blk_req_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

static struct blk_req_hdr blk_hdr;
static uint8_t blk_status;
static uint8_t blk_data[512] __attribute__((aligned(512)));
static uint8_t blk_pattern[512];

/* One request: header, the data split into `split` descriptors, the status byte. */
static uint8_t blk_request(struct vdev *d, uint32_t type, uint64_t sector, uint8_t *data,
                           uint32_t len, unsigned split)
{
	struct vbuf b[4];
	unsigned n = 0, i;

	blk_hdr.type = type;
	blk_hdr.ioprio = 0;
	blk_hdr.sector = sector;
	blk_status = 0xff;
	b[n++] = (struct vbuf){ &blk_hdr, sizeof(blk_hdr), false };
	for (i = 0; len && i < split; i++)
		b[n++] = (struct vbuf){ data + i * (len / split), len / split, type == BLK_T_IN };
	b[n++] = (struct vbuf){ &blk_status, 1, true };
	virtio_submit(d, b, n);
	return blk_status;
}

static const char blk_line[32] = "carapace virtio-blk test sector\n";

void scenario_virtio_blk(const struct guest_boot *boot)
{
	struct vdev d;
	uint64_t capacity;
	uint32_t sector = 1, i;
	const struct guest_arg *a = guest_boot_arg(boot, "sector");
	uint8_t st;

	if (a && !parse_u32(a->value, a->value_len, &sector))
		guest_fail(GUEST_BAD_ARGUMENT, "sector=%.*s is not a number", (int)a->value_len, a->value);
	virtio_find(boot, 2, &d);
	virtio_init(&d, BLK_F_FLUSH | BLK_F_RO, 0);
	capacity = *vreg(&d, VM_CONFIG) | ((uint64_t)*vreg(&d, VM_CONFIG + 4) << 32);
	console_printf("info: virtio-blk: capacity %llu sectors, features 0x%x\n",
	               (unsigned long long)capacity, d.features_lo);
	if (d.features_lo & BLK_F_RO)
		virtio_fail(&d, "virtio-blk: the disk is read-only; the scenario writes sector %u", sector);
	if (capacity <= sector)
		virtio_fail(&d, "virtio-blk: capacity %llu sectors, the scenario writes sector %u",
		            (unsigned long long)capacity, sector);

	st = blk_request(&d, BLK_T_IN, 0, blk_data, 512, 1);
	if (st != BLK_S_OK)
		virtio_fail(&d, "virtio-blk: reading sector 0 gave status %u", st);
	console_printf("info: virtio-blk: sector 0 starts %02x %02x %02x %02x\n", blk_data[0],
	               blk_data[1], blk_data[2], blk_data[3]);
	console_printf("virtio-blk: read sector 0\n");

	/* Write a pattern as one data descriptor, read it back as a 2-descriptor chain. */
	for (i = 0; i < 512; i++)
		blk_pattern[i] = (uint8_t)blk_line[i % 32];
	st = blk_request(&d, BLK_T_OUT, sector, blk_pattern, 512, 1);
	if (st != BLK_S_OK)
		virtio_fail(&d, "virtio-blk: writing sector %u gave status %u", sector, st);
	mem_set(blk_data, 0, sizeof(blk_data));
	st = blk_request(&d, BLK_T_IN, sector, blk_data, 512, 2);
	if (st != BLK_S_OK || !mem_eq(blk_data, blk_pattern, 512))
		virtio_fail(&d, "virtio-blk: sector %u read back (status %u) differs from what was written",
		            sector, st);
	console_printf("virtio-blk: wrote sector %u, read it back through a 4-descriptor chain\n", sector);

	if (d.features_lo & BLK_F_FLUSH) {
		st = blk_request(&d, BLK_T_FLUSH, 0, NULL, 0, 0);
		if (st != BLK_S_OK)
			virtio_fail(&d, "virtio-blk: flush gave status %u", st);
		console_printf("virtio-blk: flushed\n");
	} else {
		console_printf("info: virtio-blk: the device does not offer FLUSH\n");
	}

	/* Past the end: the device must answer IOERR, not read or write anything. */
	st = blk_request(&d, BLK_T_IN, capacity, blk_data, 512, 1);
	if (st != BLK_S_IOERR)
		virtio_fail(&d, "virtio-blk: reading sector %llu (the capacity) gave status %u, want IOERR",
		            (unsigned long long)capacity, st);
	console_printf("virtio-blk: reading past the end gave IOERR\n");
	guest_pass();
}

/* ---- virtio-blk hot-plug: the host swaps the backing file (PATCH /drives/{id}) ---- */

/* The capacity as virtio 1.2 4.2.2.2 asks a driver to read config space: generation, fields,
 * generation again, until both generations agree. */
static uint64_t blk_capacity(struct vdev *d, uint32_t *gen)
{
	uint32_t g;
	uint64_t cap;

	do {
		g = *vreg(d, VM_CONFIG_GEN);
		cap = *vreg(d, VM_CONFIG) | ((uint64_t)*vreg(d, VM_CONFIG + 4) << 32);
	} while (g != *vreg(d, VM_CONFIG_GEN));
	*gen = g;
	return cap;
}

void scenario_virtio_blk_hotplug(const struct guest_boot *boot)
{
	struct vdev d;
	uint64_t before, after;
	uint32_t gen0, gen1, isr;
	uint8_t st;

	virtio_find(boot, 2, &d);
	virtio_init(&d, BLK_F_RO, 0);
	before = blk_capacity(&d, &gen0);
	console_printf("virtio-blk-hotplug: capacity %llu sectors; waiting for a configuration change\n",
	               (unsigned long long)before);
	/* Polled like ctrl-alt-del's keys: the host's test sends the new file once it reads the
	 * line above, and its time-out ends a guest that waits in vain. */
	do
		isr = *vreg(&d, VM_INT_STATUS);
	while (!(isr & INT_CONFIG));
	*vreg(&d, VM_INT_ACK) = INT_CONFIG;
	after = blk_capacity(&d, &gen1);
	if (gen1 == gen0)
		virtio_fail(&d, "virtio-blk-hotplug: configuration interrupt but ConfigGeneration still %u", gen0);
	st = blk_request(&d, BLK_T_IN, 0, blk_data, 512, 1);
	if (st != BLK_S_OK)
		virtio_fail(&d, "virtio-blk-hotplug: reading sector 0 of the new disk gave status %u", st);
	if (after > before) {
		st = blk_request(&d, BLK_T_IN, after - 1, blk_pattern, 512, 1);
		if (st != BLK_S_OK)
			virtio_fail(&d, "virtio-blk-hotplug: the new last sector %llu gave status %u",
			            (unsigned long long)(after - 1), st);
	}
	console_printf("virtio-blk-hotplug: capacity %llu -> %llu sectors, sector 0 starts %02x, last sector read\n",
	               (unsigned long long)before, (unsigned long long)after, blk_data[0]);
	guest_pass();
}

/* ---- virtio-rng ---- */
static uint8_t rng_buf[64];

void scenario_virtio_rng(const struct guest_boot *boot)
{
	struct vdev d;
	uint32_t got = 0, len, i, tries;
	bool nonzero = false;

	virtio_find(boot, 4, &d);
	virtio_init(&d, 0, 0);
	for (tries = 0; got < sizeof(rng_buf) && tries < 16; tries++) {
		struct vbuf b = { rng_buf + got, (uint32_t)sizeof(rng_buf) - got, true };
		len = virtio_submit(&d, &b, 1);
		if (len > b.len)
			virtio_fail(&d, "virtio-rng: device claims %u bytes for a %u-byte buffer", len, b.len);
		got += len;
	}
	if (got < sizeof(rng_buf))
		virtio_fail(&d, "virtio-rng: only %u of %u bytes after %u requests", got,
		            (uint32_t)sizeof(rng_buf), tries);
	for (i = 0; i < sizeof(rng_buf); i++)
		nonzero |= rng_buf[i] != 0;
	if (!nonzero)
		virtio_fail(&d, "virtio-rng: 64 zero bytes");
	console_printf("info: virtio-rng: %u requests, first bytes %02x %02x %02x %02x\n", tries,
	               rng_buf[0], rng_buf[1], rng_buf[2], rng_buf[3]);
	console_printf("virtio-rng: read 64 bytes, not all zero\n");
	guest_pass();
}

/* ---- virtio-console ---- */
static const char console_line[] = "carapace-test-guest: hello through virtio-console\n";

void scenario_virtio_console(const struct guest_boot *boot)
{
	struct vdev d;
	struct vbuf b = { (void *)console_line, sizeof(console_line) - 1, false };

	virtio_find(boot, 3, &d);
	virtio_init(&d, 0, 1); /* port 0: queue 0 receives, queue 1 transmits */
	virtio_submit(&d, &b, 1);
	console_printf("virtio-console: wrote a %u-byte line to port 0\n", b.len);
	guest_pass();
}

/* ---- the demo: use whichever devices the VMM gave, one after the other ---- */

static uint8_t demo_buf[512] __attribute__((aligned(512)));
static const char demo_console_line[] = "Hello from carapace's demo guest, through virtio-console.\n";

static void demo_print_text(const char *prefix, const uint8_t *p, uint32_t n)
{
	char line[81];
	uint32_t i;
	for (i = 0; i < n && i < 80 && p[i] != '\n' && p[i] != 0; i++)
		line[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
	line[i] = 0;
	console_printf("%s\"%s\"\n", prefix, line);
}

void demo_virtio(const struct guest_boot *boot)
{
	unsigned i, used = 0;

	for (i = 0; i < boot->nargs; i++) {
		const struct guest_arg *a = &boot->args[i];
		struct vdev d;
		uint32_t base, size;

		if (!a->value || !str_eq_n(a->key, a->key_len, "virtio_mmio.device") ||
		    !virtio_parse_device_arg(a->value, a->value_len, &base, &size) ||
		    guest_boot_is_ram(boot, base, 4) || *phys32(base) != VIRTIO_MAGIC || *phys32(base + VM_VERSION) != 2)
			continue;
		mem_set(&d, 0, sizeof(d));
		d.base = base;
		d.device_id = *phys32(base + VM_DEVICE_ID);
		used++;
		if (d.device_id == 4) {
			struct vbuf b = { demo_buf, 16, true };
			virtio_init(&d, 0, 0);
			if (virtio_submit(&d, &b, 1) < 16)
				virtio_fail(&d, "demo: virtio-rng returned short");
			console_printf("demo: virtio-rng gave 16 random bytes: ");
			for (uint32_t k = 0; k < 16; k++)
				console_printf("%02x", demo_buf[k]);
			console_printf("\n");
		} else if (d.device_id == 2) {
			uint8_t st;
			virtio_init(&d, BLK_F_RO, 0);
			st = blk_request(&d, BLK_T_IN, 0, demo_buf, 512, 1);
			if (st != BLK_S_OK)
				virtio_fail(&d, "demo: virtio-blk read of sector 0 gave status %u", st);
			demo_print_text("demo: virtio-blk sector 0 reads: ", demo_buf, 512);
		} else if (d.device_id == 3) {
			struct vbuf b = { (void *)demo_console_line, sizeof(demo_console_line) - 1, false };
			virtio_init(&d, 0, 1);
			virtio_submit(&d, &b, 1);
			console_printf("demo: wrote a line to virtio-console\n");
		} else if (d.device_id == 1) {
			volatile uint8_t *cfg = (volatile uint8_t *)phys32(base + VM_CONFIG);
			console_printf("demo: virtio-net device with MAC %02x:%02x:%02x:%02x:%02x:%02x\n", cfg[0], cfg[1],
			               cfg[2], cfg[3], cfg[4], cfg[5]);
			continue;
		} else {
			console_printf("demo: virtio device id %u at 0x%x is not one the demo knows\n", d.device_id, base);
			continue;
		}
		*vreg(&d, VM_STATUS) = 0; /* hand the queue memory back before the next device */
	}
	if (used)
		console_printf("demo: each of those devices is served by its own jailed helper process.\n");
}
