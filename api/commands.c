/* SPDX-License-Identifier: MIT */
/*
 * commands.c - the command table and the executor (see commands.h).
 *
 * Each op names the fields it accepts besides "op" and "cpu"; the executor rejects any
 * other field before the op runs, so an op's run() only checks types and ranges of its own
 * fields. run() must leave the machine unchanged when it fails (mmcore's own contract),
 * or say that it did not (*changed: the failure is then journaled, see commands.h), and
 * append its result to the text only when it succeeds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "problem.h"

struct api_command_op {
	const char *op;
	const char *const *fields; /* accepted besides "op" and "cpu"; NULL-terminated */
	/* @changed: set when the op fails after it changed the machine (journaled then) */
	int (*run)(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		   struct api_text *out, bool *changed, struct mm_error *err);
	/* instead of run(), for the ops that need the environment (see api_exec_env) */
	int (*run_env)(struct mm_machine *m, const struct api_exec_env *env,
		       const struct api_cmd *cmd, struct api_text *out,
		       struct api_command_outcome *oc, struct mm_error *err);
};

static const struct api_cmd_field *field(const struct api_cmd *cmd, const char *key)
{
	size_t len = strlen(key);

	for (unsigned int i = 0; i < cmd->n; i++)
		if (cmd->f[i].key_len == len && !memcmp(cmd->f[i].key, key, len))
			return &cmd->f[i];
	return NULL;
}

static int text_result(struct api_text *out, struct mm_error *err)
{
	return out->oom ? api_error(err, -ENOMEM, "out of memory writing the result") : 0;
}

/* ---- set_sysctl ------------------------------------------------------------------------ */

/* Write @v as /proc/sys/vm/@name would be written to: "8192", "256 32 0 0". */
static int sysctl_value_text(const char *name, const struct api_cmd_field *v, char *buf,
			     size_t size, struct mm_error *err)
{
	bool vector = !strcmp(name, "lowmem_reserve_ratio");
	size_t off = 0;
	const json_t *x;
	size_t i;

	if (!vector) {
		if (v->type != API_FIELD_INT)
			return api_error(err, -EINVAL, "field 'value' of vm.%s must be an integer",
					 name);
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, v->i);
		return 0;
	}
	if (v->type == API_FIELD_STRING) {
		if (strlen(v->str) >= size)
			return api_error(err, -EINVAL, "field 'value' is too long");
		strcpy(buf, v->str);
		return 0;
	}
	if (!json_is_array(v->json) || json_array_size(v->json) != MM_NR_ZONES)
		return api_error(err, -EINVAL,
				 "field 'value' of vm.lowmem_reserve_ratio must be an array of %d "
				 "integers or a string like \"256 32 0 0\"",
				 MM_NR_ZONES);
	buf[0] = '\0';
	json_array_foreach(v->json, i, x) {
		if (!json_is_integer(x))
			return api_error(err, -EINVAL, "field 'value[%zu]' must be an integer", i);
		off += (size_t)snprintf(buf + off, size - off, "%s%" JSON_INTEGER_FORMAT,
					i ? " " : "", json_integer_value(x));
		if (off >= size)
			return api_error(err, -EINVAL, "field 'value' is too long");
	}
	return 0;
}

static int op_set_sysctl(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			 struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *jname = field(cmd, "name"), *v = field(cmd, "value");
	const char *name;
	json_t *now;
	char text[256];
	int r;

	if (!jname || jname->type != API_FIELD_STRING)
		return api_error(err, -EINVAL, "field 'name' (a string) is required");
	name = jname->str;
	if (!api_sysctl_known(name))
		return api_error(err, -ENOENT, "no sysctl vm.%.64s", name);
	if (!v)
		return api_error(err, -EINVAL, "field 'value' is required");
	r = sysctl_value_text(name, v, text, sizeof(text), err);
	if (r < 0)
		return r;
	r = mm_sysctl_set(m, name, text, err);
	if (r < 0)
		return r;
	r = api_sysctl_get_json(m, name, &now, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"name\":");
	api_text_str(out, name);
	api_text_puts(out, ",\"value\":");
	api_text_json(out, now);
	api_text_puts(out, "}");
	json_decref(now);
	return text_result(out, err);
}

/* ---- the page allocator ---------------------------------------------------------------- */

/*
 * The integer field @name of @cmd: @def when absent (or -EINVAL when @required), else it
 * must be an integer in @min..@max.
 */
static int int_field(const struct api_cmd *cmd, const char *name, bool required, json_int_t def,
		     json_int_t min, json_int_t max, json_int_t *ret, struct mm_error *err)
{
	const struct api_cmd_field *v = field(cmd, name);

	if (!v) {
		if (required)
			return api_error(err, -EINVAL, "field '%s' (an integer) is required", name);
		*ret = def;
		return 0;
	}
	if (v->type != API_FIELD_INT)
		return api_error(err, -EINVAL, "field '%s' must be an integer", name);
	if (v->i < min || v->i > max)
		return api_error(err, -EINVAL,
				 "field '%s' must be %" JSON_INTEGER_FORMAT
				 "..%" JSON_INTEGER_FORMAT ", not %" JSON_INTEGER_FORMAT,
				 name, min, max, v->i);
	*ret = v->i;
	return 0;
}

static int order_field(const struct api_cmd *cmd, unsigned int *ret, struct mm_error *err)
{
	json_int_t order;
	int r = int_field(cmd, "order", false, 0, 0, MM_MAX_ORDER - 1, &order, err);

	if (r < 0)
		return r;
	*ret = (unsigned int)order;
	return 0;
}

static int pfn_field(const struct api_cmd *cmd, uint32_t *ret, struct mm_error *err)
{
	json_int_t pfn;
	int r = int_field(cmd, "pfn", true, 0, 0, UINT32_MAX, &pfn, err);

	if (r < 0)
		return r;
	*ret = (uint32_t)pfn;
	return 0;
}

static int op_alloc_pages(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			  struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *jgfp = field(cmd, "gfp");
	struct mm_page_alloc a;
	unsigned int order;
	mm_gfp_t gfp;
	int r;

	if (!jgfp || jgfp->type != API_FIELD_STRING)
		return api_error(err, -EINVAL,
				 "field 'gfp' (a string such as \"GFP_KERNEL|__GFP_ZERO\") is "
				 "required");
	r = order_field(cmd, &order, err);
	if (r < 0)
		return r;
	r = mm_gfp_parse(jgfp->str, &gfp, err);
	if (r < 0)
		return r;
	r = mm_alloc_pages(m, cpu, gfp, order, &a, err);
	if (r == -ENOSPC)
		*changed = true; /* the slow path moved counters, the log, maybe pageblocks */
	if (r < 0)
		return r;
	api_text_page_alloc(out, &a);
	return text_result(out, err);
}

static int op_free_pages(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			 struct api_text *out, bool *changed, struct mm_error *err)
{
	unsigned int order;
	bool freed = false;
	uint32_t pfn;
	int r;

	r = pfn_field(cmd, &pfn, err);
	if (r < 0)
		return r;
	r = order_field(cmd, &order, err);
	if (r < 0)
		return r;
	r = mm_free_pages(m, cpu, pfn, order, &freed, err);
	if (r < 0)
		return r;
	api_text_page_free(out, pfn, order, freed);
	return text_result(out, err);
}

static int op_get_page(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		       struct api_text *out, bool *changed, struct mm_error *err)
{
	int refcount = 0;
	uint32_t pfn;
	int r;

	r = pfn_field(cmd, &pfn, err);
	if (r < 0)
		return r;
	r = mm_get_page(m, pfn, &refcount, err);
	if (r < 0)
		return r;
	api_text_page_ref(out, pfn, refcount, -1);
	return text_result(out, err);
}

static int op_put_page(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		       struct api_text *out, bool *changed, struct mm_error *err)
{
	bool freed = false;
	int refcount = 0;
	uint32_t pfn;
	int r;

	r = pfn_field(cmd, &pfn, err);
	if (r < 0)
		return r;
	r = mm_put_page(m, cpu, pfn, &refcount, &freed, err);
	if (r < 0)
		return r;
	api_text_page_ref(out, pfn, refcount, freed);
	return text_result(out, err);
}

/* ---- boot phases ----------------------------------------------------------------------- */

static int op_boot_continue(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			    struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *u = field(cmd, "until");
	int phase = mm_machine_phase(m), until = -1, r;
	bool refused;

	if (u) {
		r = api_parse_boot_phase("field 'until'",
					 u->type == API_FIELD_STRING ? u->str : NULL, &until, err);
		if (r < 0)
			return r;
	}
	/* mmcore refuses these before it boots anything: the machine stays as it was */
	refused = phase >= MM_NR_BOOT_PHASES - 1 || (until >= 0 && until <= phase);
	r = mm_boot_continue(m, until, err);
	if (r < 0) {
		*changed = !refused; /* a boot step ran and failed: the machine is tainted */
		return r;
	}
	api_text_puts(out, "{\"phase\":");
	api_text_str(out, mm_boot_phase_name(mm_machine_phase(m)));
	api_text_puts(out, "}");
	return text_result(out, err);
}

/* ---- memory, TLBs ---------------------------------------------------------------------- */

/*
 * The address field @name of @cmd: a string ("0xc0000000" or decimal) or a non-negative
 * integer, at most @max.
 */
static int addr_field(const struct api_cmd *cmd, const char *name, uint64_t max, uint64_t *ret,
		      struct mm_error *err)
{
	const struct api_cmd_field *v = field(cmd, name);
	char what[64];

	if (!v)
		return api_error(err, -EINVAL,
				 "field '%s' (an address such as \"0xc0000000\") is required",
				 name);
	if (v->type == API_FIELD_INT) {
		if (v->i < 0 || (uint64_t)v->i > max)
			return api_error(err, -EINVAL,
					 "field '%s' must be 0..%#" PRIx64
					 ", not %" JSON_INTEGER_FORMAT,
					 name, max, v->i);
		*ret = (uint64_t)v->i;
		return 0;
	}
	if (v->type != API_FIELD_STRING)
		return api_error(err, -EINVAL,
				 "field '%s' must be an address: a string such as \"0xc0000000\" "
				 "or an integer",
				 name);
	snprintf(what, sizeof(what), "field '%s'", name);
	return api_parse_addr(what, v->str, max, ret, err);
}

static int space_field(const struct api_cmd *cmd, int *ret, struct mm_error *err)
{
	const struct api_cmd_field *v = field(cmd, "space");

	if (!v || v->type != API_FIELD_STRING)
		return api_error(err, -EINVAL,
				 "field 'space' (\"kernel\" or \"phys\", a string) is required");
	return api_parse_space("field 'space'", v->str, ret, err);
}

/* The address range of a memory command: its space, address and the room left. */
static int mem_addr(const struct api_cmd *cmd, int *space, uint64_t *addr, struct mm_error *err)
{
	int r = space_field(cmd, space, err);

	if (r < 0)
		return r;
	return addr_field(cmd, "addr", *space == MM_SPACE_KERNEL ? UINT32_MAX : UINT64_MAX, addr,
			  err);
}

static int op_memory_read(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			  struct api_text *out, bool *changed, struct mm_error *err)
{
	json_int_t len;
	uint64_t addr;
	uint8_t *buf;
	int space, r;

	r = mem_addr(cmd, &space, &addr, err);
	if (r < 0)
		return r;
	r = int_field(cmd, "len", true, 0, 1, MM_MEM_MAX, &len, err);
	if (r < 0)
		return r;
	buf = malloc((size_t)len);
	if (!buf)
		return api_error(err, -ENOMEM, "out of memory");
	r = mm_mem_read(m, cpu, space, addr, (size_t)len, buf, err);
	if (r == 0)
		api_text_memory(out, addr, (size_t)len, space, buf);
	free(buf);
	return r < 0 ? r : text_result(out, err);
}

static int op_memory_write(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			   struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *d = field(cmd, "data");
	uint64_t addr;
	uint8_t *buf;
	size_t len;
	int space, r;

	r = mem_addr(cmd, &space, &addr, err);
	if (r < 0)
		return r;
	if (!d || d->type != API_FIELD_STRING)
		return api_error(err, -EINVAL,
				 "field 'data' (the bytes as a string of hex digits, \"deadbeef\") "
				 "is required");
	r = api_hex_decode("field 'data'", d->str, &buf, &len, err);
	if (r < 0)
		return r;
	r = mm_mem_write(m, cpu, space, addr, buf, len, err);
	free(buf);
	if (r < 0)
		return r;
	api_text_memory(out, addr, len, space, NULL);
	return text_result(out, err);
}

static int op_invlpg(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		     struct api_text *out, bool *changed, struct mm_error *err)
{
	uint64_t va;
	int r = addr_field(cmd, "va", UINT32_MAX, &va, err);

	if (r < 0)
		return r;
	r = mm_invlpg(m, cpu, (uint32_t)va, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"cpu\":");
	api_text_int(out, cpu);
	api_text_puts(out, ",\"va\":");
	api_text_hex(out, va);
	api_text_puts(out, "}");
	return text_result(out, err);
}

static int op_flush_tlb(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *k = field(cmd, "keep_global");
	int r;

	if (k && k->type != API_FIELD_BOOL)
		return api_error(err, -EINVAL, "field 'keep_global' must be true or false");
	r = mm_flush_tlb(m, cpu, k && k->i, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"cpu\":");
	api_text_int(out, cpu);
	api_text_puts(out, k && k->i ? ",\"keep_global\":true}" : ",\"keep_global\":false}");
	return text_result(out, err);
}

/* ---- snapshots ------------------------------------------------------------------------- */

/*
 * Restore a snapshot in place: the machine becomes the one saved in snapshot "snapshot"
 * (the daemon's store, through @env). The old machine is left as it was until the caller
 * swaps the new one in; a refused restore changes nothing.
 */
static int op_snapshot_restore(struct mm_machine *m, const struct api_exec_env *env,
			       const struct api_cmd *cmd, struct api_text *out,
			       struct api_command_outcome *oc, struct mm_error *err)
{
	struct api_snapshot_ref ref = {0};
	struct mm_machine *nm = NULL;
	json_int_t id;
	int r;

	r = int_field(cmd, "snapshot", true, 0, 1, INT64_MAX, &id, err);
	if (r < 0)
		return r;
	if (!env || !env->snapshot_load)
		return api_error(err, -EINVAL, "snapshots are not available here (no store)");
	r = env->snapshot_load(env->data, (int64_t)id, m, &nm, &ref, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"snapshot\":");
	api_text_int(out, ref.id);
	api_text_puts(out, ",\"machine\":");
	api_text_str(out, ref.machine);
	api_text_puts(out, ",\"seq\":");
	api_text_int(out, ref.seq);
	api_text_puts(out, ",\"state_hash\":");
	api_text_str(out, ref.state_hash);
	api_text_puts(out, "}");
	if (out->oom) {
		mm_machine_destroy(nm);
		return api_error(err, -ENOMEM, "out of memory writing the result");
	}
	oc->replace = nm;
	return 0;
}

/* ---- the table ------------------------------------------------------------------------- */

static const char *const set_sysctl_fields[] = {"name", "value", NULL};
static const char *const alloc_pages_fields[] = {"gfp", "order", NULL};
static const char *const free_pages_fields[] = {"pfn", "order", NULL};
static const char *const pfn_fields[] = {"pfn", NULL};
static const char *const boot_continue_fields[] = {"until", NULL};
static const char *const memory_read_fields[] = {"addr", "len", "space", NULL};
static const char *const memory_write_fields[] = {"addr", "data", "space", NULL};
static const char *const invlpg_fields[] = {"va", NULL};
static const char *const flush_tlb_fields[] = {"keep_global", NULL};
static const char *const snapshot_restore_fields[] = {"snapshot", NULL};

static const struct api_command_op command_ops[] = {
	{"alloc_pages", alloc_pages_fields, op_alloc_pages},
	{"boot_continue", boot_continue_fields, op_boot_continue},
	{"flush_tlb", flush_tlb_fields, op_flush_tlb},
	{"free_pages", free_pages_fields, op_free_pages},
	{"get_page", pfn_fields, op_get_page},
	{"invlpg", invlpg_fields, op_invlpg},
	{"memory_read", memory_read_fields, op_memory_read},
	{"memory_write", memory_write_fields, op_memory_write},
	{"put_page", pfn_fields, op_put_page},
	{"set_sysctl", set_sysctl_fields, op_set_sysctl},
	{"snapshot_restore", snapshot_restore_fields, NULL, op_snapshot_restore},
};

const char *api_command_op(const json_t *cmd)
{
	const json_t *op = json_object_get(cmd, "op");

	return json_is_string(op) ? json_string_value(op) : NULL;
}

static bool key_is(const struct api_cmd_field *f, const char *key)
{
	return !strncmp(f->key, key, f->key_len) && key[f->key_len] == '\0';
}

static bool field_accepted(const struct api_command_op *op, const struct api_cmd_field *f)
{
	if (key_is(f, "op") || key_is(f, "cpu"))
		return true;
	for (const char *const *k = op->fields; *k; k++)
		if (key_is(f, *k))
			return true;
	return false;
}

void api_text_error(struct api_text *t, int code, const char *detail)
{
	const struct api_problem_type *pt = api_problem_lookup(code);

	api_text_puts(t, "{\"error\":{\"type\":\"" API_PROBLEM_BASE);
	api_text_puts(t, pt->slug);
	api_text_puts(t, "\",\"status\":");
	api_text_int(t, pt->status);
	api_text_puts(t, ",\"detail\":");
	api_text_str(t, detail && *detail ? detail : pt->title);
	api_text_puts(t, "}}");
}

int api_command_run(struct mm_machine *m, const struct api_cmd *cmd, struct api_text *out,
		    struct api_command_outcome *ret, struct mm_error *err)
{
	return api_command_run_env(m, NULL, cmd, out, ret, err);
}

int api_command_run_env(struct mm_machine *m, const struct api_exec_env *env,
			const struct api_cmd *cmd, struct api_text *out,
			struct api_command_outcome *ret, struct mm_error *err)
{
	const struct api_cmd_field *jop = field(cmd, "op"), *cpu = field(cmd, "cpu");
	const struct api_command_op *op = NULL;
	unsigned int ncpus = mm_machine_config(m)->cpus;
	struct api_command_outcome dummy;
	size_t mark = out->len;
	bool changed = false;
	int r;

	if (!ret)
		ret = &dummy;
	*ret = (struct api_command_outcome){0};
	if (!jop || jop->type != API_FIELD_STRING)
		return api_error(err, -EINVAL, "field 'op' (a string) is required");
	for (size_t i = 0; i < sizeof(command_ops) / sizeof(command_ops[0]); i++)
		if (!strcmp(command_ops[i].op, jop->str))
			op = &command_ops[i];
	if (!op)
		return api_error(err, -EINVAL, "unknown op '%.64s'", jop->str);
	ret->op = op->op;
	for (unsigned int i = 0; i < cmd->n; i++)
		if (!field_accepted(op, &cmd->f[i]))
			return api_error(err, -EINVAL, "unknown field '%.64s' for op '%s'",
					 cmd->f[i].key, op->op);
	if (cpu && cpu->type != API_FIELD_INT)
		return api_error(err, -EINVAL, "field 'cpu' must be an integer");
	if (cpu && (cpu->i < 0 || cpu->i >= ncpus))
		return api_error(err, -EINVAL, "field 'cpu' must be 0..%u on this machine",
				 ncpus - 1);
	if (op->run_env)
		r = op->run_env(m, env, cmd, out, ret, err);
	else
		r = op->run(m, cmd, cpu ? (unsigned int)cpu->i : 0, out, &changed, err);
	if (r < 0) {
		/* nothing of a failed command stays in the text but its error, when the
		 * machine changed before it failed */
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		if (err && err->msg[0] == '\0')
			api_error(err, r, "%s failed (%d)", op->op, r);
		if (changed || r == -EFAULT) {
			api_text_error(out, r, err ? err->msg : NULL);
			ret->journal = !out->oom;
		}
		return r;
	}
	ret->journal = true;
	return 0;
}

/* ---- views ----------------------------------------------------------------------------- */

static void view_add(struct api_cmd *view, const char *key, const json_t *v)
{
	struct api_cmd_field *f = &view->f[view->n++];

	*f = (struct api_cmd_field){.key = key, .key_len = strlen(key), .json = v};
	if (json_is_string(v)) {
		f->type = API_FIELD_STRING;
		f->str = json_string_value(v);
	} else if (json_is_integer(v)) {
		f->type = API_FIELD_INT;
		f->i = json_integer_value(v);
	} else if (json_is_boolean(v)) {
		f->type = API_FIELD_BOOL;
		f->i = json_is_true(v);
	} else {
		f->type = API_FIELD_OTHER;
	}
}

int api_command_view(const json_t *cmd, struct api_cmd *view, struct mm_error *err)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(cmd))
		return api_error(err, -EINVAL, "a command must be a JSON object");
	view->n = 0;
	if ((v = json_object_get(cmd, "op")))
		view_add(view, "op", v);
	json_object_foreach((json_t *)cmd, key, v) {
		if (view->n == API_CMD_FIELDS)
			break;
		if (strcmp(key, "op"))
			view_add(view, key, v);
	}
	return 0;
}

static size_t scan_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* A string of printable ASCII without escapes at t[i] == '"'; NUL-terminates it. */
static size_t scan_str(char *t, size_t len, size_t i, const char **ret, size_t *ret_len)
{
	size_t start = ++i;

	for (; i < len && t[i] != '"'; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f || t[i] == '\\')
			return 0;
	if (i >= len)
		return 0;
	t[i] = '\0';
	*ret = t + start;
	*ret_len = i - start;
	return i + 1;
}

/* The end of the object whose '}' is at t[i]: all of @t, or where the caller continues. */
static int scan_end(const char *t, size_t len, size_t i, size_t *ret_end)
{
	if (ret_end) {
		*ret_end = i + 1;
		return 0;
	}
	return scan_ws(t, len, i + 1) == len ? 0 : -EINVAL;
}

int api_command_scan(char *t, size_t len, struct api_cmd *view, size_t *ret_end)
{
	size_t i = scan_ws(t, len, 0);

	view->n = 0;
	if (i >= len || t[i] != '{')
		return -EINVAL;
	i = scan_ws(t, len, i + 1);
	if (i < len && t[i] == '}')
		return scan_end(t, len, i, ret_end);
	for (;;) {
		struct api_cmd_field *f;

		if (view->n == API_CMD_FIELDS || i >= len || t[i] != '"')
			return -EINVAL;
		f = &view->f[view->n];
		*f = (struct api_cmd_field){0};
		i = scan_str(t, len, i, &f->key, &f->key_len);
		if (!i)
			return -EINVAL;
		for (unsigned int k = 0; k < view->n; k++)
			if (view->f[k].key_len == f->key_len &&
			    !memcmp(view->f[k].key, f->key, f->key_len))
				return -EINVAL; /* a duplicate: Jansson refuses it (400) */
		i = scan_ws(t, len, i);
		if (i >= len || t[i] != ':')
			return -EINVAL;
		i = scan_ws(t, len, i + 1);
		if (i < len && t[i] == '"') {
			size_t n;

			f->type = API_FIELD_STRING;
			i = scan_str(t, len, i, &f->str, &n);
			if (!i)
				return -EINVAL;
		} else if (i < len && (t[i] == 't' || t[i] == 'f')) {
			const char *lit = t[i] == 't' ? "true" : "false";
			size_t n = strlen(lit);

			if (len - i < n || memcmp(t + i, lit, n))
				return -EINVAL;
			f->type = API_FIELD_BOOL;
			f->i = t[i] == 't';
			i += n;
		} else {
			bool neg = i < len && t[i] == '-';
			size_t start = neg ? ++i : i;
			json_int_t x = 0;

			/* JSON integers: no leading zeros, no '+'; 18 digits never overflow */
			for (; i < len && t[i] >= '0' && t[i] <= '9'; i++)
				x = x * 10 + (t[i] - '0');
			if (i == start || i - start > 18 || (t[start] == '0' && i - start > 1))
				return -EINVAL;
			if (i < len && (t[i] == '.' || t[i] == 'e' || t[i] == 'E'))
				return -EINVAL;
			f->type = API_FIELD_INT;
			f->i = neg ? -x : x;
		}
		view->n++;
		i = scan_ws(t, len, i);
		if (i < len && t[i] == ',') {
			i = scan_ws(t, len, i + 1);
			continue;
		}
		if (i < len && t[i] == '}')
			return scan_end(t, len, i, ret_end);
		return -EINVAL;
	}
}

/* ---- entry points ---------------------------------------------------------------------- */

int api_command_exec(struct mm_machine *m, const json_t *cmd, json_t **ret_result,
		     struct mm_error *err)
{
	struct api_text out = {0};
	struct api_cmd view;
	json_t *result;
	int r;

	r = api_command_view(cmd, &view, err);
	if (r < 0)
		return r;
	r = api_command_run(m, &view, &out, NULL, err);
	if (r < 0) {
		api_text_free(&out); /* a journaled failure's error text too */
		return r;
	}
	result = json_loadb(out.data, out.len, JSON_DECODE_ANY, NULL);
	api_text_free(&out);
	if (!result)
		return api_error(err, -ENOMEM, "out of memory reading the result");
	*ret_result = result;
	return 0;
}

int api_command_exec_text(struct mm_machine *m, const char *text, size_t len, struct api_text *out,
			  bool *ret_journal, struct mm_error *err)
{
	struct api_command_outcome oc = {0};
	int r = api_command_exec_text_env(m, NULL, text, len, out, &oc, err);

	if (ret_journal)
		*ret_journal = oc.journal;
	return r;
}

int api_command_exec_text_env(struct mm_machine *m, const struct api_exec_env *env,
			      const char *text, size_t len, struct api_text *out,
			      struct api_command_outcome *ret, struct mm_error *err)
{
	struct api_command_outcome oc = {0};
	char stack[256], *copy = len < sizeof(stack) ? stack : malloc(len + 1);
	struct api_cmd view;
	json_error_t jerr;
	json_t *cmd = NULL;
	int r;

	if (!copy)
		return api_error(err, -ENOMEM, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (api_command_scan(copy, len, &view, NULL) < 0) {
		cmd = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		r = cmd ? api_command_view(cmd, &view, err)
			: api_error(err, -EINVAL, "the command is not JSON: %s", jerr.text);
		if (r < 0)
			goto out;
	}
	r = api_command_run_env(m, env, &view, out, &oc, err);
out:
	if (ret)
		*ret = oc;
	else
		mm_machine_destroy(oc.replace); /* only without an environment: never set */
	json_decref(cmd);
	if (copy != stack)
		free(copy);
	return r;
}
