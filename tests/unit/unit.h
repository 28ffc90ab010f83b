/*
 * unit - what every cmocka unit test includes
 */
#ifndef MW_UNIT_H
#define MW_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Remove a directory and everything below it (rm -rf); 0 or -1. */
int unit_remove_tree(const char *path);

/*
 * Group fixtures for tests that need files: a fresh directory under /tmp,
 * named by unit_tmpdir, made before the group and removed after it.
 */
extern char unit_tmpdir[];
int unit_tmpdir_make(void **state);
int unit_tmpdir_remove(void **state);

#endif
