/*
 * test-oracle.c - boot, for every folder of tests/oracle, the configuration the real
 * Debian 6.1 kernel was booted with, and compare what the acceptance names:
 *  - BIOS-e820 lines, Zone ranges lines, HIGHMEM/LOWMEM lines: equal;
 *  - per zone start_pfn, spanned, present: equal; managed within 0.5 %;
 *  - min/low/high: exactly the kernel's formula applied to mm32's own managed counts (as
 *    they were when the initcalls ran: managed minus what dmesg says was freed after),
 *    and within 1 % of the real kernel's; protection: exactly the formula;
 *  - pcp high and batch equal; MemTotal within 0.5 %; DirectMap equal;
 *  - /proc/zoneinfo has the real file's lines in the same order (numbers aside);
 *  - layout: high_memory, max_low_pfn, max_pfn, VMALLOC_START/END equal.
 * The checker runs in every teardown.
 */
#include <check.h>
#include <errno.h>
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "oracle.h"

static char dirs[64][512];
static int nr_dirs;

static void numbers_out(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (isdigit((unsigned char)*s)) {
			while (isdigit((unsigned char)s[1]))
				s++;
			*w++ = 'N';
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

static long freed_k(const char *dmesg, const char *what)
{
	const char *p = strstr(dmesg, what);

	return p ? strtol(p + strlen(what), NULL, 10) : 0;
}

START_TEST(oracle_boot)
{
	const char *dir = dirs[_i];
	static const char *const zones[4] = {"DMA", "Normal", "HighMem", "Movable"};
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_layout lay;
	struct mm_totals tot;
	char *rd = oracle_read(dir, "dmesg"), *rz = oracle_read(dir, "zoneinfo");
	char *rm = oracle_read(dir, "meminfo"), *rv = oracle_read(dir, "kernel_vars");
	char *md, *mz, *mmi, *a, *b;
	uint64_t managed_then[4], lowmem = 0, mfk, pages_min, total_then = 0;
	unsigned int z;
	int pb;

	ck_assert_msg(oracle_config(dir, &cfg), "cannot read the configuration of %s", dir);
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s: %s", dir, err.msg);
	md = render("dmesg");
	mz = render("zoneinfo");
	mmi = render("meminfo");

	/* boot log lines that are pure functions of the configuration */
	{
		static const char *const prefixes[] = {
			"BIOS-e820:",	"  DMA ", "  Normal ", "  HighMem ",
			"Zone ranges:", "e820: ", "user",      "last_pfn"};
		size_t i;

		for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			a = oracle_lines(md, prefixes[i]);
			b = oracle_lines(rd, prefixes[i]);
			ck_assert_msg(!strcmp(a, b), "%s: '%s' lines differ:\nmm32:\n%sreal:\n%s",
				      dir, prefixes[i], a, b);
			free(a);
			free(b);
		}
		a = oracle_lines(md, "");
		b = oracle_lines(rd, "");
		{
			const char *keys[] = {"MB HIGHMEM available.", "MB LOWMEM available."};
			for (i = 0; i < 2; i++) {
				const char *pa = strstr(a, keys[i]), *pb2 = strstr(b, keys[i]);

				ck_assert_ptr_nonnull(pa);
				ck_assert_ptr_nonnull(pb2);
				while (pa > a && pa[-1] != '\n')
					pa--;
				while (pb2 > b && pb2[-1] != '\n')
					pb2--;
				ck_assert_msg(!strncmp(pa, pb2, strcspn(pb2, "\n") + 1),
					      "%s: %s line differs", dir, keys[i]);
			}
		}
		free(a);
		free(b);
	}

	/* zone geometry and managed */
	for (z = 0; z < 4; z++) {
		long rs = oracle_zone_value(rz, zones[z], "spanned");
		long ms = oracle_zone_value(mz, zones[z], "spanned");
		long rmng = oracle_zone_value(rz, zones[z], "managed");
		long mmng = oracle_zone_value(mz, zones[z], "managed");

		ck_assert_msg(rs == ms, "%s %s spanned %ld, real %ld", dir, zones[z], ms, rs);
		ck_assert_int_eq(oracle_zone_value(mz, zones[z], "present"),
				 oracle_zone_value(rz, zones[z], "present"));
		if (rs > 0)
			ck_assert_int_eq(oracle_zone_value(mz, zones[z], "start_pfn"),
					 oracle_zone_value(rz, zones[z], "start_pfn"));
		ck_assert_msg(labs(mmng - rmng) * 1000 <= rmng * 5, "%s %s managed %ld, real %ld",
			      dir, zones[z], mmng, rmng);
		managed_then[z] = (uint64_t)mmng;
	}

	/* the boot-time formula on mm32's own counts */
	managed_then[1] -=
		(uint64_t)(freed_k(md, "Freeing initrd memory: ") +
			   freed_k(md, "Freeing unused kernel image (initmem) memory: ")) /
		4;
	mm_get_totals(m, &tot);
	mm_get_layout(m, &lay);
	pb = 1 << lay.pageblock_order;
	lowmem = managed_then[0] + managed_then[1];
	for (z = 0; z < 4; z++)
		total_then += managed_then[z];
	mfk = isqrt(lowmem * 4 * 16);
	mfk = mfk < 128 ? 128 : mfk > 262144 ? 262144 : mfk;
	{
		uint64_t wmin[4], wlow[4], whigh[4];
		int pass;
		bool highmem_populated = managed_then[2] > 0;

		for (pass = 0; pass < 2; pass++) {
			pages_min = mfk / 4;
			for (z = 0; z < 4; z++) {
				bool hi = z == 2 || (z == 3 && highmem_populated);
				uint64_t tmp = pages_min * managed_then[z] / lowmem, delta;

				if (hi) {
					uint64_t mp = managed_then[z] / 1024;
					wmin[z] = mp < 32 ? 32 : mp > 128 ? 128 : mp;
				} else {
					wmin[z] = tmp;
				}
				delta = managed_then[z] * 10 / 10000;
				if (tmp / 4 > delta)
					delta = tmp / 4;
				wlow[z] = wmin[z] + delta;
				whigh[z] = wlow[z] + delta;
			}
			if (pass == 0) {
				uint64_t nfb = 0, nz = 0, rec;

				if (total_then < 131072)
					break;
				for (z = 0; z < 2; z++) {
					nfb += managed_then[z] > whigh[z]
						       ? managed_then[z] - whigh[z]
						       : 0;
					nz += managed_then[z] > 0;
				}
				rec = (uint64_t)pb * nz * 11;
				if (rec > nfb / 20)
					rec = nfb / 20;
				if (rec * 4 > mfk)
					mfk = rec * 4;
			}
		}
		ck_assert_msg((uint64_t)tot.min_free_kbytes == mfk,
			      "%s min_free_kbytes %d, formula %llu", dir, tot.min_free_kbytes,
			      (unsigned long long)mfk);
		for (z = 0; z < 4; z++) {
			long mine[3] = {oracle_zone_value(mz, zones[z], "min"),
					oracle_zone_value(mz, zones[z], "low"),
					oracle_zone_value(mz, zones[z], "high")};
			long real[3] = {oracle_zone_value(rz, zones[z], "min"),
					oracle_zone_value(rz, zones[z], "low"),
					oracle_zone_value(rz, zones[z], "high")};
			uint64_t want[3] = {wmin[z], wlow[z], whigh[z]};
			long prot[4], rprot[4];
			int k;

			if (z == 3 && !highmem_populated)
				want[0] = want[1] = want[2] = 0;
			for (k = 0; k < 3; k++) {
				ck_assert_msg((uint64_t)mine[k] == want[k],
					      "%s %s wmark %d: %ld, formula %llu", dir, zones[z], k,
					      mine[k], (unsigned long long)want[k]);
				ck_assert_msg(labs(mine[k] - real[k]) * 100 <= real[k],
					      "%s %s wmark %d: %ld, real %ld", dir, zones[z], k,
					      mine[k], real[k]);
			}
			ck_assert(oracle_zone_protection(mz, zones[z], prot));
			ck_assert(oracle_zone_protection(rz, zones[z], rprot));
			for (k = 0; k < 4; k++) {
				static const int ratio[4] = {256, 32, 0, 0};
				uint64_t sum = 0;
				unsigned int j;
				long expect = 0;

				if (k > (int)z && ratio[z] && managed_then[z]) {
					for (j = z + 1; j <= (unsigned int)k; j++)
						sum += managed_then[j];
					expect = (long)(sum / (uint64_t)ratio[z]);
				}
				ck_assert_msg(prot[k] == expect,
					      "%s %s protection[%d] %ld, formula %ld", dir,
					      zones[z], k, prot[k], expect);
			}
			if (managed_then[z]) {
				ck_assert_msg(oracle_zone_value(mz, zones[z], "high:") ==
						      oracle_zone_value(rz, zones[z], "high:"),
					      "%s %s pcp high %ld, real %ld", dir, zones[z],
					      oracle_zone_value(mz, zones[z], "high:"),
					      oracle_zone_value(rz, zones[z], "high:"));
				ck_assert_int_eq(oracle_zone_value(mz, zones[z], "batch:"),
						 oracle_zone_value(rz, zones[z], "batch:"));
			}
		}
	}

	/* MemTotal */
	{
		long mt = oracle_meminfo(mmi, "MemTotal"), rt = oracle_meminfo(rm, "MemTotal");

		ck_assert_msg(labs(mt - rt) * 1000 <= rt * 5, "%s MemTotal %ld, real %ld", dir, mt,
			      rt);
	}

	/* DirectMap: the page sizes of the direct map as the tables show them. Equal: the
	 * BPF page the boot makes read-only splits a large page where it is lowmem */
	{
		const char *big = cfg.pae ? "DirectMap2M" : "DirectMap4M";
		long m4k = oracle_meminfo(mmi, "DirectMap4k"),
		     r4k = oracle_meminfo(rm, "DirectMap4k");
		long mbig = oracle_meminfo(mmi, big), rbig = oracle_meminfo(rm, big);
		long large_kb = cfg.pae ? 2048 : 4096;

		ck_assert_msg(m4k + mbig == r4k + rbig, "%s DirectMap total %ld, real %ld", dir,
			      m4k + mbig, r4k + rbig);
		(void)large_kb;
		ck_assert_msg(m4k == r4k, "%s DirectMap4k %ld, real %ld", dir, m4k, r4k);
	}

	/* zoneinfo line structure, numbers aside */
	numbers_out(mz);
	numbers_out(rz);
	ck_assert_msg(!strcmp(mz, rz), "%s: zoneinfo lines differ from the real file", dir);

	/* layout against the kernel's variables */
	{
		unsigned long hm = 0, mlp = 0, mp = 0;
		const char *p;

		p = strstr(rv, "\nhigh_memory ");
		ck_assert(p && sscanf(strstr(p, "value=") + 6, "%lx", &hm) == 1);
		p = strstr(rv, "\nmax_low_pfn ");
		ck_assert(p && sscanf(strstr(p, "value=") + 6, "%lx", &mlp) == 1);
		p = strstr(rv, "\nmax_pfn ");
		ck_assert(p && sscanf(strstr(p, "value=") + 6, "%lx", &mp) == 1);
		ck_assert_uint_eq(lay.high_memory, hm);
		ck_assert_uint_eq(lay.max_low_pfn, mlp);
		ck_assert_uint_eq(lay.max_pfn, mp);
		ck_assert_uint_eq(lay.vmalloc_start, hm + (8u << 20));
	}
	{
		char *seg = oracle_read(dir, "kcore_segments");
		unsigned long vs, ve;
		const char *p = seg ? strstr(seg, "vaddr=") : NULL;

		ck_assert_ptr_nonnull(p);
		ck_assert(sscanf(p, "vaddr=%lx end=%lx", &vs, &ve) == 2);
		ck_assert_uint_eq(lay.vmalloc_start, vs);
		ck_assert_uint_eq(lay.vmalloc_end, ve);
		free(seg);
	}
	free(rd);
	free(rz);
	free(rm);
	free(rv);
	free(md);
	free(mz);
	free(mmi);
}
END_TEST

/* Without the fixtures there is nothing to compare against: that is a failure, not a pass. */
START_TEST(no_fixtures)
{
	ck_abort_msg("no oracle fixtures under %s (set MM32_ORACLE_DIR)", oracle_root());
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("boot");

	nr_dirs = oracle_dirs(dirs, 64);
	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	if (nr_dirs)
		tcase_add_loop_test(tc, oracle_boot, 0, nr_dirs);
	else
		tcase_add_test(tc, no_fixtures);
	suite_add_tcase(s, tc);
	return s;
}
