/*
 * grow.h: the `mdraid grow` verb, for mdraid/main.c's dispatch.
 */
#ifndef MDRAID_GROW_H
#define MDRAID_GROW_H

#include <stddef.h>

/*
 * Run `mdraid grow` (argv[0] is the verb, e.g. "grow" or "--grow"; options
 * and members follow). mem_bytes: the buffer budget when --mem is not given
 * (0: the default). Prints its messages and returns the exit code.
 */
int grow_main(int argc, char **argv, size_t mem_bytes);

#endif
