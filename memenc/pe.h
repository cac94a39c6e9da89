/* Validating reader for PE/COFF images, just enough to compute the Authenticode digest UEFI
 * firmware measures when it loads an image (EV_EFI_BOOT_SERVICES_APPLICATION). Pure. */
#ifndef CARAPACE_MEMENC_PE_H
#define CARAPACE_MEMENC_PE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/err.h"

#define MEMENC_PE_MAX_SECTIONS 96

/* Authenticode digest with md (SHA-384 for TDX, SHA-256 for TPM PCR 4): the headers minus
 * CheckSum and the certificate-table directory entry, the sections in file order, then any
 * trailing data minus the certificate table (edk2's MeasurePeImageAndExtend order). out gets
 * EVP_MD_get_size(md) bytes. */
int memenc_pe_authenticode(const uint8_t *img, size_t len, const EVP_MD *md, uint8_t *out,
			   struct cp_err *err);

#endif
