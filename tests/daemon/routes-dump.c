/* SPDX-License-Identifier: MIT */
/*
 * routes-dump.c - the route table mm32d serves (api/'s rows and the daemon's) and the
 * executor's op table, as JSON on stdout, for tests/daemon/test_routes_openapi.py, which holds
 * them equal to openapi.yaml both ways.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "commands.h"
#include "router.h"
#include "routes.h"

static const char *method_name(unsigned int m)
{
	switch (m) {
	case API_GET:
		return "get";
	case API_POST:
		return "post";
	case API_PUT:
		return "put";
	case API_DELETE:
		return "delete";
	}
	return "?";
}

static const char *from_name(enum api_from f)
{
	switch (f) {
	case API_FROM_BODY:
		return "body";
	case API_FROM_PATH:
	case API_FROM_PATH_ID:
		return "path";
	case API_FROM_QUERY:
		return "query";
	}
	return "?";
}

static void add_routes(json_t *arr, const struct api_route *r, size_t n, const char *owner)
{
	for (size_t i = 0; i < n; i++) {
		json_t *args = json_object();

		for (const struct api_route_arg *a = r[i].args; a && a->name; a++)
			json_object_set_new(args, a->name, json_string(from_name(a->from)));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:b}", "path",
						     r[i].pattern, "method",
						     method_name(r[i].method), "owner", owner, "op",
						     r[i].op, "args", args, "wait", r[i].wait));
	}
}

int main(void)
{
	json_t *routes = json_array(), *ops = json_object(), *doc;
	const struct api_command_op *op;
	const struct api_route *r;
	size_t n;

	r = api_routes(&n);
	add_routes(routes, r, n, "api");
	r = daemon_routes(&n);
	add_routes(routes, r, n, "daemon");
	op = api_command_ops(&n);
	for (size_t i = 0; i < n; i++) {
		json_t *fields = json_object();

		for (const struct api_op_arg *a = op[i].args; a->name; a++)
			json_object_set_new(fields, a->name,
					    json_pack("{s:b}", "required", a->required));
		json_object_set_new(ops, op[i].op, fields);
	}
	doc = json_pack("{s:o, s:o}", "routes", routes, "ops", ops);
	json_dumpf(doc, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(doc);
	return 0;
}
