/*
 * sample - write the documented sample policy (every setting, its default)
 */
#ifndef MW_SAMPLE_H
#define MW_SAMPLE_H

#include <stdio.h>

void sample_write(FILE *out);

#endif
