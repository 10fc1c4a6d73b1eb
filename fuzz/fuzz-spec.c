/* SPDX-License-Identifier: MIT */
/*
 * fuzz-spec.c - libFuzzer on the machine spec (the body of POST /v1/machines and every stored
 * configuration): the input as JSON, read by api_machine_spec_parse(); a spec it accepts with
 * at most 32 MiB of RAM is booted, and the booted machine must pass the invariant checker and
 * give back the spec it was made from. What is refused must be refused with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "mmcore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct mm_config cfg;
	struct mm_error err = {0};
	char name[API_NAME_MAX];
	struct mm_machine *m;
	int r;

	if (!j)
		return 0;
	r = api_machine_spec_parse(j, &cfg, name, &err);
	json_decref(j);
	if (r) {
		if (!err.msg[0])
			abort(); /* a refusal says why */
		return 0;
	}
	(void)mm_config_host_bytes(&cfg);
	if (cfg.mem > (32u << 20))
		return 0;
	memset(&err, 0, sizeof(err));
	if (mm_machine_create(&cfg, &m, &err)) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	{
		char msg[2][MM_ERR_MAX];
		struct mm_report rep = {.max = 2, .msgs = msg};

		if (mm_check(m, &rep)) {
			fprintf(stderr, "fuzz-spec: %u violation(s); the first: %s\n", rep.nr,
				msg[0]);
			abort();
		}
	}
	{
		json_t *back = api_config_to_json(mm_machine_config(m));
		struct mm_config again;

		if (!back || api_machine_spec_parse(back, &again, name, &err) ||
		    again.mem != cfg.mem || again.pae != cfg.pae || again.cpus != cfg.cpus)
			abort(); /* the stored configuration reads back as the same machine */
		json_decref(back);
	}
	mm_machine_destroy(m);
	return 0;
}
