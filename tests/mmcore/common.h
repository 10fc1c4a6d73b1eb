/* common.h - shared fixture for mmcore suites: boot a machine, check it in teardown. */
#ifndef TEST_COMMON_H
#define TEST_COMMON_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmcore.h"

static struct mm_machine *m;

static inline struct mm_machine *boot(const char *mem, bool pae, unsigned int cpus,
				      const char *cmdline)
{
	struct mm_config cfg;
	struct mm_error err = {0};

	mm_config_init(&cfg, pae);
	ck_assert_int_eq(mm_parse_size(mem, &cfg.mem), 0);
	cfg.cpus = cpus;
	strcpy(cfg.cmdline, cmdline);
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "boot failed: %s", err.msg);
	return m;
}

static inline void check_teardown(void)
{
	if (m) {
		struct mm_report rep = {0};

		ck_assert_int_eq(mm_check(m, &rep), 0);
		mm_machine_destroy(m);
		m = NULL;
	}
}

static inline char *render(const char *file)
{
	struct mm_buf b = {0};
	struct mm_error err;

	if (!strcmp(file, "dmesg"))
		ck_assert_int_eq(mm_dmesg_render(m, &b, &err), 0);
	else
		ck_assert_int_eq(mm_proc_render(m, file, &b, &err), 0);
	return b.data;
}

/* Machines @a and @b render the same texts: each of the @n /proc files @files (the names
 * of mm_proc_render()), then dmesg. */
static inline void expect_same_texts(struct mm_machine *a, struct mm_machine *b,
				     const char *const *files, unsigned int n)
{
	struct mm_error err = {0};

	for (unsigned int i = 0; i <= n; i++) {
		struct mm_buf x = {0}, y = {0};

		if (i < n) {
			ck_assert_int_eq(mm_proc_render(a, files[i], &x, &err), 0);
			ck_assert_int_eq(mm_proc_render(b, files[i], &y, &err), 0);
		} else {
			ck_assert_int_eq(mm_dmesg_render(a, &x, &err), 0);
			ck_assert_int_eq(mm_dmesg_render(b, &y, &err), 0);
		}
		ck_assert_msg(!strcmp(x.data, y.data), "%s differs", i < n ? files[i] : "dmesg");
		mm_buf_free(&x);
		mm_buf_free(&y);
	}
}

#endif
