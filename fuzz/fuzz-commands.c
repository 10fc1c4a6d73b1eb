/* SPDX-License-Identifier: MIT */
/*
 * fuzz-commands.c - libFuzzer on the command path: each line of the input is a command's text,
 * read by api_command_parse() (the scanner, else Jansson) and run by the executor on a small
 * machine, 686 (64 MiB, 1 CPU) or PAE (64 MiB, 2 CPUs) by the input's first byte. After every
 * input that reached the executor the whole invariant checker must find the machine whole: a
 * violation is a crash.
 *
 * Speed (the goal is a million inputs in well under an hour of one core, in the sanitizer
 * build): the machines are booted once and kept across inputs (a boot per input would cost
 * more than the commands), and booted again every 2000 inputs and whenever one is tainted (a
 * forced physical write into the kernel's frames taints it on purpose; the checker's word on
 * such a machine proves nothing). The checker runs in full, every row, but it is left out of
 * the coverage instrumentation (fuzz/coverage-ignore.txt: its compares hooked cost 2/3 of the
 * time), and it is skipped after an input none of whose lines parsed as a command: the
 * executor never saw the machine, which the previous input's check found whole. The PAE
 * machine is as small as the 686 one (64 MiB, the least a machine may have): the checker's
 * walk is per struct page. A crash found this way may need the inputs before it: libFuzzer's
 * -runs on the corpus replays them in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "scan.h"
#include "mmcore.h"

static struct mm_machine *machines[2];
static unsigned long inputs;

static struct mm_machine *boot(int pae)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_machine *m;

	mm_config_init(&cfg, pae);
	cfg.mem = 64u << 20;
	cfg.cpus = pae ? 2 : 1;
	if (mm_machine_create(&cfg, &m, &err)) {
		fprintf(stderr, "fuzz-commands: boot failed: %s\n", err.msg);
		abort();
	}
	return m;
}

static void check(struct mm_machine *m)
{
	char msg[4][MM_ERR_MAX];
	struct mm_report rep = {.max = 4, .msgs = msg};

	if (mm_check(m, &rep) && !mm_machine_tainted(m)) {
		fprintf(stderr, "fuzz-commands: %u violation(s); the first: %s\n", rep.nr, msg[0]);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int which = size && (data[0] & 1);
	struct mm_machine *m;
	bool ran = false;
	size_t i = 0;

	if (inputs++ % 2000 == 0 || !machines[which]) {
		mm_machine_destroy(machines[which]);
		machines[which] = boot(which);
	}
	m = machines[which];
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (data + i)) : size - i;
		struct api_cmd_text ct;
		struct api_cmd view;
		struct mm_error err = {0};

		if (len && api_command_parse((const char *)data + i, len, &ct, &view, &err) == 0) {
			struct api_text out = {0};
			struct api_command_outcome oc = {0};

			ran = true;
			api_command_run_env(m, NULL, &view, &out, &oc, &err);
			api_text_free(&out);
		}
		if (len)
			api_command_parse_finish(&ct);
		i += len + 1;
		if (mm_machine_tainted(m))
			break;
	}
	if (!ran)
		return 0; /* nothing reached the machine */
	check(m);
	if (mm_machine_tainted(m)) {
		mm_machine_destroy(m);
		machines[which] = NULL;
	}
	return 0;
}
