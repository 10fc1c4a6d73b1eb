-- 004_frame_keys.sql - a frame's content hash moves to a table of its own, without an index.
--
-- With 003's UNIQUE index on frames.hash, every frame a snapshot added went into that index at
-- a random place, and each batch of frames rewrote most of the index's pages: the WAL took two
-- to four times the frames' own bytes. Now:
--  - frames(id, data): the contents, appended in id order;
--  - frame_keys(id, hash, size): the XXH3-128 hash of each frame's 4096 bytes (canonical, 16
--    bytes) and its stored size, appended in id order as well, small enough to be read whole
--    (the statistics and the garbage collector read it instead of the contents).
-- The daemon keeps the hash -> id map in memory while it writes a snapshot (it reads
-- frame_keys once) and adds a content only when no frame has its hash: a content is still
-- stored once. Deleting a frame deletes its key (ON DELETE CASCADE).
CREATE TABLE frames_new (
	id INTEGER PRIMARY KEY,
	data BLOB NOT NULL -- a zstd frame of the 4096 bytes, or the 4096 bytes themselves
);
INSERT INTO frames_new (id, data) SELECT id, data FROM frames;
CREATE TEMP TABLE frame_keys_004 AS SELECT id, hash, length(data) AS size FROM frames;
DROP TABLE frames;
ALTER TABLE frames_new RENAME TO frames;

CREATE TABLE frame_keys (
	id INTEGER PRIMARY KEY REFERENCES frames(id) ON DELETE CASCADE,
	hash BLOB NOT NULL CHECK (length(hash) = 16),
	size INTEGER NOT NULL -- length(frames.data)
);
INSERT INTO frame_keys (id, hash, size) SELECT id, hash, size FROM frame_keys_004;
DROP TABLE frame_keys_004;
