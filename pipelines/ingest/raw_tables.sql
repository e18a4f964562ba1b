-- The raw layer of warehouse.duckdb. Ingest owns these tables; dbt reads them as sources.
-- Timestamps are UTC, stored without a zone so every engine and pandas read them alike.
create schema if not exists raw;

-- One row per accepted event. The first copy of an event_id wins; later identical copies are
-- counted as duplicates, later different copies go to quarantine as conflicting_duplicate.
create table if not exists raw.events (
    event_id varchar not null,
    event_type varchar not null,
    occurred_at timestamp not null,
    source varchar not null,
    schema_version integer not null,
    order_id varchar,             -- data.order_id when the type has one: the key of incremental builds
    -- The data object as JSON text, unknown fields kept (validated at ingest; a JSON column
    -- would parse every row again on insert). zstd: DuckDB's own choice for long text costs
    -- more to write and takes 2.4 times the space (docs/decisions.md, "raw.events.data").
    data varchar using compression zstd not null,
    content_hash ubigint not null, -- hash() of the content as landed: tells a duplicate from a
                                  -- conflict (pipelines/ingest/events.py)
    file varchar not null,        -- path relative to the landing folder
    line_no bigint not null,      -- 1-based line (JSONL) or row (Parquet) in that file
    batch_id bigint not null,
    ingested_at timestamp not null
);

-- Every line that did not land, with why. Nothing read is ever dropped without a row here.
create table if not exists raw.quarantine (
    batch_id bigint not null,
    file varchar not null,
    line_no bigint not null,
    raw varchar not null,
    reason varchar not null,      -- machine-readable, e.g. missing_field:order_id
    detail varchar,               -- for people: what exactly was wrong
    event_id varchar,
    event_type varchar,
    raw_hash varchar not null,    -- with file and line_no, keeps a re-read line from being stored twice
    quarantined_at timestamp not null
);

create table if not exists raw.ingest_batches (
    batch_id bigint not null,
    landing_dir varchar not null,
    started_at timestamp not null,
    finished_at timestamp,
    files integer,
    files_skipped integer,
    lines_read bigint,
    landed bigint,
    duplicates bigint,
    resumed bigint,
    quarantined bigint
);

-- One row per file per batch that read it; the reconciliation users see:
-- lines_read = landed + duplicates + resumed + quarantined.
create table if not exists raw.ingest_files (
    batch_id bigint not null,
    file varchar not null,
    kind varchar not null,        -- events | nodes | skus | carriers
    sha256 varchar not null,
    size_bytes bigint not null,
    lines_read bigint not null,
    landed bigint not null,
    duplicates bigint not null,   -- the same event already landed from another line: sent twice
    resumed bigint not null default 0, -- this line landed by an earlier batch of the file that was
                                  -- cut short (killed mid-file): read again, not sent again
    quarantined bigint not null,
    seconds double not null,
    ingested_at timestamp not null
);

-- Warehouses made before `resumed` was counted get it (last; every insert names its columns).
alter table raw.ingest_batches add column if not exists resumed bigint default 0;
alter table raw.ingest_files add column if not exists resumed bigint default 0;
-- The file's modification time (ns) when it was read: with its path and size, what lets a later
-- run skip it unread (pipelines/ingest/ingested_files.py). Null in records from before.
alter table raw.ingest_files add column if not exists modified_ns bigint;

-- Reference data: the latest accepted row per key.
create table if not exists raw.nodes (
    node_id varchar not null,
    node_type varchar not null,   -- dc | store | dropship | 3pl
    name varchar,
    region varchar,
    country varchar,
    lat double,
    lon double,
    daily_capacity_units integer,
    pick_pack_cost_per_unit double,
    opened_on date,
    file varchar not null,
    line_no bigint not null,
    batch_id bigint not null
);

create table if not exists raw.skus (
    sku varchar not null,
    category varchar,
    unit_price double not null,
    unit_cost double,
    weight_kg double,
    abc_class varchar,            -- A | B | C, derived downstream when missing
    file varchar not null,
    line_no bigint not null,
    batch_id bigint not null
);

create table if not exists raw.carriers (
    carrier varchar not null,
    service_level varchar not null,
    transit_days integer not null,
    base_cost double,
    cost_per_kg double,
    file varchar not null,
    line_no bigint not null,
    batch_id bigint not null
);

-- Schema drift: per batch, each field inside `data` the contract does not know (kept, not
-- validated), with how many lines carried it, where it first appeared, and the required field
-- most often missing on the same lines (a likely rename; those lines are quarantined).
create table if not exists raw.schema_drift (
    batch_id bigint not null,
    event_type varchar not null,
    field_path varchar not null,  -- dotted inside data: gift_note, ship_to.zip, lines.gift_wrap
    lines bigint not null,
    first_file varchar not null,
    first_line_no bigint not null,
    missing_field varchar,        -- e.g. customer_id: the likely old name of this field
    missing_lines bigint not null, -- of these lines, how many were quarantined missing it
    primary key (batch_id, event_type, field_path)
);
