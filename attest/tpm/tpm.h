/* The TPM shell: the only code here that talks to a TPM (tpm2-tss ESAPI over a TCTI chosen by
 * string). It extends PCRs, keeps the attestation key, quotes and reads the EK certificate;
 * everything it returns is in TPM wire format for the pure code to check. */
#ifndef CARAPACE_ATTEST_TPM_TPM_H
#define CARAPACE_ATTEST_TPM_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ATTEST_TCTI_ENV "CARAPACE_TCTI"
#define ATTEST_TCTI_DEFAULT "device:/dev/tpmrm0"
#define ATTEST_AK_HANDLE_ECC 0x81018001u /* carapace's AK, ECC P-256 / ECDSA-SHA256 */
#define ATTEST_AK_HANDLE_RSA 0x81018002u /* carapace's AK, RSA-2048 / RSASSA-SHA256 */
#define ATTEST_EK_CERT_NV_RSA 0x01c00002u
#define ATTEST_EK_CERT_NV_ECC 0x01c0000au

enum attest_ak_alg { ATTEST_AK_ECC_P256, ATTEST_AK_RSA_2048 };

struct attest_tpm;

/* tcti: a TCTI string ("device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321", "mssim:..."),
 * or NULL for $CARAPACE_TCTI, then the default device. Fails with a message naming the TCTI
 * when the TPM does not answer. */
int attest_tpm_open(const char *tcti, struct attest_tpm **out, struct cp_err *err);
void attest_tpm_close(struct attest_tpm *tpm); /* NULL-tolerant */
const char *attest_tpm_tcti(const struct attest_tpm *tpm);

int attest_tpm_pcr_reset(struct attest_tpm *tpm, uint32_t pcr, struct cp_err *err);
int attest_tpm_pcr_extend(struct attest_tpm *tpm, uint32_t pcr, const uint8_t digest[32], struct cp_err *err);
/* TPMS_CLOCK_INFO.resetCount: how many times the TPM was reset (host boots); it is in every
 * quote, so a log can say which TPM boot it belongs to. */
int attest_tpm_reset_count(struct attest_tpm *tpm, uint32_t *reset_count, struct cp_err *err);
/* SHA-256 bank values of pcrs[0..n) (ascending) into values. */
int attest_tpm_pcr_read(struct attest_tpm *tpm, const uint32_t *pcrs, size_t n, uint8_t (*values)[32],
			struct cp_err *err);

/* Make sure the AK exists at `handle` (created once as a primary in the endorsement
 * hierarchy and made persistent), check it is a restricted signing key of the requested
 * algorithm, and return its TPM2B_PUBLIC (malloc'd). handle 0 = the default for alg. */
int attest_tpm_ak_ensure(struct attest_tpm *tpm, enum attest_ak_alg alg, uint32_t handle, uint8_t **pub,
			 size_t *pub_len, struct cp_err *err);

/* TPM2_Quote over the sha256 bank of pcrs[0..n) with the nonce as qualifying data. Returns
 * the TPMS_ATTEST and TPMT_SIGNATURE bytes and the PCR values that the quote covers. */
int attest_tpm_quote(struct attest_tpm *tpm, uint32_t ak_handle, const uint8_t *nonce, size_t nonce_len,
		     const uint32_t *pcrs, size_t n, uint8_t (*values)[32], uint8_t **quote, size_t *quote_len,
		     uint8_t **sig, size_t *sig_len, struct cp_err *err);

/* TPM2_ActivateCredential: re-create the TCG default RSA EK (template L-1, the key the EK
 * certificate certifies), satisfy its PolicySecret(endorsement), and recover the secret a relying
 * party sealed to (EK, AK name). Succeeds only if this TPM holds that EK and the AK at
 * ak_handle has exactly that name. id_object / enc_secret: the TPM2B contents (no size). */
int attest_tpm_activate_credential(struct attest_tpm *tpm, uint32_t ak_handle, const uint8_t *id_object,
				   size_t id_len, const uint8_t *enc_secret, size_t enc_len, uint8_t **secret,
				   size_t *secret_len, struct cp_err *err);

/* The EK certificate from NV (RSA index, then ECC); *cert = NULL when the TPM has none. */
int attest_tpm_ek_cert(struct attest_tpm *tpm, uint8_t **cert, size_t *len, struct cp_err *err);

/* The tpm2-tools "serialized" PCR file (TPML_PCR_SELECTION, u32 count, TPML_DIGEST[]), host
 * byte order, as tpm2_checkquote -f reads it. */
int attest_tpm_pcrs_tools_format(const uint32_t *pcrs, size_t n, const uint8_t (*values)[32], uint8_t **out,
				 size_t *out_len, struct cp_err *err);

#endif
