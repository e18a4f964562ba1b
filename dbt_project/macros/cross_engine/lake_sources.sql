{#
    On Spark the raw tables are views over the lake (pipelines/lake/publish.py, docs/lake.md),
    made as every dbt command on Spark starts (the project's on-run-start hook; by hand,
    `dbt run-operation lake_sources --target spark`): one per table, reading its Parquet
    folders (Spark takes `batch_id` from the folder names and skips the hidden ones still being
    written), keeping only the batches with a commit record, and for a reference table the
    latest row per key, so that each view holds what the DuckDB warehouse's table of that name
    holds. The tables and keys are publish.py's;
    tests/test_dbt_spark.py fails if the two part. The views list the folders and read the
    commit records when queried, so a batch published later is in them without making them
    again. Spark reads the folders' batch id as an integer; it is cast back to the warehouse's
    bigint. DuckDB reads its own raw tables: nothing to do there.
#}
{% macro lake_sources() -%}
    {{ return(adapter.dispatch('lake_sources', 'omsi')()) }}
{%- endmacro %}

{% macro default__lake_sources() -%}
    {{ log("the " ~ adapter.type() ~ " target reads its own raw tables: no lake views to make", info=true) }}
{%- endmacro %}

{% macro spark__lake_sources() -%}
    {%- set lake = env_var('OMSI_LAKE', '') -%}
    {%- if not lake -%}
        {{ exceptions.raise_compiler_error(
            "dbt on Spark reads the raw tables from the lake: set OMSI_LAKE to its folder"
            ~ " (omsi lake publishes it; docs/lake.md)."
        ) }}
    {%- endif -%}
    {%- set reference_keys = {
        'nodes': ['node_id'], 'skus': ['sku'], 'carriers': ['carrier', 'service_level'],
    } -%}
    {%- set committed = 'select batch_id from ' ~ lake_folder(lake, 'ingest_batches') -%}
    {%- do run_query('create database if not exists raw') -%}
    {%- for table in ['events', 'quarantine', 'ingest_files', 'nodes', 'skus', 'carriers', 'ingest_batches'] -%}
        {%- set latest_per_key -%}
            {%- if table in reference_keys %}
            qualify row_number() over (
                partition by {{ reference_keys[table] | join(', ') }} order by batch_id desc
            ) = 1
            {%- endif %}
        {%- endset -%}
        {%- do run_query(
            'create or replace view raw.' ~ table ~ ' as'
            ~ ' select * except (batch_id), cast(batch_id as bigint) as batch_id'
            ~ ' from ' ~ lake_folder(lake, table)
            ~ ' where batch_id in (' ~ committed ~ ')'
            ~ latest_per_key
        ) -%}
    {%- endfor -%}
    {{ log("made the raw views over the lake " ~ lake, info=true) }}
{%- endmacro %}

{% macro lake_folder(lake, table) -%}
    parquet.`{{ (lake ~ '/' ~ table) | replace('`', '``') }}`
{%- endmacro %}
