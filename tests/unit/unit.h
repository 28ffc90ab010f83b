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

#endif
