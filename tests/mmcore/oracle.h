/* oracle.h - reading a fixture folder of tests/oracle (real Debian 6.1 i386 boots). */
#ifndef TEST_ORACLE_H
#define TEST_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

#include "mmcore.h"

/* The folder of the captures: $MM32_ORACLE_DIR if set, else the repository's tests/oracle
 * (ORACLE_DIR, set by tests/meson.build). */
const char *oracle_root(void);
/* The capture folders ("686-*") under oracle_root(), as paths into @dirs (at most @max, in
 * readdir order); their number. */
int oracle_dirs(char (*dirs)[512], int max);
/* Read a whole file into a NUL-terminated heap buffer; NULL if missing. */
char *oracle_read(const char *dir, const char *name);
/* The configuration the real kernel was booted with: RAM, flavour, CPUs, command line
 * and the initrd size its dmesg reports. */
bool oracle_config(const char *dir, struct mm_config *cfg);
/* Strip "[    0.000000] " timestamps; returns a new string of the lines that start with
 * @prefix (after the timestamp), each ending in '\n'. */
char *oracle_lines(const char *log, const char *prefix);
/* Value of "key value" in the zoneinfo block of @zone (e.g. "managed"); -1 if absent. */
long oracle_zone_value(const char *zoneinfo, const char *zone, const char *key);
/* "protection: (a, b, c, d)" of @zone. */
bool oracle_zone_protection(const char *zoneinfo, const char *zone, long prot[4]);
long oracle_meminfo(const char *meminfo, const char *key);

#endif
