/* The few string and number helpers the freestanding guest needs (no libc in the guest). */
#include "guest.h"

size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

bool str_eq_n(const char *a, size_t alen, const char *b)
{
	size_t i;
	for (i = 0; i < alen; i++)
		if (b[i] != a[i])
			return false;
	return b[alen] == '\0';
}

bool str_eq(const char *a, const char *b)
{
	return str_eq_n(a, str_len(a), b);
}

bool mem_eq(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	while (n--)
		if (*x++ != *y++)
			return false;
	return true;
}

void mem_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
}

void mem_set(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
}

uint8_t mem_sum8(const void *p, size_t n)
{
	const volatile uint8_t *b = p;
	uint8_t sum = 0;
	while (n--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		/* v * base + d without 64-bit division (no libgcc in a -m32 freestanding build). */
		if (base == 16) {
			if (v >> 60)
				return false;
			v = (v << 4) | d;
		} else {
			uint64_t t = (v << 3) + (v << 1);
			if (v >> 60 || t + d < t)
				return false;
			v = t + d;
		}
	}
	*out = v;
	return true;
}

bool parse_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v;
	if (!parse_u64(s, len, &v) || v > 0xffffffffu)
		return false;
	*out = (uint32_t)v;
	return true;
}
