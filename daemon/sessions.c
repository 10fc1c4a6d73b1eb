/* SPDX-License-Identifier: MIT */
/*
 * sessions.c - recorded sessions: list, NDJSON export and import, replay (see sessions.h).
 *
 * Import and replay build the new machine privately (no lock, nobody sees it), with its
 * journal as batches in memory, and hand both to registry_adopt(), which stores the
 * machine, its journal and the snapshots it needs in one transaction: an import or replay
 * that fails, or a crash in the middle of one, leaves nothing behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "rebuild.h"
#include "txn.h"
#include "log.h"
#include "problem.h"
#include "sessions.h"
#include "snapshot.h"
#include "templates.h"

#define SESSION_FORMAT 1
#define NDJSON_BATCH_MAX API_BATCH_MAX

/* ---- list ---------------------------------------------------------------------------------- */

static json_t *json_or_null(const char *text)
{
	json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

	return j ? j : json_null();
}

static json_t *json_or_null_n(const char *text, size_t len)
{
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY, NULL);

	return j ? j : json_null();
}

static json_t *session_json(const struct store_machine *m)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I}", "id", m->id, "created_at",
			 m->created_at ? m->created_at : "", "config", json_or_null(m->config),
			 "origin", json_or_null(m->origin), "from_snapshot",
			 m->base_snapshot ? json_integer(m->base_snapshot) : json_null(),
			 "commands", (json_int_t)m->last_seq);
}

static int list_one(void *data, const struct store_machine *m)
{
	json_t *o = session_json(m);

	return o && !json_array_append_new(data, o) ? 0 : -ENOMEM;
}

int session_list(struct store *st, json_t **ret, struct mm_error *err)
{
	json_t *arr = json_array();
	int r;

	if (!arr)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_machines_foreach(st, NULL, list_one, arr, err);
	if (r < 0) {
		json_decref(arr);
		return r == -ENOMEM ? api_error(err, r, "out of memory") : r;
	}
	*ret = json_pack("{s:o}", "sessions", arr);
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

static int get_one(void *data, const struct store_machine *m)
{
	json_t **o = data;

	*o = session_json(m);
	return *o ? 0 : -ENOMEM;
}

static int snapshot_id(void *data, const struct store_snapshot *s)
{
	return json_array_append_new(data, json_pack("{s:I, s:I}", "id", (json_int_t)s->id, "seq",
						     (json_int_t)s->seq))
		       ? -ENOMEM
		       : 0;
}

int session_get(struct store *st, const char *id, json_t **ret, struct mm_error *err)
{
	json_t *o = NULL, *snaps = json_array();
	int r;

	if (!snaps)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_machines_foreach(st, id, get_one, &o, err);
	if (r == 0)
		r = store_snapshots_foreach(st, id, snapshot_id, snaps, err);
	if (r == 0 && json_object_set_new(o, "snapshots", snaps) == 0)
		snaps = NULL;
	else if (r == 0)
		r = -ENOMEM;
	json_decref(snaps);
	if (r < 0) {
		json_decref(o);
		if (r == -ENOENT)
			return api_error(err, r, "no session '%.64s'", id);
		return r == -ENOMEM ? api_error(err, r, "out of memory") : r;
	}
	*ret = o;
	return 0;
}

/* ---- export -------------------------------------------------------------------------------- */

static int export_header(void *data, const struct store_machine *m)
{
	struct api_text *t = data;

	api_text_puts(t, "{\"mm32_session\":1,\"machine\":");
	api_text_str(t, m->id);
	api_text_puts(t, ",\"created_at\":");
	api_text_str(t, m->created_at ? m->created_at : "");
	api_text_puts(t, ",\"config\":");
	api_text_puts(t, m->config && m->config[0] ? m->config : "{}");
	api_text_puts(t, ",\"from_snapshot\":");
	if (m->base_snapshot)
		api_text_int(t, m->base_snapshot);
	else
		api_text_puts(t, "null");
	api_text_puts(t, ",\"origin\":");
	api_text_puts(t, m->origin && m->origin[0] ? m->origin : "null");
	api_text_puts(t, "}\n");
	return 0;
}

/* A JSON value of the journal on one line: as stored, unless it spans lines. */
static void put_one_line(struct api_text *t, const struct api_json_span *sp)
{
	json_t *v;

	if (!memchr(sp->text, '\n', sp->len) && !memchr(sp->text, '\r', sp->len)) {
		api_text_put(t, sp->text, sp->len);
		return;
	}
	v = json_loadb(sp->text, sp->len, JSON_DECODE_ANY, NULL);
	if (v)
		api_text_json(t, v);
	else
		api_text_puts(t, "null");
	json_decref(v);
}

static int export_batch(void *data, int64_t first_seq, int64_t n, const char *time,
			const char *commands, size_t commands_len, const char *results,
			size_t results_len)
{
	struct api_text *t = data;
	struct api_json_span *c, *r;

	if (api_txn_split_batch(n, commands, commands_len, results, results_len, &c, &r) < 0)
		return -EIO;
	for (int64_t i = 0; i < n; i++) {
		api_text_puts(t, "{\"seq\":");
		api_text_int(t, first_seq + i);
		api_text_puts(t, ",\"time\":");
		api_text_str(t, time ? time : "");
		api_text_puts(t, ",\"command\":");
		put_one_line(t, &c[i]);
		api_text_puts(t, ",\"result\":");
		put_one_line(t, &r[i]);
		api_text_puts(t, "}\n");
	}
	free(c);
	free(r);
	return t->oom ? -ENOMEM : 0;
}

int session_export(struct store *st, const char *id, struct api_text *out, struct mm_error *err)
{
	int r = store_machines_foreach(st, id, export_header, out, err);

	int64_t base = 0, base_seq = 0;

	if (r == -ENOENT)
		return api_error(err, r, "no session '%.64s'", id);
	if (r == 0)
		r = store_journal_base(st, id, &base, &base_seq, err);
	/* a session is a whole journal from seq 1: a compacted one is not */
	if (r == 0 && base)
		return api_error(err, -EBUSY,
				 "the journal of '%s' is compacted behind snapshot %lld: its "
				 "entries up to seq %lld are gone, so it is no whole session; "
				 "replay it (from that snapshot), or clone the snapshot",
				 id, (long long)base, (long long)base_seq);
	if (r == 0)
		r = store_journal_foreach(st, id, 0, export_batch, out, err);
	if (r == -EIO && !err->msg[0])
		return api_error(err, r, "the journal of '%s' is corrupt", id);
	if (r == -ENOMEM || out->oom)
		return api_error(err, -ENOMEM, "out of memory writing the session");
	return r;
}

/* ---- running a recorded session -------------------------------------------------------------- */

/* A batch of the new machine's journal as it is built. */
struct out_batch {
	struct api_text cmds, res;
	int64_t first_seq, n;
	char time[32];
};

/* A session being run into a new machine (import or replay). */
struct run {
	struct store *st;
	struct mm_machine *m; /* the new machine: rn->t.m while an import runs */
	struct api_txn t;     /* an import's */
	struct api_exec_env env;
	int64_t *uses; /* the snapshots its journal restores */
	size_t nuses, capuses;
	bool verify;
	/* an import's bounds: max-session-commands (0: none), and the host memory the
	 * configuration may cost before it is booted (-EXFULL from @fits: refused) */
	unsigned int max_commands;
	int (*fits)(void *data, uint64_t cost, struct mm_error *err);
	void *fits_data;
	/* the new journal */
	struct out_batch *b;
	size_t nb, capb;
	int64_t next_seq;
	/* what happened */
	int64_t replayed, divergences;
	json_t *first; /* the first divergence */
};

static int run_snapshot_load(void *data, int64_t id, const struct mm_machine *m,
			     struct mm_machine **ret, struct api_snapshot_ref *ref,
			     struct mm_error *err)
{
	struct run *rn = data;
	int r;

	if (rn->nuses == rn->capuses) {
		size_t cap = rn->capuses ? rn->capuses * 2 : 8;
		int64_t *u = realloc(rn->uses, cap * sizeof(*u));

		if (!u)
			return api_error(err, -ENOMEM, "out of memory");
		rn->uses = u;
		rn->capuses = cap;
	}
	r = snapshot_restore_load(rn->st, id, true, m, ret, ref, err);
	if (r == 0)
		rn->uses[rn->nuses++] = id;
	return r;
}

static void run_init(struct run *rn, struct store *st, bool verify)
{
	memset(rn, 0, sizeof(*rn));
	rn->st = st;
	rn->verify = verify;
	rn->next_seq = 1;
	rn->env = (struct api_exec_env){.snapshot_load = run_snapshot_load, .data = rn};
}

static void run_finish(struct run *rn)
{
	for (size_t i = 0; i < rn->nb; i++) {
		api_text_free(&rn->b[i].cmds);
		api_text_free(&rn->b[i].res);
	}
	free(rn->b);
	free(rn->uses);
	json_decref(rn->first);
	api_txn_finish(&rn->t);
	mm_machine_destroy(rn->m);
}

/* Start a new batch of the new journal, at @time. */
static struct out_batch *run_batch(struct run *rn, const char *time)
{
	struct out_batch *b;

	if (rn->nb == rn->capb) {
		size_t cap = rn->capb ? rn->capb * 2 : 16;
		struct out_batch *v = realloc(rn->b, cap * sizeof(*v));

		if (!v)
			return NULL;
		rn->b = v;
		rn->capb = cap;
	}
	b = &rn->b[rn->nb++];
	memset(b, 0, sizeof(*b));
	b->first_seq = rn->next_seq;
	snprintf(b->time, sizeof(b->time), "%s", time);
	return b;
}

/* Journal command @c with result @res in batch @b of the new journal. */
static void run_journal(struct run *rn, struct out_batch *b, const char *c, size_t clen,
			const char *res, size_t rlen)
{
	api_text_put(&b->cmds, b->n ? "," : "[", 1);
	api_text_put(&b->cmds, c, clen);
	api_text_put(&b->res, b->n ? "," : "[", 1);
	api_text_put(&b->res, res, rlen);
	b->n++;
	rn->next_seq++;
}

static void note_divergence(struct run *rn, int64_t seq, const char *c, size_t clen,
			    const char *want, size_t wlen, const char *got, size_t glen,
			    bool applied)
{
	rn->divergences++;
	if (rn->first)
		return;
	rn->first = json_pack("{s:I, s:o, s:o, s:o, s:b}", "seq", (json_int_t)seq, "command",
			      json_or_null_n(c, clen), "recorded", json_or_null_n(want, wlen),
			      "got", json_or_null_n(got, glen), "applied", applied);
}

/*
 * What a recorded command (seq @seq, recorded result @want) did in transaction @t: the step's
 * code @r, @st. Return: 1 when it changed the machine (its entry is st->cmd and st->result:
 * journal it), 0 when it failed and changed nothing (@err says why), < 0 when the host failed
 * (-ENOMEM).
 */
static int run_after(struct run *rn, struct api_txn *t, int64_t seq, const char *c, size_t clen,
		     const char *want, size_t wlen, int r, const struct api_txn_step *st,
		     const struct mm_error *err)
{
	if (r == -ENOMEM && !st->journal)
		return r;
	if (r < 0 && !st->journal) {
		if (rn->verify) {
			struct api_text e = {0};

			api_text_error(&e, r, err->msg);
			note_divergence(rn, seq, c, clen, want, wlen, e.data ? e.data : "", e.len,
					false);
			api_text_free(&e);
		}
		return 0;
	}
	rn->replayed++;
	if (rn->verify && !api_txn_same_result(st->result.text, st->result.len, want, wlen))
		note_divergence(rn, seq, c, clen, want, wlen, st->result.text, st->result.len,
				true);
	return t->results.oom || t->cmds.oom ? -ENOMEM : 1;
}

/* Hand the new machine to the registry; *@ret_id its id. */
static int run_adopt(struct run *rn, struct registry *reg, const char *name, const char *config,
		     int64_t base, const char *origin, char ret_id[API_NAME_MAX],
		     struct mm_error *err)
{
	struct store_batch *sb = calloc(rn->nb ? rn->nb : 1, sizeof(*sb));
	struct registry_new nw = {.name = name,
				  .m = rn->m,
				  .config = config,
				  .base_snapshot = base,
				  .origin = origin,
				  .batches = sb,
				  .nbatches = 0,
				  .uses = rn->uses,
				  .nuses = rn->nuses,
				  .next_seq = rn->next_seq};
	int r;

	if (!sb)
		return api_error(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < rn->nb; i++) {
		struct out_batch *b = &rn->b[i];

		if (!b->n)
			continue;
		api_text_put(&b->cmds, "]", 1);
		api_text_put(&b->res, "]", 1);
		if (b->cmds.oom || b->res.oom) {
			free(sb);
			return api_error(err, -ENOMEM, "out of memory");
		}
		sb[nw.nbatches++] = (struct store_batch){.first_seq = b->first_seq,
							 .n = b->n,
							 .time = b->time,
							 .commands = b->cmds.data,
							 .commands_len = b->cmds.len,
							 .results = b->res.data,
							 .results_len = b->res.len};
	}
	r = registry_adopt(reg, &nw, ret_id, err);
	free(sb);
	if (r == 0)
		rn->m = NULL; /* the registry's now */
	return r;
}

/* The outcome document shared by import and replay. */
static json_t *run_doc(struct run *rn, const char *id, const char *hash)
{
	return json_pack(
		"{s:s, s:I, s:I, s:b, s:I, s:O?, s:{s:s, s:s, s:I}}", "machine", id, "replayed",
		(json_int_t)rn->replayed, "seq", (json_int_t)(rn->next_seq - 1), "verified",
		rn->verify, "divergences", (json_int_t)rn->divergences, "first_divergence",
		rn->first ? rn->first : json_null(), "state_hash", "algorithm",
		SNAPSHOT_HASH_ALGORITHM, "hash", hash, "seq", (json_int_t)(rn->next_seq - 1));
}

/* ---- import -------------------------------------------------------------------------------- */

/* The next line of @body from *@pos: [*@ret, *@ret + *@ret_len), without its '\n' or '\r\n'.
 * false at the end. */
static bool next_line(const char *body, size_t len, size_t *pos, const char **ret, size_t *ret_len)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return false;
	nl = memchr(body + *pos, '\n', len - *pos);
	n = nl ? (size_t)(nl - (body + *pos)) : len - *pos;
	*ret = body + *pos;
	*ret_len = n && (*ret)[n - 1] == '\r' ? n - 1 : n;
	*pos += n + (nl ? 1 : 0);
	return true;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Members of @o other than @known (NULL-terminated): the first, else NULL. */
static const char *unknown_member(json_t *o, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const char *const *k;

		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k)
			return key;
	}
	return NULL;
}

/* Parse line @lineno: a JSON object (400 otherwise: not JSON; 422: not an object). */
static int parse_line(const char *s, size_t n, unsigned long lineno, json_t **ret,
		      struct mm_error *err)
{
	json_error_t jerr;
	json_t *o;

	if (blank(s, n))
		return api_error(err, -EBADMSG, "line %lu is empty", lineno);
	o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return api_error(err, -EBADMSG, "line %lu is not JSON: column %d: %s", lineno,
				 jerr.column, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return api_error(err, -EINVAL, "line %lu must be a JSON object", lineno);
	}
	*ret = o;
	return 0;
}

struct import_header {
	struct mm_config cfg;
	char *config; /* canonical machines.config text */
	int64_t from_snapshot;
	char machine[API_NAME_MAX];
};

/* Line 1: the session's header; boot its machine (or load its base snapshot) into @rn. */
static int import_header(struct run *rn, json_t *h, struct import_header *ih, struct mm_error *err)
{
	static const char *const known[] = {"mm32_session",  "machine", "created_at", "config",
					    "from_snapshot", "origin",	NULL};
	json_t *fmt = json_object_get(h, "mm32_session"), *cfg = json_object_get(h, "config"),
	       *from = json_object_get(h, "from_snapshot"), *mach = json_object_get(h, "machine");
	char name[API_NAME_MAX];
	const char *bad = unknown_member(h, known);
	struct mm_error e = {0};
	int r;

	if (bad)
		return api_error(err, -EINVAL,
				 "line 1: unknown member '%.64s' (known: mm32_session, machine, "
				 "created_at, config, from_snapshot, origin)",
				 bad);
	if (fmt && (!json_is_integer(fmt) || json_integer_value(fmt) != SESSION_FORMAT))
		return api_error(
			err, -EINVAL,
			"line 1: \"mm32_session\" must be %d (this mm32d's session format)",
			SESSION_FORMAT);
	if (!json_is_object(cfg))
		return api_error(err, -EINVAL,
				 "line 1: \"config\" (the machine's configuration, an object as "
				 "POST /v1/machines takes it) is required");
	if (from && !json_is_null(from) && (!json_is_integer(from) || json_integer_value(from) < 1))
		return api_error(err, -EINVAL,
				 "line 1: \"from_snapshot\" must be a snapshot id or null");
	if (mach && !json_is_string(mach))
		return api_error(err, -EINVAL, "line 1: \"machine\" must be a string");
	if (json_object_get(h, "created_at") && !json_is_string(json_object_get(h, "created_at")))
		return api_error(err, -EINVAL, "line 1: \"created_at\" must be a string");
	{
		json_t *o = json_object_get(h, "origin");

		if (o && !json_is_null(o) && !json_is_object(o))
			return api_error(err, -EINVAL,
					 "line 1: \"origin\" must be an object or null");
	}
	snprintf(ih->machine, sizeof(ih->machine), "%s", mach ? json_string_value(mach) : "");
	r = api_machine_spec_parse_stored(cfg, &ih->cfg, name, &e);
	if (r < 0)
		return api_error(err, -EINVAL, "line 1: config: %s", e.msg);
	ih->from_snapshot = json_is_integer(from) ? json_integer_value(from) : 0;
	if (ih->from_snapshot) {
		struct store_snapshot meta;
		json_t *sc;

		/* read, or rebuilt from its machine's journal when of the old format */
		r = machine_rebuild_snapshot(rn->st, ih->from_snapshot, NULL, &rn->m, &e);
		if (r == 0) {
			r = store_snapshot_get(rn->st, ih->from_snapshot, &meta, &e);
			if (r < 0) {
				mm_machine_destroy(rn->m);
				rn->m = NULL;
			}
		}
		if (r < 0)
			return api_error(err, r == -ENOMEM ? r : -EINVAL,
					 "line 1: from_snapshot %lld: %s",
					 (long long)ih->from_snapshot, e.msg);
		sc = json_loads(meta.config, 0, NULL);
		store_snapshot_finish(&meta);
		json_object_del(cfg, "name");
		if (!sc || !json_equal(sc, cfg)) {
			json_decref(sc);
			return api_error(err, -EINVAL,
					 "line 1: from_snapshot %lld is of a machine of another "
					 "configuration than \"config\"",
					 (long long)ih->from_snapshot);
		}
		json_decref(sc);
	} else {
		/* the caps first: nothing is built that would not fit */
		r = rn->fits ? rn->fits(rn->fits_data, mm_config_host_bytes(&ih->cfg), err) : 0;
		if (r < 0)
			return r;
		r = machine_boot(&ih->cfg, &rn->m, &e);
		if (r < 0)
			return api_error(err, r == -ENOMEM ? r : -EINVAL,
					 "line 1: the configuration cannot boot: %s", e.msg);
	}
	api_txn_init(&rn->t, rn->m, &rn->env);
	ih->config = snapshot_config_text(rn->m);
	return ih->config ? 0 : api_error(err, -ENOMEM, "out of memory");
}

/* A line of the journal: run its command, journal it with its recorded result. */
static int import_entry(struct run *rn, json_t *o, unsigned long lineno, struct out_batch **cur,
			struct mm_error *err)
{
	static const char *const known[] = {"seq", "time", "command", "result", NULL};
	json_t *seq = json_object_get(o, "seq"), *time = json_object_get(o, "time"),
	       *cmd = json_object_get(o, "command"), *res = json_object_get(o, "result");
	const char *bad = unknown_member(o, known), *t;
	char now[32], *ctext = NULL, *rtext = NULL;
	struct mm_error e = {0};
	int r;

	if (bad)
		return api_error(err, -EINVAL,
				 "line %lu: unknown member '%.64s' (known: seq, time, command, "
				 "result)",
				 lineno, bad);
	if (!json_is_integer(seq) || json_integer_value(seq) != rn->next_seq)
		return api_error(err, -EINVAL,
				 "line %lu: \"seq\" must be %lld (the entries count "
				 "1, 2, 3, ... in order)",
				 lineno, (long long)rn->next_seq);
	if (time && !json_is_string(time))
		return api_error(err, -EINVAL, "line %lu: \"time\" must be a string", lineno);
	if (!json_is_object(cmd) || !json_is_string(json_object_get(cmd, "op")))
		return api_error(err, -EINVAL,
				 "line %lu: \"command\" must be a command object {\"op\", ...}",
				 lineno);
	if (!res)
		return api_error(err, -EINVAL, "line %lu: \"result\" is required", lineno);
	if (rn->max_commands && rn->next_seq > (int64_t)rn->max_commands)
		return api_error(err, -EXFULL,
				 "line %lu: the session holds more than %u commands, the "
				 "max-session-commands of this mm32d",
				 lineno, rn->max_commands);
	if (time)
		t = json_string_value(time);
	else {
		store_now(now);
		t = now;
	}
	ctext = json_dumps(cmd, JSON_COMPACT);
	rtext = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!ctext || !rtext) {
		r = api_error(err, -ENOMEM, "out of memory");
		goto out;
	}
	{
		struct api_txn_step st;
		int k;

		api_txn_reset(&rn->t);
		k = api_txn_step_text(&rn->t, ctext, strlen(ctext), &st, &e);
		rn->m = rn->t.m; /* a snapshot_restore replaced it */
		r = run_after(rn, &rn->t, json_integer_value(seq), ctext, strlen(ctext), rtext,
			      strlen(rtext), k, &st, &e);
		if (r == 1) {
			free(ctext);
			ctext = strndup(st.cmd.text, st.cmd.len); /* the canonical text */
			if (!ctext)
				r = -ENOMEM;
		}
	}
	if (r < 0) {
		r = api_error(err, r, "line %lu: %s", lineno, e.msg);
		goto out;
	}
	if (r == 0) {
		r = api_error(err, -EINVAL,
			      "line %lu (seq %lld): the command does not apply to the machine at "
			      "this point: %s",
			      lineno, (long long)json_integer_value(seq), e.msg);
		goto out;
	}
	/* one row per run of entries of the same time (one request), as they were */
	if (!*cur || (*cur)->n >= NDJSON_BATCH_MAX || strcmp((*cur)->time, t)) {
		*cur = run_batch(rn, t);
		if (!*cur) {
			r = api_error(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	run_journal(rn, *cur, ctext, strlen(ctext), rtext, strlen(rtext));
	r = 0;
out:
	free(ctext);
	free(rtext);
	return r;
}

/* Parse and run the session in @body into @rn (its new machine and journal), @ih its header.
 * Nothing is stored. */
static int import_run(struct run *rn, struct import_header *ih, const char *body, size_t len,
		      struct mm_error *err)
{
	struct out_batch *cur = NULL;
	unsigned long lineno = 0;
	const char *line;
	size_t pos = 0, n;
	int r;

	if (!body || !len)
		return api_error(err, -EINVAL,
				 "the body must be a session in NDJSON: a header line, then one "
				 "line per journal entry");
	while (next_line(body, len, &pos, &line, &n)) {
		json_t *o;

		lineno++;
		if (pos >= len && blank(line, n) && lineno > 1)
			break; /* the newline at the end */
		r = parse_line(line, n, lineno, &o, err);
		if (r < 0)
			return r;
		if (lineno == 1)
			r = import_header(rn, o, ih, err);
		else
			r = import_entry(rn, o, lineno, &cur, err);
		json_decref(o);
		if (r < 0)
			return r;
	}
	if (!rn->m)
		return api_error(err, -EINVAL,
				 "the body must start with the session's header line");
	return 0;
}

static int registry_fits_cb(void *data, uint64_t cost, struct mm_error *err)
{
	return registry_fits(data, cost, err);
}

int session_import(struct registry *reg, const char *name, const char *body, size_t len,
		   json_t **ret, struct mm_error *err)
{
	struct import_header ih = {0};
	char id[API_NAME_MAX], hash[STORE_HASH_HEX], origin[160];
	struct run rn;
	int r;

	run_init(&rn, registry_store(reg), true);
	rn.max_commands = registry_max_session_commands(reg);
	rn.fits = registry_fits_cb;
	rn.fits_data = reg;
	r = import_run(&rn, &ih, body, len, err);
	if (r < 0)
		goto out;
	r = snapshot_state_hash(rn.m, hash, err);
	if (r < 0)
		goto out;
	snprintf(origin, sizeof(origin), "{\"kind\":\"import\",\"from\":\"%s\"}", ih.machine);
	r = run_adopt(&rn, reg, name, ih.config, ih.from_snapshot, origin, id, err);
	if (r == -ENOENT) { /* a snapshot it needs was deleted meanwhile: still a bad session */
		err->code = -EINVAL;
		r = -EINVAL;
	}
	if (r < 0)
		goto out;
	*ret = run_doc(&rn, id, hash);
	if (*ret && json_object_set_new(*ret, "session", json_string(id)))
		r = api_error(err, -ENOMEM, "out of memory");
	else if (!*ret)
		r = api_error(err, -ENOMEM, "out of memory");
out:
	free(ih.config);
	run_finish(&rn);
	return r;
}

int session_import_check(struct store *st, const char *body, size_t len,
			 const struct session_import_limits *lim, char hash[STORE_HASH_HEX],
			 struct mm_error *err)
{
	struct import_header ih = {0};
	struct run rn;
	int r;

	run_init(&rn, st, true);
	rn.max_commands = lim->max_commands;
	rn.fits = lim->fits;
	rn.fits_data = lim->data;
	r = import_run(&rn, &ih, body, len, err);
	if (r == 0)
		r = snapshot_state_hash(rn.m, hash, err);
	free(ih.config);
	run_finish(&rn);
	return r;
}

/* ---- replay -------------------------------------------------------------------------------- */

struct replay {
	struct run *rn;
	struct out_batch *b;
	char now[32];
};

/* An entry machine_rebuild() ran: compare it, and journal it in the new machine's journal. */
static int replay_entry(void *data, int64_t seq, const struct api_json_span *cmd,
			const struct api_json_span *want, int r, const struct api_txn_step *st,
			struct api_txn *t, const struct mm_error *err)
{
	struct replay *rp = data;
	struct run *rn = rp->rn;
	int k = run_after(rn, t, seq, cmd->text, cmd->len, want->text, want->len, r, st, err);

	if (k <= 0)
		return k; /* it changed nothing: nothing to journal (a divergence) */
	if ((!rp->b || rp->b->n >= NDJSON_BATCH_MAX) && !(rp->b = run_batch(rn, rp->now)))
		return -ENOMEM;
	run_journal(rn, rp->b, st->cmd.text, st->cmd.len, st->result.text, st->result.len);
	return 0;
}

struct source {
	char *config, *created_at;
	int64_t base, last_seq;
};

static int source_one(void *data, const struct store_machine *m)
{
	struct source *s = data;

	s->config = strdup(m->config ? m->config : "");
	s->base = m->base_snapshot;
	s->last_seq = m->last_seq;
	return s->config ? 0 : -ENOMEM;
}

int session_replay(struct registry *reg, const char *id, const struct session_replay_req *req,
		   json_t **ret, struct mm_error *err)
{
	struct source src = {0};
	struct replay rp = {0};
	char newid[API_NAME_MAX], hash[STORE_HASH_HEX], origin[256];
	struct rebuild_source rs;
	struct rebuild rb = {0};
	int64_t until;
	struct run rn;
	int r;

	run_init(&rn, registry_store(reg), req->verify);
	rp.rn = &rn;
	store_now(rp.now);
	r = store_machines_foreach(rn.st, id, source_one, &src, err);
	if (r == -ENOENT)
		r = api_error(err, r, "no session '%.64s'", id);
	if (r < 0)
		goto out;
	until = req->until_seq < 0 ? src.last_seq : req->until_seq;
	if (until > src.last_seq) {
		r = api_error(err, -EINVAL,
			      "until_seq %lld is beyond the last entry of session '%s' (%lld)",
			      (long long)until, id, (long long)src.last_seq);
		goto out;
	}
	rs = (struct rebuild_source){.id = id, .config = src.config, .base_snapshot = src.base};
	r = machine_rebuild(rn.st, &rs, until, &rn.env, replay_entry, &rp, &rb, err);
	if (r == -ENOMEM && !err->msg[0])
		api_error(err, r, "out of memory");
	if (r < 0)
		goto out;
	rn.m = rb.m;
	r = snapshot_state_hash(rn.m, hash, err);
	if (r < 0)
		goto out;
	snprintf(origin, sizeof(origin),
		 "{\"kind\":\"replay\",\"session\":\"%s\",\"until_seq\":%lld}", id,
		 (long long)until);
	r = run_adopt(&rn, reg, req->name ? req->name : "", src.config, rb.from_snapshot, origin,
		      newid, err);
	if (r < 0)
		goto out;
	*ret = run_doc(&rn, newid, hash);
	if (!*ret ||
	    json_object_update_new(*ret, json_pack("{s:s, s:I, s:o}", "session", id, "until_seq",
						   (json_int_t)until, "from_snapshot",
						   rb.from_snapshot
							   ? json_pack("{s:I, s:I}", "id",
								       (json_int_t)rb.from_snapshot,
								       "seq", (json_int_t)rb.after)
							   : json_null())))
		r = api_error(err, -ENOMEM, "out of memory");
	if (r == 0)
		log_info("session %s replayed into machine %s: %lld command(s) after seq %lld, "
			 "%lld divergence(s)",
			 id, newid, (long long)rn.replayed, (long long)rb.after,
			 (long long)rn.divergences);
out:
	free(src.config);
	run_finish(&rn);
	return r;
}
