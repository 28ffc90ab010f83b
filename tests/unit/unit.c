/*
 * unit - helpers shared by the unit tests; see unit.h.
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/unit/unit.h"

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int
unit_remove_tree(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char unit_tmpdir[] = "/tmp/mw-unit.XXXXXX";

int
unit_tmpdir_make(void **state)
{
	(void)state;
	return mkdtemp(unit_tmpdir) == NULL ? -1 : 0;
}

int
unit_tmpdir_remove(void **state)
{
	(void)state;
	return unit_remove_tree(unit_tmpdir);
}
