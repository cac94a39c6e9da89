/* libFuzzer target: the reference-values reader (common/refvals.c) through the strict reader, on
 * any bytes. A refusal leaves the defaults and a message naming the document; an accepted
 * document written back in its canonical form (cp_refvals_to_json) reads back to the same
 * values, so the reader and the writer share one table, and the matcher accepts each listed
 * digest and every value equal to an exact-match field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jread.h"
#include "common/refvals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_doc(const char *text, size_t len, struct cp_refvals *rv, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "refvals" };
	struct json_object *o = NULL;
	int ret;

	cp_refvals_init(rv);
	ret = cp_jread_parse_doc(&r, text, len, &o);

	if (ret == 0)
		ret = cp_refvals_read(&r, o, rv);
	json_object_put(o);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_refvals rv, again, defaults;
	struct cp_err err = { 0 };
	struct json_object *w;
	const char *text;

	cp_refvals_init(&defaults);
	if (read_doc((const char *)data, size, &rv, &err) < 0) {
		if (memcmp(&rv, &defaults, sizeof(rv)) || strncmp(err.msg, "refvals: ", 9))
			abort();
		return 0;
	}
	for (size_t i = 0; i < rv.snp.measurements.n; i++)
		if (!cp_refvals_digest_listed(&rv.snp.measurements, rv.snp.measurements.d[i]))
			abort();
	for (size_t i = 0; i < rv.tdx.mrtd.n; i++)
		if (!cp_refvals_digest_listed(&rv.tdx.mrtd, rv.tdx.mrtd.d[i]))
			abort();
	if (rv.snp.host_data.set && !cp_refvals_bytes_match(&rv.snp.host_data, rv.snp.host_data.v, 32))
		abort();
	if (rv.snp.has_min_tcb && !cp_refvals_tcb_meets(&rv.snp.min_tcb, &rv.snp.min_tcb))
		abort();
	w = cp_refvals_to_json(&rv, rv.has_snp, rv.has_tdx);
	text = json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN);
	if (!text || read_doc(text, strlen(text), &again, &err) < 0)
		abort();
	/* the structs hold no padding holes that differ: both came from cp_refvals_init's memset */
	if (memcmp(&rv, &again, sizeof(rv)))
		abort();
	json_object_put(w);
	return 0;
}
