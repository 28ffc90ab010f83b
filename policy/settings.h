/*
 * settings - the shape of the declarative settings table
 *
 * One row per setting: name, type, where it lands, default, bounds or
 * choices, validator and documentation.  The loader (load.c), the sample
 * and --dump-defaults writer (sample.c) and the -n check all walk the same
 * table (schema.c), so a setting exists, is checked and is documented in
 * exactly one place.
 */
#ifndef MW_SETTINGS_H
#define MW_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum setting_type {
	SETTING_BOOL,        /* lands in bool */
	SETTING_INT,         /* lands in long, within [min, max] */
	SETTING_STRING,      /* lands in char * (owned) */
	SETTING_CHOICE,      /* a string from choices; lands as its index in int */
	SETTING_STRING_LIST, /* [ "a", "b" ]; lands in struct strlist */
	SETTING_GROUP,       /* { ... }: children land in the same struct */
	SETTING_GROUP_LIST,  /* ( { ... }, { ... } ): an array of elem_size structs */
};

/* Validates one string value (or list item); false with a reason in err. */
typedef bool (*setting_check_fn)(const char *value, char *err, size_t errlen);
/* Completes one loaded group-list element (e.g. loads its key); -1 with a reason. */
typedef int (*setting_finish_fn)(void *elem, struct buf *why);
/* Frees what a finish function added to an element. */
typedef void (*setting_release_fn)(void *elem);

struct setting {
	const char *name;
	enum setting_type type;
	size_t offset; /* into struct policy, or into the element of the enclosing list */
	const char *doc;

	bool def_bool;
	long def_int;
	const char *def_string;
	const char *const *def_list; /* NULL-terminated */

	long min, max;
	const char *const *choices; /* NULL-terminated */
	setting_check_fn check;

	const struct setting *children; /* GROUP, GROUP_LIST; ends with a NULL name */
	size_t elem_size;               /* GROUP_LIST */
	size_t count_offset;            /* GROUP_LIST: where the element count (size_t) lands */
	setting_finish_fn finish;       /* GROUP_LIST: run on each element loaded without error */
	setting_release_fn release;     /* GROUP_LIST: undo finish */
	bool required;                  /* children of a GROUP_LIST element */
	const char *example;            /* sample value for a required child */
};

/* Choice lists other modules map to their own values (schema.c). */
extern const char *const policy_facility_choices[];
extern const char *const policy_algorithm_choices[];

/* The root of the table (schema.c). */
extern const struct setting policy_schema[];

#endif
