/*
 * utf8 - validation and repair of UTF-8 text; see utf8.h.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "common/xalloc.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. NUL is invalid. */
static size_t
utf8_sequence(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t need;
	uint32_t cp, min;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		size_t n = utf8_sequence(p, len);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

char *
utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf out = BUF_INIT;

	buf_append(&out, "", 0);
	while (len > 0) {
		size_t n = utf8_sequence(p, len);
		if (n == 0) {
			buf_append(&out, "\xef\xbf\xbd", 3);
			n = 1;
		} else {
			buf_append(&out, p, n);
		}
		p += n;
		len -= n;
	}
	return out.data;
}
