-- 005_journal_compact.sql - a batch's commands may be stored zstd-compressed, and a machine's
-- journal may be compacted behind one of its snapshots.
--
-- A memory_write carries its bytes as a hex string in the command's JSON text: journaled as
-- text, each byte written cost two bytes of the database, and more with the JSON around it.
-- From this version a batch whose commands' text is large (1 KiB or more) and shrinks under
-- zstd is stored as commands = '' and commands_zstd = one zstd frame of that text (the frame
-- records the text's size); other batches as before, commands_zstd NULL. Hex compresses to
-- half its size (16 symbols: 4 bits each), so a write of random bytes costs about its own
-- size on disk, and a write of a pattern far less. The text read back is byte for byte the
-- text appended: GET journal, session export and replay see the commands as they were.
-- Rows of earlier versions are left as they are (commands_zstd NULL) and read as before.
ALTER TABLE journal_batches ADD COLUMN commands_zstd BLOB;

-- machines.journal_base: the snapshot of the machine its journal was compacted behind
-- (POST /v1/machines/{id}/journal/compact): the entries up to that snapshot's seq are gone, the
-- machine is rebuilt from it (or a newer snapshot) and the entries after it. The snapshot is
-- pinned: a snapshot_uses row keeps it, and deleting it is refused while it is a base. NULL:
-- the journal is whole.
ALTER TABLE machines ADD COLUMN journal_base INTEGER REFERENCES snapshots(id);
