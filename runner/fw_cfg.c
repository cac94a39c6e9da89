/* fw_cfg: see fw_cfg.h. Wire formats from QEMU docs/specs/fw_cfg.rst: the signature "QEMU",
 * the ID bitmap (bit 0 traditional interface, bit 1 DMA), the file directory (be32 count, then
 * {be32 size, be16 select, be16 reserved, char name[56]}), and the DMA descriptor
 * {be32 control, be32 length, be64 address} whose control word is written back as 0 or ERROR. */
#include "runner/fw_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const uint8_t dma_signature[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

static struct fw_cfg_item *find(struct fw_cfg *c, uint16_t key)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->items[i].key == key)
			return &c->items[i];
	return NULL;
}

static int put(struct fw_cfg *c, uint16_t key, const void *data, uint32_t len, const char *name, struct cp_err *err)
{
	struct fw_cfg_item *it = find(c, key);
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return cp_err_set(err, ENOMEM, "out of memory");
	if (len)
		memcpy(copy, data, len);
	if (!it) {
		if (c->n >= FW_CFG_MAX_ITEMS) {
			free(copy);
			return cp_err_set(err, ENOSPC, "fw_cfg: more than %d items", FW_CFG_MAX_ITEMS);
		}
		it = &c->items[c->n++];
		it->key = key;
	} else {
		free(it->data);
	}
	it->data = copy;
	it->len = len;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	return 0;
}

int fw_cfg_add(struct fw_cfg *c, uint16_t key, const void *data, uint32_t len, struct cp_err *err)
{
	if (key == FW_CFG_FILE_DIR || key >= FW_CFG_FILE_FIRST)
		return cp_err_set(err, EINVAL, "fw_cfg: key 0x%x is reserved for files", key);
	return put(c, key, data, len, NULL, err);
}

static int rebuild_dir(struct fw_cfg *c, struct cp_err *err)
{
	uint8_t dir[4 + FW_CFG_MAX_ITEMS * 64];
	uint32_t count = 0;

	memset(dir, 0, sizeof(dir));
	for (unsigned i = 0; i < c->n; i++) {
		const struct fw_cfg_item *it = &c->items[i];
		uint8_t *e = dir + 4 + 64 * count;
		if (it->key < FW_CFG_FILE_FIRST)
			continue;
		cp_put_be32(e, it->len);
		e[4] = (uint8_t)(it->key >> 8);
		e[5] = (uint8_t)it->key;
		memcpy(e + 8, it->name, strnlen(it->name, FW_CFG_NAME_MAX - 1));
		count++;
	}
	cp_put_be32(dir, count);
	return put(c, FW_CFG_FILE_DIR, dir, 4 + 64 * count, NULL, err);
}

int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, uint32_t len, struct cp_err *err)
{
	int r;

	if (!name[0] || strlen(name) >= FW_CFG_NAME_MAX)
		return cp_err_set(err, EINVAL, "fw_cfg: file name '%s' is empty or longer than %d bytes", name,
				  FW_CFG_NAME_MAX - 1);
	for (unsigned i = 0; i < c->n; i++)
		if (c->items[i].key >= FW_CFG_FILE_FIRST && !strcmp(c->items[i].name, name))
			return cp_err_set(err, EEXIST, "fw_cfg: file '%s' added twice", name);
	if ((r = put(c, c->next_file, data, len, name, err)) < 0)
		return r;
	c->next_file++;
	return rebuild_dir(c, err);
}

int fw_cfg_init(struct fw_cfg *c, unsigned ncpus, fw_cfg_mem_fn mem, void *mem_ctx, struct cp_err *err)
{
	uint8_t id[4], cpus[2];
	int r;

	memset(c, 0, sizeof(*c));
	c->mem = mem;
	c->mem_ctx = mem_ctx;
	c->next_file = FW_CFG_FILE_FIRST;
	cp_put_le32(id, mem ? 3u : 1u);
	cp_put_le16(cpus, (uint16_t)ncpus);
	if ((r = put(c, FW_CFG_SIGNATURE, "QEMU", 4, NULL, err)) < 0 || (r = put(c, FW_CFG_ID, id, 4, NULL, err)) < 0 ||
	    (r = put(c, FW_CFG_NB_CPUS, cpus, 2, NULL, err)) < 0 || (r = put(c, FW_CFG_MAX_CPUS, cpus, 2, NULL, err)) < 0 ||
	    (r = rebuild_dir(c, err)) < 0) {
		fw_cfg_free(c);
		return r;
	}
	return 0;
}

void fw_cfg_free(struct fw_cfg *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->items[i].data);
	c->n = 0;
}

int fw_cfg_add_kernel(struct fw_cfg *c, const uint8_t *k, size_t klen, const uint8_t *initrd, size_t initrd_len,
		      const char *cmdline, struct cp_err *err)
{
	uint8_t v[4];
	size_t setup, cl = cmdline ? strlen(cmdline) + 1 : 1;
	int r;

	/* Boot protocol 2.x: "HdrS" at 0x202, setup_sects at 0x1f1 (0 means 4), 512-byte sectors. */
	if (klen < 0x250 || memcmp(k + 0x202, "HdrS", 4))
		return cp_err_set(err, EINVAL, "direct boot through the firmware needs a Linux bzImage (no \"HdrS\" "
				  "boot-protocol header)");
	setup = ((size_t)(k[0x1f1] ? k[0x1f1] : 4) + 1) * 512;
	if (setup >= klen || klen - setup > UINT32_MAX || initrd_len > UINT32_MAX || cl > UINT32_MAX)
		return cp_err_set(err, EINVAL, "direct boot: kernel of %zu bytes with %zu bytes of setup, initrd of %zu bytes: "
				  "out of range", klen, setup, initrd_len);
	cp_put_le32(v, (uint32_t)setup);
	if ((r = fw_cfg_add(c, FW_CFG_SETUP_SIZE, v, 4, err)) < 0 ||
	    (r = fw_cfg_add(c, FW_CFG_SETUP_DATA, k, (uint32_t)setup, err)) < 0)
		return r;
	cp_put_le32(v, (uint32_t)(klen - setup));
	if ((r = fw_cfg_add(c, FW_CFG_KERNEL_SIZE, v, 4, err)) < 0 ||
	    (r = fw_cfg_add(c, FW_CFG_KERNEL_DATA, k + setup, (uint32_t)(klen - setup), err)) < 0)
		return r;
	cp_put_le32(v, (uint32_t)initrd_len);
	if ((r = fw_cfg_add(c, FW_CFG_INITRD_SIZE, v, 4, err)) < 0 ||
	    (r = fw_cfg_add(c, FW_CFG_INITRD_DATA, initrd, (uint32_t)initrd_len, err)) < 0)
		return r;
	cp_put_le32(v, (uint32_t)cl);
	if ((r = fw_cfg_add(c, FW_CFG_CMDLINE_SIZE, v, 4, err)) < 0 ||
	    (r = fw_cfg_add(c, FW_CFG_CMDLINE_DATA, cmdline ? cmdline : "", (uint32_t)cl, err)) < 0)
		return r;
	return 0;
}

int fw_cfg_add_e820(struct fw_cfg *c, const uint64_t (*ram)[2], unsigned nram, struct cp_err *err)
{
	uint8_t t[8 * 20];

	if (nram > 8)
		return cp_err_set(err, E2BIG, "fw_cfg: %u RAM ranges", nram);
	for (unsigned i = 0; i < nram; i++) {
		cp_put_le64(t + 20 * i, ram[i][0]);
		cp_put_le64(t + 20 * i + 8, ram[i][1]);
		cp_put_le32(t + 20 * i + 16, 1); /* E820_RAM */
	}
	return fw_cfg_add_file(c, "etc/e820", t, 20 * nram, err);
}

static void select_key(struct fw_cfg *c, uint16_t key)
{
	c->sel = key;
	c->off = 0;
}

/* Copy up to len bytes of the selected item from the read offset; zeros past its end. */
static void read_item(struct fw_cfg *c, uint8_t *out, uint32_t len)
{
	const struct fw_cfg_item *it = find(c, c->sel);
	uint32_t avail = it && c->off < it->len ? it->len - c->off : 0, n = len < avail ? len : avail;

	if (n)
		memcpy(out, it->data + c->off, n);
	memset(out + n, 0, len - n);
	c->off = c->off + len < c->off ? UINT32_MAX : c->off + len;
}

static void dma(struct fw_cfg *c, uint64_t addr)
{
	uint8_t *d = c->mem ? c->mem(c->mem_ctx, addr, 16, true) : NULL;
	uint32_t control, len;
	uint64_t buf;
	bool fail = false;

	if (!d)
		return; /* no descriptor there: nothing can be reported, nothing is done */
	control = cp_be32(d);
	len = cp_be32(d + 4);
	buf = cp_be64(d + 8);
	if (control & FW_CFG_DMA_SELECT)
		select_key(c, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_WRITE) {
		fail = true; /* every item is read-only */
	} else if (control & FW_CFG_DMA_READ) {
		uint8_t *p = len ? c->mem(c->mem_ctx, buf, len, true) : d;
		if (!p)
			fail = true;
		else if (len)
			read_item(c, p, len);
	} else if (control & FW_CFG_DMA_SKIP) {
		c->off = c->off + len < c->off ? UINT32_MAX : c->off + len;
	}
	if (fail)
		c->dma_errors++;
	cp_put_be32(d, fail ? FW_CFG_DMA_ERROR : 0);
}

void fw_cfg_io(struct fw_cfg *c, uint16_t port, bool write, uint8_t *data, unsigned size)
{
	unsigned o = port - FW_CFG_PORT_SEL;

	if (port < FW_CFG_PORT_SEL || o >= FW_CFG_PORTS || size == 0 || size > 4) {
		if (!write)
			memset(data, 0, size > 4 ? 4 : size);
		return;
	}
	if (port == FW_CFG_PORT_SEL) {
		if (write && size == 2)
			select_key(c, cp_le16(data));
		else if (!write)
			memset(data, 0, size);
		return;
	}
	if (port == FW_CFG_PORT_DATA) {
		if (!write)
			read_item(c, data, size); /* writes are ignored, as QEMU does since 2.4 */
		return;
	}
	if (port >= FW_CFG_PORT_DMA) {
		unsigned d = port - FW_CFG_PORT_DMA;
		if (!write) {
			for (unsigned i = 0; i < size; i++)
				data[i] = d + i < 8 ? dma_signature[d + i] : 0;
			return;
		}
		if (size != 4 || (d != 0 && d != 4))
			return;
		if (d == 0)
			c->dma_hi = cp_be32(data);
		else
			dma(c, (uint64_t)c->dma_hi << 32 | cp_be32(data));
		return;
	}
	if (!write)
		memset(data, 0, size); /* 0x512, 0x513: nothing */
}
