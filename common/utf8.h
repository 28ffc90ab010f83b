/*
 * utf8 - make outside text safe for JSON
 *
 * Header fields may carry raw 8-bit text in any charset; JSON needs UTF-8.
 * utf8_sanitize() keeps valid UTF-8 as it is and replaces every byte of an
 * invalid sequence with U+FFFD, so an event is always produced and never
 * fails on a message's bytes.
 */
#ifndef MW_UTF8_H
#define MW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const char *s, size_t len);
/* A sanitized, NUL-terminated copy; caller frees. */
char *utf8_sanitize(const char *s, size_t len);

#endif
