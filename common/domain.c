/*
 * domain - A-label form of domains; see domain.h.
 */
#include "config.h"

#include <ctype.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain.h"
#include "common/xalloc.h"

/* LDH labels of 1 to 63 octets (underscore allowed, as in real DNS names). */
static bool
is_host_name(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || name[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(c) || c == '_' || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static bool
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

char *
domain_alabel(const char *domain)
{
	size_t len = strlen(domain);
	char *name, *ascii = NULL;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	name = xstrndup(domain, len);
	if (!is_ascii(name)) {
		if (idn2_to_ascii_8z(name, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
		    IDN2_OK) {
			free(name);
			return NULL;
		}
		free(name);
		name = xstrdup(ascii);
		idn2_free(ascii);
	}
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!is_host_name(name)) {
		free(name);
		return NULL;
	}
	return name;
}
