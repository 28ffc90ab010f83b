/*
 * load - the three walks of a settings table: defaults, load, free
 */
#ifndef MW_LOAD_H
#define MW_LOAD_H

#include "common/buf.h"
#include "policy/settings.h"

void settings_apply_defaults(const struct setting *table, void *base);
void settings_free(const struct setting *table, void *base);
/* 0, or -1 with one "file:line: name: problem" line per problem in errors. */
int settings_load_file(const char *path, const struct setting *table, void *base,
                       struct buf *errors);

#endif
