/* Direct-boot RTMR events (see tdx_boot.h). RTMR1: the kernel's Authenticode digest (firmware
 * LoadImage, EV_EFI_BOOT_SERVICES_APPLICATION), then at ReadyToBoot "Calling EFI Application
 * from Boot Option" (EV_EFI_ACTION) and the separator (4 zero bytes), then at ExitBootServices
 * the "Invocation" and "Returned with Success" actions. RTMR2 (Linux EFI stub, PCR 9 mapped to
 * RTMR2, EV_EVENT_TAG): the LoadOptions (UTF-16LE "initrd=initrd " when an initrd is given, the
 * command line, a UTF-16 NUL), then the initrd bytes. */
#include "memenc/tdx_boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memenc/ccel.h"
#include "memenc/hash.h"
#include "memenc/pe.h"

#define EV_SEPARATOR 0x4u
#define EV_EVENT_TAG 0x6u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define EV_EFI_ACTION 0x80000007u
#define CMDLINE_MAX (64u << 10)

static int add(struct memenc_tdx_boot *b, unsigned rtmr, uint32_t type, const char *what, const void *data,
	       size_t len, struct cp_err *err)
{
	struct memenc_tdx_boot_event *e = &b->ev[b->n++];

	e->rtmr = rtmr;
	e->type = type;
	e->what = what;
	return data ? memenc_sha384(data, len, e->digest, err) : 0;
}

int memenc_tdx_direct_boot(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
			   const char *cmdline, struct memenc_tdx_boot *b, struct cp_err *err)
{
	static const char prefix[] = "initrd=initrd ";
	size_t clen = cmdline ? strlen(cmdline) : 0, ulen, k = 0;
	uint8_t *u16;
	int r;

	/* Like the firmware (fw_cfg initrd size 0): an empty initrd is no initrd. */
	if (initrd_len == 0)
		initrd = NULL;
	memset(b, 0, sizeof(*b));
	if (clen > CMDLINE_MAX)
		return cp_err_set(err, EINVAL, "--append: %zu bytes, at most %u", clen, CMDLINE_MAX);
	for (size_t i = 0; i < clen; i++)
		if ((unsigned char)cmdline[i] >= 0x80)
			return cp_err_set(err, EINVAL, "--append: byte %zu is not ASCII (the firmware widens each byte "
					  "to UTF-16, the prediction would be ambiguous)", i);
	add(b, 1, EV_EFI_BOOT_SERVICES_APPLICATION, "kernel Authenticode", NULL, 0, err);
	r = memenc_pe_authenticode(kernel, kernel_len, memenc_md_sha384(), b->ev[0].digest, err);
	if (r == 0)
		r = add(b, 1, EV_EFI_ACTION, "Calling EFI Application from Boot Option",
			"Calling EFI Application from Boot Option", 40, err);
	if (r == 0)
		r = add(b, 1, EV_SEPARATOR, "separator", "\0\0\0\0", 4, err);
	if (r == 0)
		r = add(b, 1, EV_EFI_ACTION, "Exit Boot Services Invocation", "Exit Boot Services Invocation", 29, err);
	if (r == 0)
		r = add(b, 1, EV_EFI_ACTION, "Exit Boot Services Returned with Success",
			"Exit Boot Services Returned with Success", 40, err);
	if (r < 0)
		return r;

	/* LoadOptions exactly as OVMF builds them: ASCII widened to UTF-16LE, NUL-terminated. */
	ulen = 2 * ((initrd ? sizeof(prefix) - 1 : 0) + clen + 1);
	u16 = calloc(1, ulen);
	if (!u16)
		return cp_err_set(err, ENOMEM, "out of memory");
	if (initrd)
		for (size_t i = 0; i < sizeof(prefix) - 1; i++)
			u16[2 * k++] = (uint8_t)prefix[i];
	for (size_t i = 0; i < clen; i++)
		u16[2 * k++] = (uint8_t)cmdline[i];
	/* An empty command line without initrd leaves LoadOptions NULL: nothing is measured. */
	r = clen || initrd ? add(b, 2, EV_EVENT_TAG, "LoadOptions", u16, ulen, err) : 0;
	free(u16);
	if (r == 0 && initrd)
		r = add(b, 2, EV_EVENT_TAG, "initrd", initrd, initrd_len, err);
	for (size_t i = 0; i < b->n && r == 0; i++)
		r = memenc_rtmr_extend(b->ev[i].rtmr == 1 ? b->rtmr1 : b->rtmr2, b->ev[i].digest, err);
	return r;
}
