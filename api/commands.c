/* SPDX-License-Identifier: MIT */
/*
 * commands.c - the command table and the executor (see commands.h).
 *
 * Each op names the fields it accepts besides "op" and "cpu"; the executor rejects any
 * other field before the op runs, so an op's run() only checks types and ranges of its own
 * fields. run() must leave the machine unchanged when it fails (mmcore's own contract).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "problem.h"

struct api_command_op {
	const char *op;
	const char *const *fields; /* accepted besides "op" and "cpu"; NULL-terminated */
	int (*run)(struct mm_machine *m, const json_t *cmd, unsigned int cpu, json_t **ret,
		   struct mm_error *err);
};

/* ---- set_sysctl ------------------------------------------------------------------------ */

/* Write @v as /proc/sys/vm/@name would be written to: "8192", "256 32 0 0". */
static int sysctl_value_text(const char *name, const json_t *v, char *buf, size_t size,
			     struct mm_error *err)
{
	bool vector = !strcmp(name, "lowmem_reserve_ratio");
	size_t off = 0;
	const json_t *x;
	size_t i;

	if (!vector) {
		if (!json_is_integer(v))
			return api_error(err, -EINVAL, "field 'value' of vm.%s must be an integer",
					 name);
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (json_is_string(v)) {
		if (json_string_length(v) >= size)
			return api_error(err, -EINVAL, "field 'value' is too long");
		strcpy(buf, json_string_value(v));
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) != MM_NR_ZONES)
		return api_error(err, -EINVAL,
				 "field 'value' of vm.lowmem_reserve_ratio must be an array of %d "
				 "integers or a string like \"256 32 0 0\"",
				 MM_NR_ZONES);
	buf[0] = '\0';
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x))
			return api_error(err, -EINVAL, "field 'value[%zu]' must be an integer", i);
		off += (size_t)snprintf(buf + off, size - off, "%s%" JSON_INTEGER_FORMAT,
					i ? " " : "", json_integer_value(x));
		if (off >= size)
			return api_error(err, -EINVAL, "field 'value' is too long");
	}
	return 0;
}

static int op_set_sysctl(struct mm_machine *m, const json_t *cmd, unsigned int cpu, json_t **ret,
			 struct mm_error *err)
{
	const json_t *jname = json_object_get(cmd, "name"), *v = json_object_get(cmd, "value");
	const char *name;
	json_t *now;
	char text[256];
	int r;

	if (!jname || !json_is_string(jname))
		return api_error(err, -EINVAL, "field 'name' (a string) is required");
	name = json_string_value(jname);
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
	*ret = json_pack("{s:s, s:o}", "name", name, "value", now);
	if (!*ret)
		return api_error(err, -ENOMEM, "out of memory");
	return 0;
}

/* ---- the page allocator ---------------------------------------------------------------- */

/*
 * The integer field @name of @cmd: @def when absent (or -EINVAL when @required), else it
 * must be an integer in @min..@max.
 */
static int int_field(const json_t *cmd, const char *name, bool required, json_int_t def,
		     json_int_t min, json_int_t max, json_int_t *ret, struct mm_error *err)
{
	const json_t *v = json_object_get(cmd, name);
	json_int_t x;

	if (!v) {
		if (required)
			return api_error(err, -EINVAL, "field '%s' (an integer) is required", name);
		*ret = def;
		return 0;
	}
	if (!json_is_integer(v))
		return api_error(err, -EINVAL, "field '%s' must be an integer", name);
	x = json_integer_value(v);
	if (x < min || x > max)
		return api_error(err, -EINVAL,
				 "field '%s' must be %" JSON_INTEGER_FORMAT
				 "..%" JSON_INTEGER_FORMAT ", not %" JSON_INTEGER_FORMAT,
				 name, min, max, x);
	*ret = x;
	return 0;
}

static int order_field(const json_t *cmd, unsigned int *ret, struct mm_error *err)
{
	json_int_t order;
	int r = int_field(cmd, "order", false, 0, 0, MM_MAX_ORDER - 1, &order, err);

	if (r < 0)
		return r;
	*ret = (unsigned int)order;
	return 0;
}

static int pfn_field(const json_t *cmd, uint32_t *ret, struct mm_error *err)
{
	json_int_t pfn;
	int r = int_field(cmd, "pfn", true, 0, 0, UINT32_MAX, &pfn, err);

	if (r < 0)
		return r;
	*ret = (uint32_t)pfn;
	return 0;
}

static int op_alloc_pages(struct mm_machine *m, const json_t *cmd, unsigned int cpu, json_t **ret,
			  struct mm_error *err)
{
	const json_t *jgfp = json_object_get(cmd, "gfp");
	struct mm_page_alloc a;
	unsigned int order;
	mm_gfp_t gfp;
	int r;

	if (!jgfp || !json_is_string(jgfp))
		return api_error(err, -EINVAL,
				 "field 'gfp' (a string such as \"GFP_KERNEL|__GFP_ZERO\") is "
				 "required");
	r = order_field(cmd, &order, err);
	if (r < 0)
		return r;
	r = mm_gfp_parse(json_string_value(jgfp), &gfp, err);
	if (r < 0)
		return r;
	r = mm_alloc_pages(m, cpu, gfp, order, &a, err);
	if (r < 0)
		return r;
	*ret = api_page_alloc_to_json(&a);
	if (!*ret)
		return api_error(err, -ENOMEM, "out of memory");
	return 0;
}

static int op_free_pages(struct mm_machine *m, const json_t *cmd, unsigned int cpu, json_t **ret,
			 struct mm_error *err)
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
	*ret = json_object();
	if (!*ret || json_object_set_new(*ret, "pfn", json_integer(pfn)) ||
	    json_object_set_new(*ret, "order", json_integer(order)) ||
	    json_object_set_new(*ret, "freed", json_boolean(freed))) {
		json_decref(*ret);
		return api_error(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int op_get_page(struct mm_machine *m, const json_t *cmd, unsigned int cpu, json_t **ret,
		       struct mm_error *err)
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
	*ret = json_pack("{s:I, s:i}", "pfn", (json_int_t)pfn, "refcount", refcount);
	if (!*ret)
		return api_error(err, -ENOMEM, "out of memory");
	return 0;
}

static int op_put_page(struct mm_machine *m, const json_t *cmd, unsigned int cpu, json_t **ret,
		       struct mm_error *err)
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
	*ret = json_pack("{s:I, s:i, s:b}", "pfn", (json_int_t)pfn, "refcount", refcount, "freed",
			 freed);
	if (!*ret)
		return api_error(err, -ENOMEM, "out of memory");
	return 0;
}

/* ---- the table ------------------------------------------------------------------------- */

static const char *const set_sysctl_fields[] = {"name", "value", NULL};
static const char *const alloc_pages_fields[] = {"gfp", "order", NULL};
static const char *const free_pages_fields[] = {"pfn", "order", NULL};
static const char *const pfn_fields[] = {"pfn", NULL};

static const struct api_command_op command_ops[] = {
	{"alloc_pages", alloc_pages_fields, op_alloc_pages},
	{"free_pages", free_pages_fields, op_free_pages},
	{"get_page", pfn_fields, op_get_page},
	{"put_page", pfn_fields, op_put_page},
	{"set_sysctl", set_sysctl_fields, op_set_sysctl},
};

const char *api_command_op(const json_t *cmd)
{
	const json_t *op = json_object_get(cmd, "op");

	return json_is_string(op) ? json_string_value(op) : NULL;
}

static bool field_accepted(const struct api_command_op *op, const char *key)
{
	if (!strcmp(key, "op") || !strcmp(key, "cpu"))
		return true;
	for (const char *const *f = op->fields; *f; f++)
		if (!strcmp(*f, key))
			return true;
	return false;
}

int api_command_exec(struct mm_machine *m, const json_t *cmd, json_t **ret_result,
		     struct mm_error *err)
{
	const struct api_command_op *op = NULL;
	const json_t *cpu, *v;
	const char *name, *key;
	unsigned int ncpus = mm_machine_config(m)->cpus;
	json_t *result = NULL;
	int r;

	if (!json_is_object(cmd))
		return api_error(err, -EINVAL, "a command must be a JSON object");
	name = api_command_op(cmd);
	if (!name)
		return api_error(err, -EINVAL, "field 'op' (a string) is required");
	for (size_t i = 0; i < sizeof(command_ops) / sizeof(command_ops[0]); i++)
		if (!strcmp(command_ops[i].op, name))
			op = &command_ops[i];
	if (!op)
		return api_error(err, -EINVAL, "unknown op '%.64s'", name);
	json_object_foreach((json_t *)cmd, key, v) {
		if (!field_accepted(op, key))
			return api_error(err, -EINVAL, "unknown field '%.64s' for op '%s'", key,
					 op->op);
	}
	cpu = json_object_get(cmd, "cpu");
	if (cpu && !json_is_integer(cpu))
		return api_error(err, -EINVAL, "field 'cpu' must be an integer");
	if (cpu && (json_integer_value(cpu) < 0 || json_integer_value(cpu) >= ncpus))
		return api_error(err, -EINVAL, "field 'cpu' must be 0..%u on this machine",
				 ncpus - 1);
	r = op->run(m, cmd, cpu ? (unsigned int)json_integer_value(cpu) : 0, &result, err);
	if (r < 0)
		return r;
	*ret_result = result;
	return 0;
}
