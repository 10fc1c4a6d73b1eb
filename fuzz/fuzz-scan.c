/* SPDX-License-Identifier: MIT */
/*
 * fuzz-scan.c - libFuzzer on the two readers of a command's text, differentially: whenever
 * the scanner (api_command_scan(), no Jansson) accepts an input, Jansson must read the same
 * object, and api_command_view() of it must give the same fields, types and values. The
 * journal's canonical text must not depend on which reader read a command.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct api_cmd a, b;
	struct mm_error err = {0};
	json_t *j;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	j = json_loadb((const char *)data, size, 0, NULL);
	if (api_command_scan(text, size, &a, NULL) == 0) {
		if (!j || !json_is_object(j) || api_command_view(j, &b, &err))
			abort(); /* the scanner accepted what Jansson refuses */
		if (a.n != b.n)
			abort();
		for (unsigned int i = 0; i < a.n; i++) {
			const struct api_cmd_field *x = &a.f[i], *y = NULL;

			for (unsigned int k = 0; k < b.n; k++)
				if (b.f[k].key_len == x->key_len &&
				    !memcmp(b.f[k].key, x->key, x->key_len))
					y = &b.f[k];
			if (!y || x->type != y->type)
				abort();
			if (x->type == API_FIELD_STRING && strcmp(x->str, y->str))
				abort();
			if ((x->type == API_FIELD_INT || x->type == API_FIELD_BOOL) && x->i != y->i)
				abort();
		}
	}
	json_decref(j);
	free(text);
	return 0;
}
