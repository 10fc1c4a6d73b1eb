/* test-clone.c - a clone of a shared template is the machine a scratch boot gives, and its
 * writes reach neither the template nor a sibling (mmcore/clone.c). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "machine.h" /* the frames behind the API, to prove what is and is not shared */

#include "common.h"

#include "snapmem.h"

static struct mem save(struct mm_machine *mm)
{
	struct mem b = {0};
	struct mm_error err = {0};

	ck_assert_msg(mm_snapshot_save(mm, mem_write, &b, &err) == 0, "save: %s", err.msg);
	return b;
}

static void same_bytes(struct mm_machine *a, struct mm_machine *b)
{
	struct mem x = save(a), y = save(b);

	ck_assert_uint_eq(x.len, y.len);
	ck_assert_msg(!memcmp(x.p, y.p, x.len), "the snapshots differ");
	free(x.p);
	free(y.p);
}

/* The same RAM: the same frames may be non-zero, with the same bytes. */
static void same_ram(struct mm_machine *a, struct mm_machine *b)
{
	uint64_t pfn;

	ck_assert_uint_eq(mm_ram_pages(a), mm_ram_pages(b));
	for (pfn = 0; pfn < mm_ram_pages(a); pfn++) {
		ck_assert_int_eq(mm_ram_page_touched(a, pfn), mm_ram_page_touched(b, pfn));
		if (mm_ram_page_touched(a, pfn))
			ck_assert_msg(!memcmp(mm_ram_page(a, pfn), mm_ram_page(b, pfn), 4096),
				      "frame %#llx differs", (unsigned long long)pfn);
	}
}

static void same_views(struct mm_machine *a, struct mm_machine *b)
{
	static const char *const files[] = {"zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo",
					    "vmstat",	"slabinfo",  "vmallocinfo"};

	expect_same_texts(a, b, files, ARRAY_SIZE(files));
}

/* The same ops on both machines give the same results (the replay of one journal). */
static void run_ops(struct mm_machine *a, struct mm_machine *b, unsigned int n, uint32_t seed)
{
	static const mm_gfp_t g[] = {0xcc0, 0x100cca, 0xa20, 0x40cc0};
	uint32_t held[256], held_o[256];
	unsigned int nh = 0, i;
	struct mm_error err = {0};

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 3 || !nh) {
			struct mm_page_alloc x, y;
			unsigned int order = (seed >> 8) % 4;
			mm_gfp_t gfp = g[(seed >> 4) % 4];
			int ra = mm_alloc_pages(a, 0, gfp, order, &x, &err);
			int rb = a == b ? ra : mm_alloc_pages(b, 0, gfp, order, &y, &err);

			ck_assert_int_eq(ra, rb);
			if (ra)
				continue;
			ck_assert_uint_eq(x.pfn, a == b ? x.pfn : y.pfn);
			if (nh < 256) {
				held[nh] = x.pfn;
				held_o[nh++] = order;
			}
			ck_assert_int_eq(mm_mem_write(a, 0, MM_SPACE_PHYS, (uint64_t)x.pfn << 12,
						      &seed, 4, &err),
					 0);
			ck_assert_int_eq(a == b ? 0
						: mm_mem_write(b, 0, MM_SPACE_PHYS,
							       (uint64_t)x.pfn << 12, &seed, 4,
							       &err),
					 0);
		} else {
			unsigned int k = (seed >> 8) % nh;

			ck_assert_int_eq(mm_free_pages(a, 0, held[k], held_o[k], NULL, &err), 0);
			ck_assert_int_eq(
				a == b ? 0 : mm_free_pages(b, 0, held[k], held_o[k], NULL, &err),
				0);
			held[k] = held[--nh];
			held_o[k] = held_o[nh];
		}
	}
	{
		struct mm_kmalloc x, y;

		ck_assert_int_eq(mm_kmalloc(a, 0, 200, 0xcc0, &x, &err), 0);
		if (a != b) {
			ck_assert_int_eq(mm_kmalloc(b, 0, 200, 0xcc0, &y, &err), 0);
			ck_assert_uint_eq(x.addr, y.addr);
		}
	}
}

static struct mm_config config(const char *mem, bool pae, unsigned int cpus, const char *cmdline)
{
	struct mm_config cfg;

	mm_config_init(&cfg, pae);
	ck_assert_int_eq(mm_parse_size(mem, &cfg.mem), 0);
	cfg.cpus = cpus;
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "%s", cmdline);
	return cfg;
}

static struct mm_machine *create(const struct mm_config *cfg)
{
	struct mm_machine *x = NULL;
	struct mm_error err = {0};

	ck_assert_msg(mm_machine_create(cfg, &x, &err) == 0, "boot: %s", err.msg);
	return x;
}

static struct mm_machine *template_of(const struct mm_config *cfg)
{
	struct mm_machine *t = create(cfg);
	struct mm_error err = {0};

	ck_assert_msg(mm_machine_share(t, &err) == 0, "share: %s", err.msg);
	ck_assert_int_eq(mm_machine_share(t, &err), 0); /* twice: a no-op */
	return t;
}

static struct mm_machine *clone_of(const struct mm_machine *t)
{
	struct mm_machine *c = NULL;
	struct mm_error err = {0};

	ck_assert_msg(mm_machine_clone(t, NULL, &c, &err) == 0, "clone: %s", err.msg);
	return c;
}

static void check_ok(struct mm_machine *x)
{
	struct mm_report rep = {0};

	ck_assert_int_eq(mm_check(x, &rep), 0);
}

/* A clone is a scratch boot: the same snapshot bytes, RAM, views; then the same answers. */
static void identical(const struct mm_config *cfg)
{
	struct mm_machine *t = template_of(cfg), *c = clone_of(t);

	m = create(cfg); /* the scratch boot; check_teardown() checks it */
	same_bytes(m, c);
	same_ram(m, c);
	same_views(m, c);
	check_ok(c);
	run_ops(m, c, 2000, 11);
	same_bytes(m, c);
	same_ram(m, c);
	same_views(m, c);
	check_ok(c);
	mm_machine_destroy(c);
	mm_machine_destroy(t);
}

START_TEST(identical_686)
{
	struct mm_config cfg = config("1G", false, 1, "");

	identical(&cfg);
}
END_TEST

START_TEST(identical_686_highmem)
{
	struct mm_config cfg = config("3G", false, 2, "min_free_kbytes=4096");

	identical(&cfg);
}
END_TEST

START_TEST(identical_pae)
{
	struct mm_config cfg = config("8G", true, 2, "");

	identical(&cfg);
}
END_TEST

START_TEST(identical_pae_cmdline)
{
	struct mm_config cfg = config("2G", true, 4, "mem=1536M vmalloc=256M");

	identical(&cfg);
}
END_TEST

/* The template itself stays a working machine after it is shared. */
START_TEST(template_still_works)
{
	struct mm_config cfg = config("512M", false, 2, "");
	struct mm_machine *t = template_of(&cfg);

	m = create(&cfg);
	same_bytes(m, t);
	run_ops(m, t, 500, 3);
	same_bytes(m, t);
	same_ram(m, t);
	check_ok(t);
	mm_machine_destroy(t);
}
END_TEST

/*
 * A clone's writes reach neither its template nor a sibling: one clone allocates, frees and
 * writes RAM through the API, then every byte of its mem_map and of its written frames is
 * overwritten behind the API's back; the template and a sibling cloned earlier are
 * byte for byte what they were.
 */
START_TEST(writes_stay_private)
{
	struct mm_config cfg = config("1G", false, 2, "");
	struct mm_machine *t = template_of(&cfg), *a = clone_of(t), *b = clone_of(t);
	struct mem before = save(t);
	uint8_t *frame0 = malloc(4096);
	struct mm_page_alloc pa;
	struct mm_error err = {0};
	uint32_t v = 0xdeadbeef;
	uint64_t pfn;

	ck_assert_int_eq(mm_alloc_pages(a, 0, 0xcc0, 0, &pa, &err), 0);
	memcpy(frame0, mm_ram_page(t, pa.pfn), 4096);
	ck_assert_int_eq(mm_mem_write(a, 0, MM_SPACE_PHYS, (uint64_t)pa.pfn << 12, &v, 4, &err), 0);
	run_ops(a, a, 500, 5);
	ck_assert(!memcmp(mm_ram_page(t, pa.pfn), frame0, 4096));
	ck_assert(!memcmp(mm_ram_page(b, pa.pfn), frame0, 4096));
	ck_assert(memcmp(mm_ram_page(a, pa.pfn), frame0, 4096));
	/* the hard way: every struct page and every touched frame of @a rewritten */
	memset(a->mem_map, 0xa5, a->mem_map_bytes);
	for (pfn = 0; pfn < mm_ram_pages(a); pfn++)
		if (mm_ram_page_touched(t, pfn))
			memset(a->ram + (pfn << 12), 0x5a, 4096);
	{
		struct mem after = save(t), sib = save(b);

		ck_assert_uint_eq(after.len, before.len);
		ck_assert(!memcmp(after.p, before.p, before.len));
		ck_assert_uint_eq(sib.len, before.len);
		ck_assert(!memcmp(sib.p, before.p, before.len));
		free(after.p);
		free(sib.p);
	}
	same_ram(t, b);
	check_ok(t);
	check_ok(b);
	/* and the checker still sees @a for what it now is */
	{
		struct mm_report rep = {0};

		ck_assert_int_ne(mm_check(a, &rep), 0);
	}
	mm_machine_destroy(a);
	/* a clone outlives its template: the file lives while a machine maps it */
	mm_machine_destroy(t);
	check_ok(b);
	run_ops(b, b, 200, 9);
	check_ok(b);
	mm_machine_destroy(b);
	free(before.p);
	free(frame0);
}
END_TEST

/* The shared file is sealed: nobody, the template's owner included, can write it. */
START_TEST(file_is_sealed)
{
	struct mm_config cfg = config("256M", false, 1, "");
	struct mm_machine *t = template_of(&cfg);
	void *p;

	ck_assert_int_ge(t->share->fd, 0);
	ck_assert_int_eq(fcntl(t->share->fd, F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t->share->fd, 0);
	ck_assert(p == MAP_FAILED);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_lt(pwrite(t->share->fd, "x", 1, 0), 0);
	ck_assert_int_eq(ftruncate(t->share->fd, 0), -1);
	mm_machine_destroy(t);
}
END_TEST

/* The checker verifies a clone as any machine: a corruption of a clone is found there and
 * only there. */
START_TEST(checker_sees_a_clone)
{
	struct mm_config cfg = config("256M", false, 1, "");
	struct mm_machine *t = template_of(&cfg), *c = clone_of(t);
	struct mm_report rep = {0};
	pfn_t pfn;

	for (pfn = 0; pfn < c->mem_map_pfns && !PageBuddy(&c->mem_map[pfn]); pfn++)
		;
	ck_assert_uint_lt(pfn, c->mem_map_pfns);
	__ClearPageBuddy(&c->mem_map[pfn]);
	ck_assert_int_ne(mm_check(c, &rep), 0);
	check_ok(t);
	mm_machine_destroy(c);
	mm_machine_destroy(t);
}
END_TEST

START_TEST(refusals)
{
	struct mm_config cfg = config("256M", false, 1, ""), other = cfg;
	struct mm_machine *c = NULL;
	struct mm_error err = {0};

	m = create(&cfg);
	ck_assert_int_eq(mm_machine_clone(m, NULL, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "template"));
	ck_assert_ptr_null(c);
	ck_assert(mm_config_same(&cfg, mm_machine_config(m)));
	other.cpus = 2;
	ck_assert(!mm_config_same(&cfg, &other));
	other = cfg;
	strcpy(other.cmdline, "mem=200M");
	ck_assert(!mm_config_same(&cfg, &other));
	other = cfg;
	other.stop_after = MM_PHASE_MEMBLOCK;
	ck_assert(!mm_config_same(&cfg, &other));
	other = cfg;
	other.boot_model = 2;
	ck_assert(!mm_config_same(&cfg, &other));
}
END_TEST

/* Every host allocation of share and clone may fail: -ENOMEM, nothing leaked (ASan), and the
 * template unchanged and usable. */
START_TEST(host_failures)
{
	struct mm_config cfg = config("128M", false, 1, "");
	struct mm_machine *t = template_of(&cfg), *c;
	struct mm_error err = {0};
	struct mm_host h;
	uint64_t nth;
	int r;

	for (nth = 1;; nth++) {
		h = (struct mm_host){.fail_nth = nth};
		c = NULL;
		r = mm_machine_clone(t, &h, &c, &err);
		if (!r)
			break;
		ck_assert_int_eq(r, -ENOMEM);
		ck_assert_ptr_null(c);
	}
	ck_assert_uint_gt(nth, 1);
	mm_machine_set_host(c, NULL);
	check_ok(c);
	same_bytes(t, c);
	mm_machine_destroy(c);
	mm_machine_destroy(t);
	for (nth = 1;; nth++) {
		h = (struct mm_host){.fail_nth = nth};
		t = create(&cfg);
		mm_machine_set_host(t, &h);
		r = mm_machine_share(t, &err);
		mm_machine_set_host(t, NULL);
		check_ok(t);
		if (!r) {
			ck_assert_ptr_nonnull(t->share);
			mm_machine_destroy(t);
			break;
		}
		ck_assert_int_eq(r, -ENOMEM);
		ck_assert_ptr_null(t->share);
		mm_machine_destroy(t);
	}
	ck_assert_uint_gt(nth, 1);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("clone");
	TCase *tc = tcase_create("clone");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, identical_686);
	tcase_add_test(tc, identical_686_highmem);
	tcase_add_test(tc, identical_pae);
	tcase_add_test(tc, identical_pae_cmdline);
	tcase_add_test(tc, template_still_works);
	tcase_add_test(tc, writes_stay_private);
	tcase_add_test(tc, file_is_sealed);
	tcase_add_test(tc, checker_sees_a_clone);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, host_failures);
	suite_add_tcase(s, tc);
	return s;
}
