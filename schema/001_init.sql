-- 001_init.sql - machines and their command journals.
--
-- A machine is stored as the configuration it was created from (the JSON of
-- api_config_to_json(), re-parsed by the same parser as POST /v1/machines). Its state is
-- not stored: it is the configuration plus the journal, replayed through the command
-- executor at start-up. Invariant: journal seq numbers of a machine are 1, 2, 3, ...
-- in execution order; deleting a machine deletes its journal.
CREATE TABLE machines (
	id TEXT PRIMARY KEY,
	config TEXT NOT NULL, -- JSON
	created_at TEXT NOT NULL -- UTC, ISO 8601
);

CREATE TABLE journal (
	machine_id TEXT REFERENCES machines(id) ON DELETE CASCADE,
	seq INTEGER,
	time TEXT, -- UTC, ISO 8601 with milliseconds
	command TEXT, -- JSON
	result TEXT, -- JSON
	PRIMARY KEY (machine_id, seq)
);
