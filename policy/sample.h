/*
 * sample - write the documented sample policy (every setting, its default)
 * and the policy file's manual page, both from the settings table
 */
#ifndef MW_SAMPLE_H
#define MW_SAMPLE_H

#include <stdio.h>

void sample_write(FILE *out);
/* The manual page mailward.conf(5), in roff (sample_man.c). */
void sample_write_man(FILE *out);

#endif
