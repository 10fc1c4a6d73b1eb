/* test-procfs.c - the /proc renderers: formats and line sets as the real files have them. */
#include <ctype.h>
#include <stdio.h>

#include "common.h"
#include "oracle.h"

/* first words of every line */
static char *keys_of(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(n + 1), *w = out;
	const char *p = text;

	while (*p) {
		size_t k = strcspn(p, " \t\n");

		memcpy(w, p, k);
		w += k;
		*w++ = '\n';
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	*w = '\0';
	return out;
}

static void same_keys(const char *file)
{
	char dir[1024], *real, *mine, *a, *b;

	snprintf(dir, sizeof(dir), "%s/686-1024M", oracle_root());
	real = oracle_read(dir, file);
	mine = render(file);
	a = keys_of(mine);
	b = keys_of(real);
	ck_assert_msg(!strcmp(a, b), "%s: line names differ", file);
	free(real);
	free(mine);
	free(a);
	free(b);
}

START_TEST(meminfo_vmstat_lines)
{
	boot("1G", false, 1, "");
	same_keys("meminfo");
	same_keys("vmstat");
}
END_TEST

START_TEST(buddyinfo_dma)
{
	char *b;

	boot("1G", false, 1, "");
	b = render("buddyinfo");
	/* the first MiB is reserved; pageblock 0 is unmovable: 256-511 and 512-1023 free */
	ck_assert_ptr_nonnull(
		strstr(b, "Node 0, zone      DMA      0      0      0      0      0      0"
			  "      0      0      1      1      3 \n"));
	ck_assert_ptr_nonnull(strstr(b, "Node 0, zone  HighMem "));
	free(b);
}
END_TEST

START_TEST(pagetypeinfo_format)
{
	char *p;

	boot("1G", true, 1, "");
	p = render("pagetypeinfo");
	ck_assert(!strncmp(p, "Page block order: 9\nPages per block:  512\n\n", 43));
	ck_assert_ptr_nonnull(strstr(p, "Node    0, zone      DMA, type    Unmovable      0"));
	ck_assert_ptr_nonnull(
		strstr(p, "\nNumber of blocks type     Unmovable      Movable  Reclaimable"
			  "   HighAtomic      Isolate \n"));
	ck_assert_ptr_nonnull(
		strstr(p, "Node 0, zone      DMA            1            7            0"));
	free(p);
}
END_TEST

START_TEST(meminfo_totals)
{
	char *p;
	struct mm_totals t;

	boot("128M", false, 1, "");
	mm_get_totals(m, &t);
	p = render("meminfo");
	ck_assert_int_eq(oracle_meminfo(p, "MemTotal"), (long)t.totalram_pages * 4);
	ck_assert_int_eq(oracle_meminfo(p, "HighTotal"), 0);
	ck_assert_int_eq(oracle_meminfo(p, "VmallocTotal"), (0xfebfe000L - 0xc87e0000L) >> 10);
	ck_assert_ptr_nonnull(strstr(p, "Hugepagesize:       4096 kB\n"));
	ck_assert_int_eq(mm_proc_render(m, "sched_debug", &(struct mm_buf){0}, NULL), -ENOENT);
	free(p);
}
END_TEST

START_TEST(dmesg_lines)
{
	char *d;

	boot("1G", false, 1, "console=ttyS0");
	d = render("dmesg");
	ck_assert_ptr_nonnull(strstr(d, "] Kernel command line: console=ttyS0\n"));
	ck_assert_ptr_nonnull(
		strstr(d, "] Built 1 zonelists, mobility grouping on.  Total pages: 259824\n"));
	ck_assert_ptr_nonnull(strstr(d, "] On node 0, zone DMA: 97 pages in unavailable ranges\n"));
	ck_assert_ptr_nonnull(strstr(d, "] Memory: "));
	ck_assert_ptr_nonnull(strstr(d, "K highmem)\n"));
	free(d);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("procfs");
	TCase *tc = tcase_create("render");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_add_test(tc, meminfo_vmstat_lines);
	tcase_add_test(tc, buddyinfo_dma);
	tcase_add_test(tc, pagetypeinfo_format);
	tcase_add_test(tc, meminfo_totals);
	tcase_add_test(tc, dmesg_lines);
	suite_add_tcase(s, tc);
	return s;
}
