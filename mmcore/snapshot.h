/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - the snapshot's sections: how a subsystem writes and reads its own state.
 *
 * Mirrors no kernel file (the kernel has no snapshot; hibernation images RAM, not
 * structures). A snapshot stream (snapshot.c) is a header and a sequence of sections:
 *
 *   "MM32SNAP" u32 format (MM_SNAPSHOT_VERSION)
 *   section*:  char tag[4]  u16 version  u16 0  u64 length  byte body[length]
 *   "END " 1 0 0
 *
 * all integers little-endian. Each subsystem owns one section and writes it beside the
 * struct it serializes (zone.c writes the zones, memblock.c memblock, ...), field by field
 * with the snap_put_*() calls below, never as a memcpy of a struct: the stream does not
 * depend on the build's struct layout, padding or pointer size, and two machines in the
 * same state write the same bytes (the state hash hashes them).
 *
 * Reading is the reverse, with the input treated as hostile: snap_get_*() never read past
 * the section's length (a short section is corrupt, not a crash), every count is bounded
 * with snap_get_count() before anything is allocated for it, every index and link is
 * checked before use, and a section's reader must consume exactly its body. After the first
 * error every snap_get_*() returns 0 and the error stays (check in->ret when convenient).
 *
 * Versions: a reader gets the version the section was written with (in->version). An
 * older version is a migration: read what it has, give the new fields their defaults. A
 * version newer than the build's, a tag the build does not know, or a section out of the
 * table's order is refused with a message that says so. A section the table marks
 * optional and the stream lacks (written before the section existed) is loaded with
 * in->version == 0: every field takes its default.
 *
 * Adding a section for a new mechanism (kmap state, vmalloc areas, slab caches):
 *   1. in the mechanism's file, beside its struct, write
 *        void kmap_snap_save(const struct mm_machine *m, struct snap_out *o);
 *        int kmap_snap_load(struct mm_machine *m, struct snap_in *in);
 *      version 0 in the loader means the snapshot was written before the mechanism
 *      existed: give the machine the state this build's boot would have given it (in->ver-
 *      sion 0 never reads); tests/data/snapshots/ checks exactly that, against a replay;
 *   2. declare them below and add a row to sections[] in snapshot.c, after the sections it
 *      depends on, with .optional = true so that older snapshots keep loading;
 *   3. a new field later: bump the row's version, write the field last, and read it only
 *      when in->version is new enough (else its default).
 * tests/mmcore/test-snapshot.c (every_field_in_a_section) compares every byte of struct
 * mm_machine before and after a restore: a field nobody serializes fails it; a new host
 * pointer, host context (struct mm_host *) or capacity (not state) is masked in its image()
 * there, by design, and nowhere else.
 * Never change what an existing version means: the snapshots in tests/data/snapshots/
 * must keep loading.
 */
#ifndef MM_SNAPSHOT_H
#define MM_SNAPSHOT_H

#include "types.h"

struct mm_machine;

/* A section being written: counted first, then written (the header holds its length). */
struct snap_out {
	mm_write_fn write; /* NULL while counting */
	void *ctx;
	uint64_t len;
	int ret;	    /* sticky: the first write failure */
	bool frames_shared; /* clone.c: mem_map and pgstate left out (the clone maps them) */
	size_t n;
	uint8_t buf[4096];
};

/* A section being read: at most @left more bytes, through a staging buffer. */
struct snap_in {
	mm_read_fn read;
	void *ctx;
	uint16_t version; /* as written; 0: the stream has no such section */
	char tag[5];
	uint64_t left; /* body bytes not yet pulled from the stream */
	int ret;       /* sticky: the first error, described in *err */
	struct mm_error *err;
	const struct mm_machine *share_src; /* clone.c: frames from this template's file */
	size_t pos, n;
	uint8_t *buf; /* 64 KiB */
};

void snap_put_bytes(struct snap_out *o, const void *p, size_t n);
void snap_put_u8(struct snap_out *o, uint8_t v);
void snap_put_u16(struct snap_out *o, uint16_t v);
void snap_put_u32(struct snap_out *o, uint32_t v);
void snap_put_u64(struct snap_out *o, uint64_t v);
static inline void snap_put_bool(struct snap_out *o, bool v)
{
	snap_put_u8(o, v);
}
static inline void snap_put_i32(struct snap_out *o, int32_t v)
{
	snap_put_u32(o, (uint32_t)v);
}
static inline void snap_put_i64(struct snap_out *o, int64_t v)
{
	snap_put_u64(o, (uint64_t)v);
}
/* Whether this is the counting pass: a writer of a large array may then add its size at
 * once (snap_put_skip()) instead of encoding every element. */
static inline bool snap_counting(const struct snap_out *o)
{
	return o->write == NULL;
}
static inline void snap_put_skip(struct snap_out *o, uint64_t n)
{
	o->len += n;
}
static inline void snap_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t snap_from_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
/* A NUL-terminated string: u32 length, then the bytes without the NUL. */
void snap_put_str(struct snap_out *o, const char *s);

int snap_get_bytes(struct snap_in *in, void *p, size_t n);
uint8_t snap_get_u8(struct snap_in *in);
uint16_t snap_get_u16(struct snap_in *in);
uint32_t snap_get_u32(struct snap_in *in);
uint64_t snap_get_u64(struct snap_in *in);
/* A bool must be 0 or 1. */
bool snap_get_bool(struct snap_in *in);
static inline int32_t snap_get_i32(struct snap_in *in)
{
	return (int32_t)snap_get_u32(in);
}
static inline int64_t snap_get_i64(struct snap_in *in)
{
	return (int64_t)snap_get_u64(in);
}
/* A string into @buf of @size bytes: refused (corrupt) when it does not fit with its NUL
 * or holds a NUL. */
int snap_get_str(struct snap_in *in, char *buf, size_t size);
/* A u32 count, refused (corrupt) above @max; @what names it in the message. */
uint32_t snap_get_count(struct snap_in *in, uint32_t max, const char *what);
/* Refuse the section as corrupt: -EBADMSG, "snapshot section 'TAG' is corrupt: ...". */
int snap_corrupt(struct snap_in *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Host allocation failure while reading: -ENOMEM. */
int snap_nomem(struct snap_in *in, const char *what);

/* clone.c: a stream that leaves the frames out (mem_map, pgstate: @frames_shared), and its
 * load, which maps them copy-on-write from @src's shared memory file (mm_machine_share()). */
int snapshot_save_stream(const struct mm_machine *m, mm_write_fn write, void *ctx,
			 bool frames_shared, struct mm_error *err);
int snapshot_load_stream(mm_read_fn read, void *ctx, const struct mm_machine *src,
			 struct mm_machine **ret, struct mm_error *err);

/* The sections, in stream order (the table is in snapshot.c). */
void machine_snap_save(const struct mm_machine *m, struct snap_out *o); /* MACH machine.c */
int machine_snap_load(struct mm_machine *m, struct snap_in *in);
void e820_snap_save(const struct mm_machine *m, struct snap_out *o); /* E820 physmem.c */
int e820_snap_load(struct mm_machine *m, struct snap_in *in);
void memblock_snap_save(const struct mm_machine *m, struct snap_out *o); /* MBLK memblock.c */
int memblock_snap_load(struct mm_machine *m, struct snap_in *in);
void layout_snap_save(const struct mm_machine *m, struct snap_out *o); /* LAYT layout.c */
int layout_snap_load(struct mm_machine *m, struct snap_in *in);
void mem_map_snap_save(const struct mm_machine *m, struct snap_out *o); /* PAGE frame.c */
int mem_map_snap_load(struct mm_machine *m, struct snap_in *in);
void node_snap_save(const struct mm_machine *m, struct snap_out *o); /* NODE zone.c */
int node_snap_load(struct mm_machine *m, struct snap_in *in);
void zones_snap_save(const struct mm_machine *m, struct snap_out *o); /* ZONE zone.c */
int zones_snap_load(struct mm_machine *m, struct snap_in *in);
void vm_events_snap_save(const struct mm_machine *m, struct snap_out *o); /* VMEV page_alloc.c */
int vm_events_snap_load(struct mm_machine *m, struct snap_in *in);
void paging_snap_save(const struct mm_machine *m, struct snap_out *o); /* KPGT init_32.c */
int paging_snap_load(struct mm_machine *m, struct snap_in *in);
void cpus_snap_save(const struct mm_machine *m, struct snap_out *o); /* CPUS tlb.c */
int cpus_snap_load(struct mm_machine *m, struct snap_in *in);
void slab_snap_save(const struct mm_machine *m, struct snap_out *o); /* SLAB slab.c */
int slab_snap_load(struct mm_machine *m, struct snap_in *in);
void printk_snap_save(const struct mm_machine *m, struct snap_out *o); /* LOG_ printk.c */
int printk_snap_load(struct mm_machine *m, struct snap_in *in);
void highmem_snap_save(const struct mm_machine *m, struct snap_out *o); /* HIGH highmem.c */
int highmem_snap_load(struct mm_machine *m, struct snap_in *in);
void vmalloc_snap_save(const struct mm_machine *m, struct snap_out *o); /* VMAP vmalloc.c */
int vmalloc_snap_load(struct mm_machine *m, struct snap_in *in);

/*
 * Migrations that need the RAM: a section reader of an older version that lacks a fact the
 * guest's memory holds sets its bit in m->snap_migrate, and mm_snapshot_finish() derives
 * the fact once the frames are loaded.
 * SNAP_MIGRATE_PGS_KERNEL: PAGE v1 has no PGS_KERNEL; the kernel's page tables say which
 * allocations are its own (paging_mark_kernel_tables(), init_32.c), and the vmap areas
 * which pages vmalloc holds (vmalloc_mark_kernel_pages(), vmalloc.c).
 */
#define SNAP_MIGRATE_PGS_KERNEL 0x1u
void paging_mark_kernel_tables(struct mm_machine *m);
/* ... and vmalloc's pages (vmalloc.c), after VMAP. */
void vmalloc_mark_kernel_pages(struct mm_machine *m);

#endif /* MM_SNAPSHOT_H */
