"""The central PostgreSQL schema (``fiscald.*``) and its migrations, applied by ``fiscald central migrate``.

MIGRATIONS[n-1] brings the schema from version n-1 to n. Never edit a released migration; append one.
The shipper only writes rows; it refuses a database whose schema is older than :data:`VERSION`.
"""

from __future__ import annotations

import psycopg

MIGRATION_LOCK = 0x66697363616C64  # pg_advisory_xact_lock key: two concurrent migrates run one after the other

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE fiscald.stores (
            store_id text PRIMARY KEY,
            first_contact timestamptz NOT NULL DEFAULT now(),
            last_contact timestamptz NOT NULL DEFAULT now(),
            fiscald_version text,
            backlog_entries bigint NOT NULL DEFAULT 0,
            backlog_oldest timestamptz
        )""",
        """CREATE TABLE fiscald.positions (
            store_id text NOT NULL REFERENCES fiscald.stores,
            instance_id text NOT NULL,
            stream text NOT NULL CHECK (stream IN ('journal', 'outcomes')),
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (store_id, instance_id, stream)
        )""",
        """CREATE TABLE fiscald.devices (
            store_id text NOT NULL REFERENCES fiscald.stores,
            device_id text NOT NULL,
            kind text NOT NULL,
            name text NOT NULL,
            manufacturer text NOT NULL,
            model text NOT NULL,
            serial text,
            enabled boolean NOT NULL,
            status text NOT NULL,
            status_text text NOT NULL,
            last_contact timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (store_id, device_id)
        )""",
        """CREATE TABLE fiscald.journal (
            store_id text NOT NULL REFERENCES fiscald.stores,
            device_id text NOT NULL,
            seq bigint NOT NULL,
            kind text NOT NULL,
            number bigint,
            fiscal_day integer NOT NULL,
            datetime text NOT NULL,
            at timestamptz NOT NULL,
            day date NOT NULL,
            total_cents bigint,
            text text NOT NULL,
            data jsonb NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL,
            shipped_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (store_id, device_id, seq)
        )""",
        "CREATE INDEX journal_kind_day ON fiscald.journal (kind, day, store_id)",
        "CREATE INDEX journal_device_kind ON fiscald.journal (store_id, device_id, kind, seq)",
        """CREATE TABLE fiscald.operations (
            store_id text NOT NULL REFERENCES fiscald.stores,
            operation_id text NOT NULL,
            device_id text NOT NULL,
            operation text NOT NULL,
            source text NOT NULL,
            idem_key text,
            state text NOT NULL,
            http_status integer,
            request jsonb NOT NULL,
            response jsonb,
            created_at timestamptz NOT NULL,
            finished_at timestamptz,
            shipped_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (store_id, operation_id)
        )""",
        "CREATE INDEX operations_device ON fiscald.operations (store_id, device_id, created_at)",
        # -- views for head office ----------------------------------------------------------------
        """CREATE VIEW fiscald.z_reports AS
           SELECT store_id, device_id, number AS z_number, fiscal_day, at, day, total_cents,
                  (data->>'receipts_count')::integer AS receipts_count,
                  (data->>'voided_count')::integer AS voided_count,
                  data->'vat_totals' AS vat_totals, data->'payments' AS payments, seq
           FROM fiscald.journal WHERE kind = 'z_report'""",
        """CREATE VIEW fiscald.sales_per_store_day AS
           SELECT store_id, day, count(*) FILTER (WHERE kind = 'receipt') AS receipts,
                  count(*) FILTER (WHERE kind = 'void') AS voided,
                  coalesce(sum(total_cents) FILTER (WHERE kind = 'receipt'), 0) AS total_cents
           FROM fiscald.journal WHERE kind IN ('receipt', 'void') GROUP BY store_id, day""",
        """CREATE VIEW fiscald.vat_per_rate AS
           SELECT j.store_id, j.day, (v.value->>'rate_basis_points')::integer AS rate_basis_points,
                  sum((v.value->>'base_cents')::bigint) AS base_cents,
                  sum((v.value->>'vat_cents')::bigint) AS vat_cents
           FROM fiscald.journal j, jsonb_each(j.data->'result'->'vat_totals') v
           WHERE j.kind = 'receipt' GROUP BY j.store_id, j.day, 3""",
        """CREATE VIEW fiscald.payment_mix AS
           SELECT j.store_id, j.day, p.key AS payment_type, count(*) AS receipts, sum(p.value::bigint) AS cents
           FROM fiscald.journal j, jsonb_each_text(j.data->'payments') p
           WHERE j.kind = 'receipt' GROUP BY j.store_id, j.day, p.key""",
        """CREATE VIEW fiscald.last_z AS
           SELECT DISTINCT ON (z.store_id, z.device_id) z.store_id, z.device_id, d.name, d.serial, z.z_number,
                  z.fiscal_day, z.at, z.total_cents, z.receipts_count
           FROM fiscald.z_reports z LEFT JOIN fiscald.devices d USING (store_id, device_id)
           ORDER BY z.store_id, z.device_id, z.seq DESC""",
        """CREATE VIEW fiscald.device_health AS
           SELECT d.store_id, d.device_id, d.name, d.serial, d.status, d.enabled, d.last_contact,
                  now() - s.last_contact AS contact_age, s.backlog_entries,
                  now() - s.backlog_oldest AS backlog_age
           FROM fiscald.devices d JOIN fiscald.stores s USING (store_id)""",
        """CREATE VIEW fiscald.stale_devices AS
           SELECT * FROM fiscald.device_health
           WHERE contact_age > interval '15 minutes' OR backlog_age > interval '15 minutes'""",
        """CREATE VIEW fiscald.chain_breaks AS
           SELECT store_id, device_id, seq, prev_hash, expected_prev FROM (
               SELECT store_id, device_id, seq, prev_hash,
                      lag(hash, 1, repeat('0', 64)) OVER w AS expected_prev,
                      lag(seq, 1, 0::bigint) OVER w AS previous_seq
               FROM fiscald.journal WINDOW w AS (PARTITION BY store_id, device_id ORDER BY seq)) links
           WHERE prev_hash <> expected_prev OR seq <> previous_seq + 1""",
    ],
]
VERSION = len(MIGRATIONS)


def current_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The schema version of the database (0: no fiscald schema)."""
    row = conn.execute("SELECT to_regclass('fiscald.schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT coalesce(max(version), 0) FROM fiscald.schema_version").fetchone()
    return 0 if found is None else int(str(found[0]))


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[int, int]:
    """Bring the schema to :data:`VERSION` in one transaction; returns (version before, version after)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS fiscald")
        conn.execute("""CREATE TABLE IF NOT EXISTS fiscald.schema_version (
                            version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())""")
        before = current_version(conn)
        for number, statements in enumerate(MIGRATIONS, start=1):
            if number <= before:
                continue
            for statement in statements:
                conn.execute(statement.encode())
            conn.execute("INSERT INTO fiscald.schema_version (version) VALUES (%s)", (number,))
    return before, max(before, VERSION)
