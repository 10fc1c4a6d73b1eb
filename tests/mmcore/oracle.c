/* oracle.c - parsers for the fixture files; see oracle.h. */
#include "oracle.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *oracle_root(void)
{
	const char *e = getenv("MM32_ORACLE_DIR");

	return e && *e ? e : ORACLE_DIR;
}

int oracle_dirs(char (*dirs)[512], int max)
{
	DIR *d = opendir(oracle_root());
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, "686-", 4))
			continue;
		snprintf(dirs[n++], 512, "%s/%s", oracle_root(), de->d_name);
	}
	closedir(d);
	return n;
}

char *oracle_read(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *after_ts(const char *line)
{
	if (line[0] == '[') {
		const char *e = strchr(line, ']');

		if (e && e[1] == ' ')
			return e + 2;
	}
	return line;
}

char *oracle_lines(const char *log, const char *prefix)
{
	size_t cap = strlen(log) + 1, len = 0, plen = strlen(prefix);
	char *out = malloc(cap);
	const char *p = log;

	out[0] = '\0';
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *t = after_ts(p);
		size_t tn = n - (size_t)(t - p);

		if (tn >= plen && !strncmp(t, prefix, plen)) {
			memcpy(out + len, t, tn);
			len += tn;
			out[len++] = '\n';
			out[len] = '\0';
		}
		p += n + (nl ? 1 : 0);
	}
	return out;
}

bool oracle_config(const char *dir, struct mm_config *cfg)
{
	char *info = oracle_read(dir, "boot_info.txt"), *cmd = oracle_read(dir, "cmdline");
	char *dmesg = oracle_read(dir, "dmesg"), *p;
	unsigned long long a, b;
	bool ok = info && cmd && dmesg;

	if (ok) {
		char mem[32] = "";
		unsigned int smp = 1;

		mm_config_init(cfg, strstr(info, "-686-pae") != NULL);
		p = strstr(info, "\nmemory: ");
		ok = p && sscanf(p, "\nmemory: %31s", mem) == 1 && !mm_parse_size(mem, &cfg->mem);
		p = strstr(info, "\nsmp: ");
		if (p && sscanf(p, "\nsmp: %u", &smp) == 1)
			cfg->cpus = smp;
		cmd[strcspn(cmd, "\n")] = '\0';
		snprintf(cfg->cmdline, sizeof(cfg->cmdline), "%s", cmd);
		cfg->initrd_size = 0;
		p = strstr(dmesg, "Allocated new RAMDISK: [mem ");
		if (p && sscanf(p, "Allocated new RAMDISK: [mem %llx-%llx]", &a, &b) == 2) {
			cfg->initrd_size = b - a + 1;
		} else if ((p = strstr(dmesg, "RAMDISK: [mem ")) &&
			   sscanf(p, "RAMDISK: [mem %llx-%llx]", &a, &b) == 2) {
			cfg->initrd_size = b - a + 1;
		}
	}
	free(info);
	free(cmd);
	free(dmesg);
	return ok;
}

static const char *zone_block(const char *zi, const char *zone, const char **end)
{
	char hdr[64];
	const char *p, *n;

	snprintf(hdr, sizeof(hdr), "Node 0, zone %8s", zone);
	p = strstr(zi, hdr);
	if (!p)
		return NULL;
	n = strstr(p + 1, "Node 0, zone");
	*end = n ? n : p + strlen(p);
	return p;
}

long oracle_zone_value(const char *zi, const char *zone, const char *key)
{
	const char *end, *p = zone_block(zi, zone, &end);
	size_t klen = strlen(key);

	if (!p)
		return -1;
	for (; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *q = p;

		while (*q == ' ')
			q++;
		if (!strncmp(q, key, klen) && (q[klen] == ' ' || q[klen] == ':'))
			return strtol(q + klen + 1 + strspn(q + klen + 1, " :"), NULL, 10);
	}
	return -1;
}

bool oracle_zone_protection(const char *zi, const char *zone, long prot[4])
{
	const char *end, *p = zone_block(zi, zone, &end);

	if (!p)
		return false;
	p = strstr(p, "protection: (");
	return p && p < end &&
	       sscanf(p, "protection: (%ld, %ld, %ld, %ld)", &prot[0], &prot[1], &prot[2],
		      &prot[3]) == 4;
}

long oracle_meminfo(const char *mi, const char *key)
{
	const char *p = mi;
	size_t klen = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}
