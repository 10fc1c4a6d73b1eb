/* SPDX-License-Identifier: MIT */
/*
 * parse.c - values as users write them: addresses, address spaces, boot phases, access
 * kinds, bytes in hex, machine names.
 *
 * One parser per kind of value, shared by the query arguments of the routes (query.c) and the
 * fields of commands (commands.c), so that "0xc0000000" means the same in both places and a
 * refusal names the field or parameter the same way (@what).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "problem.h"

/* ---- addresses, spaces, phases, bytes -------------------------------------------------- */

int api_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int api_parse_addr(const char *what, const char *s, uint64_t max, uint64_t *ret,
		   struct mm_error *err)
{
	uint64_t x = 0;
	size_t i = 0;
	bool hex = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (!s || !s[0])
		goto bad;
	if (hex) {
		for (i = 2; s[i]; i++) {
			int d = api_hex_digit(s[i]);

			if (d < 0 || i >= 18)
				goto bad;
			x = x << 4 | (uint64_t)d;
		}
		if (i == 2)
			goto bad;
	} else {
		for (i = 0; s[i]; i++) {
			if (!isdigit((unsigned char)s[i]) ||
			    x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
				goto bad;
			x = x * 10 + (uint64_t)(s[i] - '0');
		}
	}
	if (x > max)
		return api_error(err, -EINVAL, "%s must be at most %#" PRIx64 ", not %.32s", what,
				 max, s);
	*ret = x;
	return 0;
bad:
	return api_error(err, -EINVAL,
			 "%s must be an address, hex (\"0xc0000000\") or decimal, not \"%.32s\"",
			 what, s ? s : "");
}

int api_parse_space(const char *what, const char *s, int *ret, struct mm_error *err)
{
	if (s && !strcmp(s, "kernel")) {
		*ret = MM_SPACE_KERNEL;
		return 0;
	}
	if (s && !strcmp(s, "phys")) {
		*ret = MM_SPACE_PHYS;
		return 0;
	}
	return api_error(err, -EINVAL, "%s must be \"kernel\" or \"phys\", not \"%.32s\"", what,
			 s ? s : "");
}

const char *api_space_name(int space)
{
	return space == MM_SPACE_PHYS ? "phys" : "kernel";
}

int api_parse_boot_phase(const char *what, const char *s, int *ret, struct mm_error *err)
{
	char names[160];
	size_t off = 0;
	int phase = s ? mm_boot_phase_parse(s) : -1;

	if (phase >= 0) {
		*ret = phase;
		return 0;
	}
	names[0] = '\0';
	for (int i = 0; i < MM_NR_BOOT_PHASES && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
					mm_boot_phase_name(i));
	if (!s)
		return api_error(err, -EINVAL, "%s must be a string naming a boot phase (%s)", what,
				 names);
	return api_error(err, -EINVAL, "%s: unknown boot phase '%.32s' (known: %s)", what, s,
			 names);
}

int api_hex_decode(const char *what, const char *s, uint8_t **ret, size_t *ret_len,
		   struct mm_error *err)
{
	size_t n = strlen(s), i;
	uint8_t *buf;

	if (n == 0 || n % 2)
		return api_error(err, -EINVAL,
				 "%s must be bytes as pairs of hex digits (\"deadbeef\"), not %zu "
				 "digit(s)",
				 what, n);
	if (n / 2 > MM_MEM_MAX)
		return api_error(err, -EINVAL, "%s holds %zu bytes; at most %u are written at once",
				 what, n / 2, MM_MEM_MAX);
	buf = malloc(n / 2);
	if (!buf)
		return api_error(err, -ENOMEM, "out of memory");
	for (i = 0; i < n; i += 2) {
		int hi = api_hex_digit(s[i]), lo = api_hex_digit(s[i + 1]);

		if (hi < 0 || lo < 0) {
			free(buf);
			return api_error(err, -EINVAL, "%s: '%c' at offset %zu is not a hex digit",
					 what, hi < 0 ? s[i] : s[i + 1], hi < 0 ? i : i + 1);
		}
		buf[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*ret = buf;
	*ret_len = n / 2;
	return 0;
}

int api_parse_access(const char *what, const char *s, int *ret, struct mm_error *err)
{
	static const char *const names[] = {"read", "write", "exec"};

	for (int i = 0; i < 3; i++) {
		if (s && !strcmp(s, names[i])) {
			*ret = i == 0 ? MM_ACCESS_READ : i == 1 ? MM_ACCESS_WRITE : MM_ACCESS_EXEC;
			return 0;
		}
	}
	return api_error(err, -EINVAL, "%s must be \"read\", \"write\" or \"exec\", not \"%.32s\"",
			 what, s ? s : "");
}

bool api_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n >= API_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	/* isalnum() is locale-dependent; the rule is ASCII only */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] >= 0x80)
			return false;
	return true;
}
