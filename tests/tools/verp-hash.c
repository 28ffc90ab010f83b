/*
 * verp-hash - print the recipient hash a bounce token carries for ADDRESS
 */
#include "config.h"

#include <stdio.h>

#include "common/verp.h"

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: verp-hash ADDRESS\n");
		return 2;
	}
	printf("%08x\n", (unsigned)verp_hash(argv[1]));
	return 0;
}
