-- 002_journal_batches.sql - the journal as batches: one row per request's commands.
--
-- The commands of one request (a batch of POST .../commands, or a single command) are
-- journaled as one row holding them and their results as two JSON arrays of n elements,
-- written in one statement: a batch of 1000 commands costs one row and one sync, not 1000
-- rows. Seq numbers stay per command: the row holds seq first_seq .. first_seq + n - 1.
-- Invariant: the rows of a machine cover 1, 2, 3, ... in execution order, consecutively,
-- without overlap. The one-command rows of 001 are carried over as batches of one.
CREATE TABLE journal_batches (
	machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
	first_seq INTEGER NOT NULL,
	n INTEGER NOT NULL CHECK (n >= 1),
	time TEXT NOT NULL, -- UTC, ISO 8601 with milliseconds, when the request ran
	commands TEXT NOT NULL, -- JSON array of n commands
	results TEXT NOT NULL, -- JSON array of their n results
	PRIMARY KEY (machine_id, first_seq)
);

INSERT INTO journal_batches (machine_id, first_seq, n, time, commands, results)
	SELECT machine_id, seq, 1, coalesce(time, ''), '[' || coalesce(command, 'null') || ']',
	       '[' || coalesce(result, 'null') || ']'
	FROM journal WHERE machine_id IS NOT NULL AND seq IS NOT NULL;

DROP TABLE journal;
