/*
 * xalloc - memory allocation that does not return on failure
 *
 * A milter that runs out of memory cannot do anything useful for the
 * message at hand; checking every allocation at every call site only
 * multiplies untested error paths.  These wrappers log and abort instead
 * (the MTA then applies its milter_default_action).
 */
#ifndef MW_XALLOC_H
#define MW_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t count, size_t size);
/*
 * Room for element number count (0-based) of an array grown one element at
 * a time: doubles the allocation at powers of two, so n appends cost O(n)
 * copying however many headers or recipients a message brings.
 */
void *xgrow(void *array, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
