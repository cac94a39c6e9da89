/* Host-wide launch log: reader, header/entry encodings, replay, entry digests. */
#include "attest/tpm/hostlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/tpm/eventlog.h"
#include "common/util.h"

#define LAUNCH_DOMAIN "carapace.hostlog.launch.v1"
#define STOP_DOMAIN "carapace.hostlog.stop.v1"

void attest_hostlog_free(struct attest_hostlog *log)
{
	if (!log)
		return;
	free(log->entries);
	memset(log, 0, sizeof(*log));
}

int attest_hostlog_pcr_check(uint32_t pcr, bool allow_resettable, struct cp_err *err)
{
	if (pcr >= 8 && pcr <= 15)
		return 0;
	if (pcr <= 7)
		return cp_err_set(err, EINVAL, "PCR %u belongs to the firmware's boot measurements; the launch log needs one "
				  "of the static OS PCRs 8..15", pcr);
	if (pcr > 23)
		return cp_err_set(err, EINVAL, "PCR %u out of range 0..23", pcr);
	if (!allow_resettable)
		return cp_err_set(err, EINVAL, "PCR %u can be reset after boot (%s), so a compromised host could rewrite the "
				  "launch history; use one of the static OS PCRs 8..15, or allow it explicitly",
				  pcr, pcr == 16 || pcr == 23 ? "from locality 0" : "by a dynamic launch");
	return 0;
}

int attest_hostlog_parse(const uint8_t *buf, size_t len, struct attest_hostlog *log, size_t *torn,
			 struct cp_err *err)
{
	size_t n, tail;

	memset(log, 0, sizeof(*log));
	if (len > ATTEST_HOSTLOG_MAX_BYTES)
		return cp_err_set(err, EBADMSG, "launch log: %zu bytes exceeds %u", len, ATTEST_HOSTLOG_MAX_BYTES);
	if (len < ATTEST_HOSTLOG_HEADER_LEN)
		return cp_err_set(err, EBADMSG, "launch log: %zu bytes is shorter than the %d-byte header", len,
				  ATTEST_HOSTLOG_HEADER_LEN);
	if (memcmp(buf, ATTEST_HOSTLOG_MAGIC, 4))
		return cp_err_set(err, EBADMSG, "launch log: bad magic at offset 0 (expected \"CPHL\")");
	if (cp_be16(buf + 4) != ATTEST_HOSTLOG_VERSION || cp_be16(buf + 6) != 0x000B)
		return cp_err_set(err, EBADMSG, "launch log: version %u / hash 0x%04x, expected %d / 0x000b (sha256)",
				  cp_be16(buf + 4), cp_be16(buf + 6), ATTEST_HOSTLOG_VERSION);
	log->pcr = cp_be32(buf + 8);
	if (log->pcr > ATTEST_PCR_MAX)
		return cp_err_set(err, EBADMSG, "launch log: PCR %u at offset 8 out of range", log->pcr);
	log->reset_count = cp_be32(buf + 12);
	memcpy(log->base, buf + 16, 32);
	n = (len - ATTEST_HOSTLOG_HEADER_LEN) / ATTEST_HOSTLOG_ENTRY_LEN;
	tail = (len - ATTEST_HOSTLOG_HEADER_LEN) % ATTEST_HOSTLOG_ENTRY_LEN;
	if (tail && !torn)
		return cp_err_set(err, EBADMSG, "launch log: %zu bytes after the last whole entry (offset %zu)", tail,
				  len - tail);
	if (torn)
		*torn = tail;
	log->entries = calloc(n ? n : 1, sizeof(*log->entries));
	if (!log->entries)
		return cp_err_set(err, ENOMEM, "launch log: out of memory");
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = buf + ATTEST_HOSTLOG_HEADER_LEN + i * ATTEST_HOSTLOG_ENTRY_LEN;
		uint16_t type = cp_be16(e);
		if ((type != ATTEST_HOSTLOG_LAUNCH && type != ATTEST_HOSTLOG_STOP) || cp_be16(e + 2)) {
			attest_hostlog_free(log);
			return cp_err_set(err, EBADMSG, "launch log: entry %zu at offset %zu: type %u / reserved %u (expected 1 "
					  "or 2 / 0)", i, (size_t)(e - buf), type, cp_be16(e + 2));
		}
		log->entries[i].type = type;
		memcpy(log->entries[i].digest, e + 4, 32);
	}
	log->count = n;
	return 0;
}

void attest_hostlog_header(uint32_t pcr, uint32_t reset_count, const uint8_t base[32],
			   uint8_t out[ATTEST_HOSTLOG_HEADER_LEN])
{
	memcpy(out, ATTEST_HOSTLOG_MAGIC, 4);
	cp_put_be16(out + 4, ATTEST_HOSTLOG_VERSION);
	cp_put_be16(out + 6, 0x000B);
	cp_put_be32(out + 8, pcr);
	cp_put_be32(out + 12, reset_count);
	memcpy(out + 16, base, 32);
}

void attest_hostlog_entry_bytes(uint16_t type, const uint8_t digest[32], uint8_t out[ATTEST_HOSTLOG_ENTRY_LEN])
{
	cp_put_be16(out, type);
	cp_put_be16(out + 2, 0);
	memcpy(out + 4, digest, 32);
}

void attest_hostlog_replay(const struct attest_hostlog *log, size_t n, uint8_t out[32])
{
	memcpy(out, log->base, 32);
	for (size_t i = 0; i < n && i < log->count; i++)
		attest_pcr_extend_sha256(out, log->entries[i].digest);
}

static int domain_digest(const char *domain, size_t dlen, const uint8_t *data, size_t len, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, domain, dlen) &&
		 EVP_DigestUpdate(ctx, data, len) && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

int attest_hostlog_launch_digest(const uint8_t *record, size_t len, uint8_t out[32])
{
	return domain_digest(LAUNCH_DOMAIN, sizeof(LAUNCH_DOMAIN), record, len, out); /* with its NUL */
}

int attest_hostlog_stop_digest(const uint8_t launch_id[ATTEST_LAUNCH_ID_LEN], uint8_t out[32])
{
	return domain_digest(STOP_DOMAIN, sizeof(STOP_DOMAIN), launch_id, ATTEST_LAUNCH_ID_LEN, out);
}
