-- 003_snapshots.sql - snapshots of machines, their RAM frames stored once per content, who
-- needs which snapshot, and where each machine comes from.
--
-- A snapshot is mmcore's state stream of a machine (mm_snapshot_save(): everything but the
-- RAM), zstd-compressed in `state`, plus every RAM frame that is not all zeros. Frames are
-- stored once per content: `frames` is keyed by the XXH3-128 hash of their 4096 bytes and
-- holds them zstd-compressed, or as they are (4096 bytes) when compression does not make
-- them smaller. A snapshot lists its frames in `frame_map`: for each non-zero frame in
-- ascending pfn order, its pfn and the frames.id of its content (varints: pfn delta and
-- zigzag id delta), zstd-compressed. A snapshot of a machine whose RAM did not change thus
-- costs its state and a few bytes per frame; a changed frame costs its content once.
--
-- `seq` is the last journal entry the snapshot covers: the machine is the snapshot plus its
-- journal entries after `seq`. `state_hash` is the machine's state hash at that point
-- (xxh3-128 over the state stream and the non-zero frames, see daemon/snapshot.h).
--
-- Invariants:
--  - every frames.id in a frame_map exists: frames are deleted only by the daemon's garbage
--    collection, which keeps every frame that some snapshot row maps;
--  - a snapshot row is written in one transaction after its frames were committed, so a
--    snapshot is whole or absent; frames that no snapshot maps (a snapshot cut short by a
--    crash) are collected at start-up;
--  - snapshot ids are never reused (AUTOINCREMENT): journals name snapshots by id.
CREATE TABLE snapshots (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	machine_id TEXT NOT NULL, -- the machine it was taken of (which may be gone since)
	seq INTEGER NOT NULL CHECK (seq >= 0),
	created_at TEXT NOT NULL, -- UTC, ISO 8601 with milliseconds
	label TEXT,
	config TEXT NOT NULL, -- the machine's configuration, JSON as machines.config
	format INTEGER NOT NULL, -- MM_SNAPSHOT_VERSION of the state stream
	state_hash TEXT NOT NULL, -- hex
	state_size INTEGER NOT NULL, -- bytes of the state stream before compression
	state BLOB NOT NULL,
	nr_frames INTEGER NOT NULL CHECK (nr_frames >= 0),
	frame_map BLOB NOT NULL,
	new_frames INTEGER NOT NULL, -- frames this snapshot added to `frames`
	new_frame_bytes INTEGER NOT NULL, -- their stored size
	-- 1: deleted by the user, kept only while snapshot_uses names it (never listed)
	deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
);
CREATE INDEX snapshots_by_machine ON snapshots (machine_id, seq);

CREATE TABLE frames (
	id INTEGER PRIMARY KEY,
	hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 16), -- XXH3-128, canonical (big-endian)
	data BLOB NOT NULL -- a zstd frame of the 4096 bytes, or the 4096 bytes themselves
);

-- Which machine needs which snapshot, besides the snapshot's own listing: a machine made
-- from it (a clone, or an import or replay that starts from it: machines.base_snapshot) and
-- a machine whose journal restores it. A snapshot the user deleted stays, unlisted, while a
-- row here names it; deleting the machine deletes its rows.
CREATE TABLE snapshot_uses (
	snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
	machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
	PRIMARY KEY (snapshot_id, machine_id)
) WITHOUT ROWID;
CREATE INDEX snapshot_uses_by_machine ON snapshot_uses (machine_id);

-- The snapshot a machine starts from (its journal then starts after it), NULL for a machine
-- booted from its configuration; and how it came to be (JSON: {"kind": "created" | "clone" |
-- "import" | "replay", ...}), NULL for machines created before this migration.
ALTER TABLE machines ADD COLUMN base_snapshot INTEGER REFERENCES snapshots(id);
ALTER TABLE machines ADD COLUMN origin TEXT;
