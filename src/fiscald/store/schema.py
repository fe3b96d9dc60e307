"""Schema migrations: MIGRATIONS[n-1] brings the database from version n-1 to n (PRAGMA user_version).

Never edit a released migration; append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('fiscal', 'pos')),
            config TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )""",
        """CREATE TABLE operations (
            id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            source TEXT NOT NULL,
            idem_key TEXT,
            request_hash TEXT NOT NULL,
            request TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('running', 'done', 'unknown')),
            http_status INTEGER,
            response TEXT,
            created_at REAL NOT NULL,
            finished_at REAL
        )""",
        "CREATE UNIQUE INDEX operations_idem ON operations (device_id, idem_key) WHERE idem_key IS NOT NULL",
        "CREATE INDEX operations_created ON operations (created_at)",
        "CREATE INDEX operations_state ON operations (state)",
        """CREATE TABLE device_state (
            device_id TEXT PRIMARY KEY,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            number INTEGER,
            fiscal_day INTEGER NOT NULL,
            datetime TEXT NOT NULL,
            total_cents INTEGER,
            text TEXT NOT NULL,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            UNIQUE (device_id, seq)
        )""",
        "CREATE INDEX journal_kind ON journal (device_id, kind, number)",
        "CREATE INDEX journal_time ON journal (device_id, datetime)",
    ],
    [  # INP file claims (interfaces/inp): one row per claimed command file, see store/inp_claims.py
        """CREATE TABLE inp_claims (
            id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            folder TEXT NOT NULL,
            name TEXT NOT NULL,
            file_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('claimed', 'done', 'resolved')),
            sha256 TEXT,
            outcome TEXT,
            created_at REAL NOT NULL,
            finished_at REAL
        )""",
        "CREATE INDEX inp_claims_file ON inp_claims (device_id, folder, name, state)",
    ],
    [  # central shipping (central/, docs/central.md): outbox positions and the order of operation outcomes
        """CREATE TABLE central_outbox (
            stream TEXT PRIMARY KEY CHECK (stream IN ('journal', 'outcomes')),
            position INTEGER NOT NULL,
            shipped_at REAL
        )""",
        "INSERT INTO central_outbox (stream, position) VALUES ('journal', 0), ('outcomes', 0)",
        "CREATE TABLE central_instance (id TEXT PRIMARY KEY)",
        "INSERT INTO central_instance (id) VALUES (lower(hex(randomblob(16))))",
        "ALTER TABLE operations ADD COLUMN outcome_seq INTEGER",
        "UPDATE operations SET outcome_seq = rowid WHERE state != 'running'",
        "CREATE TABLE central_outcome_counter (last INTEGER NOT NULL)",
        "INSERT INTO central_outcome_counter (last) SELECT COALESCE(MAX(outcome_seq), 0) FROM operations",
        "CREATE UNIQUE INDEX operations_outcome_seq ON operations (outcome_seq) WHERE outcome_seq IS NOT NULL",
        # every finished outcome (done, unknown, re-finished) takes the next number: the shipper's order
        """CREATE TRIGGER operations_outcome_seq AFTER UPDATE OF state ON operations WHEN NEW.state != 'running'
        BEGIN
            UPDATE central_outcome_counter SET last = last + 1;
            UPDATE operations SET outcome_seq = (SELECT last FROM central_outcome_counter) WHERE id = NEW.id;
        END""",
    ],
    [  # a device's last entry of a kind (the last Z) and its entries of some kinds since then, from the index alone
        # (journal.count_since, once per Datecs receipt: without it, every receipt read every entry the device
        # ever journaled, 0.4 ms at 1,000 entries and 9 ms at 10,000, see docs/benchmarks.md)
        "CREATE INDEX journal_kind_seq ON journal (device_id, kind, seq, fiscal_day)",
    ],
    [  # the device's last journal seq when an operation was recorded as started: what the operation journals comes
        # after it, so journal.printed_for reads only the entries since (NULL: recorded before this column; a
        # receipt not journaled for its operation was looked for in every receipt of the device, 0.3 s at 100,000)
        "ALTER TABLE operations ADD COLUMN journal_seq INTEGER",
    ],
]
