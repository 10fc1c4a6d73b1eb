/* SPDX-License-Identifier: MIT */
/*
 * test-settings.c - the configuration: defaults, the ini file, the command line over it,
 * tokens and their files, the access rule, what a reload may change.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings.h"

static char dir[] = "/tmp/mm32-settings-XXXXXX";
static char path[256], tokpath[256];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mm32d.conf", dir);
	snprintf(tokpath, sizeof(tokpath), "%s/tokens", dir);
}

static void teardown(void)
{
	unlink(path);
	unlink(tokpath);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void write_file(const char *p, mode_t mode, const char *text)
{
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
}

/* Load with the file @file ("" for none) and @n options key, value, ... */
static int load(const char *file, struct settings *c, struct mm_error *err, size_t n, ...)
{
	struct settings_args a = {.path = file};
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		a.opt[i].key = va_arg(ap, const char *);
		a.opt[i].value = va_arg(ap, const char *);
	}
	va_end(ap);
	a.n = n;
	memset(err, 0, sizeof(*err));
	return settings_load(&a, c, err);
}

START_TEST(defaults)
{
	struct settings c;
	struct mm_error err;

	ck_assert_int_eq(load("", &c, &err, 0), 0);
	ck_assert_str_eq(c.listen, "127.0.0.1:8032");
	ck_assert_str_eq(c.unix_socket, "");
	ck_assert_uint_eq(c.unix_socket_mode, 0660);
	ck_assert_uint_eq(c.threads, 2);
	ck_assert_uint_eq(c.max_body, 1 << 20);
	ck_assert_uint_eq(c.max_connections, 256);
	ck_assert_uint_eq(c.max_client_connections, 64);
	ck_assert_uint_eq(c.max_machines, 1000);
	ck_assert_uint_eq(c.max_host_memory, 0);
	ck_assert_uint_eq(c.request_timeout, 30);
	ck_assert_uint_eq(c.rate_limit, 0);
	ck_assert_uint_eq(c.rate_burst, 100);
	ck_assert_uint_eq(c.shutdown_timeout, 20);
	ck_assert(!c.no_default_machine);
	ck_assert(!c.insecure);
	ck_assert_int_eq(c.level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(c.ntokens, 0);
	ck_assert_str_eq(c.file, "");
	settings_finish(&c);
}
END_TEST

START_TEST(file_then_command_line)
{
	struct settings c;
	struct mm_error err;

	write_file(path, 0640,
		   "; a comment\n# another\n[mm32d]\nlisten = 127.0.0.2:9000\nthreads=4\n"
		   "max-body = 64K\nmax-connections = 0\nrate-limit = 10 ; inline comment\n"
		   "max-client-connections = 4\nrequest-timeout = 0\n"
		   "rate-burst = 20\nno-default-machine = yes\nlog-level = warn\n"
		   "unix-socket = /run/x.sock\nunix-socket-mode = 0600\nshutdown-timeout = 3\n"
		   "token = abcdefghijklmnopqrstuvwxyz\n");
	ck_assert_int_eq(load(path, &c, &err, 3, "threads", "8", "log-level", "debug",
			      "no-default-machine", "false"),
			 0);
	ck_assert_str_eq(c.file, path);
	ck_assert_str_eq(c.listen, "127.0.0.2:9000");
	ck_assert_uint_eq(c.threads, 8); /* the command line wins */
	ck_assert_int_eq(c.level, LOG_LEVEL_DEBUG);
	ck_assert(!c.no_default_machine);
	ck_assert_uint_eq(c.max_body, 64 << 10);
	ck_assert_uint_eq(c.max_connections, 0);
	ck_assert_uint_eq(c.max_client_connections, 4);
	ck_assert_uint_eq(c.request_timeout, 0);
	ck_assert_uint_eq(c.rate_limit, 10);
	ck_assert_uint_eq(c.rate_burst, 20);
	ck_assert_str_eq(c.unix_socket, "/run/x.sock");
	ck_assert_uint_eq(c.unix_socket_mode, 0600);
	ck_assert_uint_eq(c.shutdown_timeout, 3);
	ck_assert_uint_eq(c.ntokens, 1);
	ck_assert_str_eq(c.tokens[0], "abcdefghijklmnopqrstuvwxyz");
	settings_finish(&c);
}
END_TEST

START_TEST(keys_before_any_section)
{
	struct settings c;
	struct mm_error err;

	write_file(path, 0644, "threads = 3\n");
	ck_assert_int_eq(load(path, &c, &err, 0), 0);
	ck_assert_uint_eq(c.threads, 3);
	settings_finish(&c);
}
END_TEST

/* _i: a bad file, and what the error must say */
static const struct {
	const char *text;
	const char *msg;
} bad_files[] = {
	{"[mm32d]\nthreads = 2\nnope = 1\n", ":3: unknown key 'nope'"},
	{"[other]\nthreads = 2\n", ":2: unknown section [other]"},
	{"threads = 0\n", ":1: threads: must be 1..256, not '0'"},
	{"threads = 2x\n", ":1: threads: must be 1..256"},
	{"max-body = 2G\n", ":1: max-body: must be 1..1G bytes"},
	{"listen = nowhere\n", ":1: listen: cannot use 'nowhere'"},
	{"listen = 127.0.0.1:70000\n", ":1: listen: cannot use"},
	{"insecure = maybe\n", ":1: insecure: 'maybe' is not true or false"},
	{"log-level = loud\n", ":1: log-level: must be error, warn, info or debug"},
	{"unix-socket = relative.sock\n", ":1: unix-socket: 'relative.sock' is not an absolute"},
	{"unix-socket-mode = 0999\n", ":1: unix-socket-mode: '0999' is not an octal mode"},
	{"just words\n", ":1: not a 'key = value' line"},
	{"token = short\n", ":1: token: a token must be 16 to 256 characters"},
	{"token = has space in it but long\n", ":1: token: a token must be"},
	{"token = abcdefghijklmnop=q\n", ":1: token: a token must be"},
};

START_TEST(bad_file)
{
	struct settings c = {0};
	struct mm_error err;

	write_file(path, 0640, bad_files[_i].text);
	ck_assert_int_lt(load(path, &c, &err, 0), 0);
	ck_assert_msg(strstr(err.msg, bad_files[_i].msg), "'%s' does not say '%s'", err.msg,
		      bad_files[_i].msg);
	ck_assert_msg(strstr(err.msg, path), "'%s' does not name the file", err.msg);
}
END_TEST

START_TEST(bad_option)
{
	struct settings c = {0};
	struct mm_error err;

	ck_assert_int_eq(load("", &c, &err, 1, "rate-limit", "-1"), -EINVAL);
	ck_assert_str_eq(err.msg, "--rate-limit: must be 0..1000000, not '-1'");
	ck_assert_int_eq(load("", &c, &err, 1, "listen", "127.0.0.1"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "--listen: cannot use '127.0.0.1'"));
}
END_TEST

START_TEST(missing_files)
{
	struct settings c = {0};
	struct mm_error err;

	/* a file named on the command line must exist */
	ck_assert_int_eq(load(path, &c, &err, 0), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot read the configuration file"));
	ck_assert_int_eq(load("", &c, &err, 1, "token-file", tokpath), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot read the token file"));
}
END_TEST

START_TEST(token_file)
{
	struct settings c;
	struct mm_error err;

	write_file(tokpath, 0600,
		   "# tokens\n\n  0123456789abcdef0123  \nABCDEFGHIJKLMNOPQRSTUVWXYZ+/==\r\n");
	write_file(path, 0640, "token = zyxwvutsrqponmlkjihg\n");
	ck_assert_int_eq(load(path, &c, &err, 1, "token-file", tokpath), 0);
	ck_assert_uint_eq(c.ntokens, 3);
	ck_assert_str_eq(c.tokens[0], "zyxwvutsrqponmlkjihg");
	ck_assert_str_eq(c.tokens[1], "0123456789abcdef0123");
	ck_assert_str_eq(c.tokens[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZ+/==");
	settings_finish(&c);

	write_file(tokpath, 0600, "0123456789abcdef0123\nbad token\n");
	ck_assert_int_eq(load("", &c, &err, 1, "token-file", tokpath), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "tokens:2: a token must be"));
}
END_TEST

START_TEST(tokens_readable_by_all_are_refused)
{
	struct settings c;
	struct mm_error err;

	write_file(tokpath, 0644, "0123456789abcdef0123\n");
	ck_assert_int_eq(load("", &c, &err, 1, "token-file", tokpath), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "may be read by every user"));
	write_file(path, 0644, "token = 0123456789abcdef0123\n");
	ck_assert_int_eq(load(path, &c, &err, 0), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "holds tokens but every user may read it"));
	/* a readable file without tokens is fine */
	write_file(path, 0644, "threads = 2\n");
	ck_assert_int_eq(load(path, &c, &err, 0), 0);
	settings_finish(&c);
}
END_TEST

START_TEST(access_rule)
{
	struct settings c;
	struct mm_error err;

	ck_assert_int_eq(load("", &c, &err, 0), 0);
	ck_assert_int_eq(settings_check_access(&c, true, &err), 0);
	ck_assert_int_eq(settings_check_access(&c, false, &err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "without bearer tokens"));
	c.insecure = true;
	ck_assert_int_eq(settings_check_access(&c, false, &err), 0);
	settings_finish(&c);

	write_file(tokpath, 0600, "0123456789abcdef0123\n");
	ck_assert_int_eq(load("", &c, &err, 1, "token-file", tokpath), 0);
	ck_assert_int_eq(settings_check_access(&c, false, &err), 0);
	settings_finish(&c);
}
END_TEST

static const struct {
	const char *listen;
	bool ok, loopback;
} addrs[] = {
	{"127.0.0.1:8032", true, true},	     {"127.9.8.7:1", true, true},
	{"[::1]:8032", true, true},	     {"[::ffff:127.0.0.1]:80", true, true},
	{"localhost:8032", true, true},	     {"0.0.0.0:8032", true, false},
	{"10.1.2.3:8032", true, false},	     {"[::]:8032", true, false},
	{"[2001:db8::1]:8032", true, false}, {"127.0.0.1", false, false},
	{"127.0.0.1:", false, false},	     {"127.0.0.1:65536", false, false},
	{"[::1:8032", false, false},	     {":8032", false, false},
	{"127.0.0.1:80a", false, false},     {"[::ffff:10.0.0.1]:80", true, false},
};

START_TEST(listen_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int r = settings_parse_listen(addrs[_i].listen, &ss, &len);

	ck_assert_msg((r == 0) == addrs[_i].ok, "%s: %d", addrs[_i].listen, r);
	if (r == 0)
		ck_assert_msg(settings_addr_is_loopback((struct sockaddr *)&ss) ==
				      addrs[_i].loopback,
			      "%s", addrs[_i].listen);
	/* a v4-mapped address is the IPv4 one it maps, which an IPv4 socket can bind */
	if (r == 0 && strstr(addrs[_i].listen, "::ffff:127.0.0.1")) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		ck_assert_int_eq(ss.ss_family, AF_INET);
		ck_assert_uint_eq(len, sizeof(*in));
		ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), 0x7f000001);
		ck_assert_uint_eq(ntohs(in->sin_port), 80);
	}
}
END_TEST

START_TEST(reload_rules)
{
	static const char *const reloadable[] = {
		"log-level",	   "max-body",	 "max-connections", "max-client-connections",
		"request-timeout", "rate-limit", "rate-burst",	    "shutdown-timeout",
		"token",	   "token-file"};
	static const char *const fixed[] = {"listen",	"unix-socket", "unix-socket-mode",
					    "db",	"threads",     "no-default-machine",
					    "insecure", "no-such-key"};
	struct settings a, b;
	struct mm_error err;
	char buf[256];

	for (size_t i = 0; i < sizeof(reloadable) / sizeof(*reloadable); i++)
		ck_assert_msg(settings_reloadable(reloadable[i]), "%s", reloadable[i]);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		ck_assert_msg(!settings_reloadable(fixed[i]), "%s", fixed[i]);

	ck_assert_int_eq(load("", &a, &err, 0), 0);
	ck_assert_int_eq(
		load("", &b, &err, 3, "max-body", "10", "listen", "127.0.0.1:1", "threads", "9"),
		0);
	settings_restart_only_changes(&a, &b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "listen, threads");
	settings_restart_only_changes(&a, &a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	settings_finish(&a);
	settings_finish(&b);
}
END_TEST

START_TEST(command_line)
{
	char *argv[] = {"mm32d",	  "--listen",	    "127.0.0.1:1",
			"--config",	  "/x.conf",	    "--no-default-machine",
			"--check-config", "--rate-limit=5", NULL};
	struct settings_args a;

	ck_assert_int_eq(settings_args_parse(8, argv, &a), 0);
	ck_assert_str_eq(a.path, "/x.conf");
	ck_assert(a.check);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_str_eq(a.opt[0].key, "listen");
	ck_assert_str_eq(a.opt[0].value, "127.0.0.1:1");
	ck_assert_str_eq(a.opt[1].key, "no-default-machine");
	ck_assert_str_eq(a.opt[1].value, "true");
	ck_assert_str_eq(a.opt[2].key, "rate-limit");
	ck_assert_str_eq(a.opt[2].value, "5");
}
END_TEST

START_TEST(command_line_refuses)
{
	char *tok[] = {"mm32d", "--token", "0123456789abcdef0123", NULL};
	char *abbrev[] = {"mm32d", "--rate", "5", NULL};
	char *extra[] = {"mm32d", "stray", NULL};
	struct settings_args a;

	/* tokens are kept off the command line, where every user could read them; and getopt's
	 * abbreviations are refused, or --token would be taken for --token-file */
	ck_assert_int_eq(settings_args_parse(3, tok, &a), -EINVAL);
	ck_assert_int_eq(settings_args_parse(3, abbrev, &a), -EINVAL);
	ck_assert_int_eq(settings_args_parse(2, extra, &a), -EINVAL);
}
END_TEST

START_TEST(print_hides_tokens)
{
	struct settings c;
	struct mm_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	write_file(path, 0600, "token = s3cret-s3cret-s3cret\n");
	ck_assert_int_eq(load(path, &c, &err, 0), 0);
	f = open_memstream(&text, &len);
	settings_print(&c, f);
	fclose(f);
	ck_assert_ptr_null(strstr(text, "s3cret"));
	ck_assert_ptr_nonnull(strstr(text, "# tokens: 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nlisten = 127.0.0.1:8032\n"));
	free(text);
	settings_finish(&c);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */
Suite *test_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("settings");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, file_then_command_line);
	tcase_add_test(tc, keys_before_any_section);
	tcase_add_loop_test(tc, bad_file, 0, sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(tc, bad_option);
	tcase_add_test(tc, missing_files);
	tcase_add_test(tc, token_file);
	tcase_add_test(tc, tokens_readable_by_all_are_refused);
	tcase_add_test(tc, access_rule);
	tcase_add_loop_test(tc, listen_addresses, 0, sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_test(tc, reload_rules);
	tcase_add_test(tc, command_line);
	tcase_add_test(tc, command_line_refuses);
	tcase_add_test(tc, print_hides_tokens);
	suite_add_tcase(s, tc);
	return s;
}
