/* EK-anchored AK enrolment, the relying party's half: check the EK certificate against a CA the
 * relying party trusts, and seal a secret to (EK, AK name) as TPM2_MakeCredential does, so that
 * only a TPM holding that EK *and* an object with that exact name can recover it
 * (TPM2_ActivateCredential, attest_tpm_activate_credential). Pure + OpenSSL. Facts: TPM 2.0
 * Part 1 (rev 1.59) 24 "Credential Protection" and 11.4.10.2 KDFa; tpm2-tools 5.4 writes the
 * credential file as BE u32 0xBADCC0DE, BE u32 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET
 * (tools/tpm2_makecredential.c), which is the format here, for interop both ways. */
#ifndef CARAPACE_ATTEST_TPM_CREDENTIAL_H
#define CARAPACE_ATTEST_TPM_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/err.h"

#define ATTEST_CREDENTIAL_SECRET_LEN 32
#define ATTEST_CREDENTIAL_MAGIC 0xBADCC0DEu

/* The EK certificate (one DER X.509) must chain to a certificate in ca_pem (PEM, one or more:
 * each trusted as an anchor), be valid at `at` (0: now) and certify an RSA-2048 key (the TCG
 * default EK, template L-1). *ek_pub receives that key. Errors say which of these failed. */
int attest_ek_cert_check(const uint8_t *ek_der, size_t ek_len, const uint8_t *ca_pem, size_t ca_len, time_t at,
			 EVP_PKEY **ek_pub, struct cp_err *err);

/* TPM2_MakeCredential in software: seed sealed with RSA-OAEP(SHA-256, label "IDENTITY") to the
 * EK; AES-128-CFB and HMAC-SHA256 keys from KDFa(seed, "STORAGE", name) and KDFa(seed,
 * "INTEGRITY"). Output: the tpm2-tools credential file. ak_name: nameAlg || digest. */
int attest_credential_make(EVP_PKEY *ek_pub, const uint8_t *ak_name, size_t ak_name_len, const uint8_t *secret,
			   size_t secret_len, uint8_t **out, size_t *out_len, struct cp_err *err);

/* Validating reader of the credential file: pointers into buf for the two TPM2B contents. */
int attest_credential_parse(const uint8_t *buf, size_t len, const uint8_t **id_object, size_t *id_len,
			    const uint8_t **enc_secret, size_t *enc_len, struct cp_err *err);

#endif
