{#-
    Tests that scale with the change. On an incremental `omsi run` the Python side sets
    OMSI_TESTS_AFTER_BATCH to the newest ingest batch the last successful build read
    (pipelines/dbt/test_scope.py). A test of an incremental model (event staging tables, order
    facts) or of a raw source then looks only at the rows this build wrote: those whose batch
    column, named by the model's `meta.written_rows`, is newer. Full builds and the nightly full
    check leave the variable unset, and every test reads every row.

    Incremental tables are appended or replaced by batch, so the rows of older batches are the
    ones an earlier build wrote and tested; a row changed in history after that is found by the
    nightly full check (docs/decisions.md, "Which tests run when").

    This overrides dbt's own `get_where_subquery`, which every generic test calls on the
    relation it tests; the test's own `where` config still applies.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set written = written_rows_condition() -%}
    {%- if written -%}
        {%- do conditions.append(written) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- `<batch column> > N` for a test of an incremental model or a source, else ''. -#}
{% macro written_rows_condition() -%}
    {#- Read only when executing: an env var read while parsing would make dbt parse every test
        again whenever its value changes. -#}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set after = env_var('OMSI_TESTS_AFTER_BATCH', '') -%}
    {%- if after == '' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set tested_id = model.attached_node or (model.depends_on.nodes | first) -%}
    {%- set tested = graph.nodes.get(tested_id) or graph.sources.get(tested_id) -%}
    {%- if tested is none -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set is_source = tested.resource_type == 'source' -%}
    {%- if not is_source and tested.config.materialized != 'incremental' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set column = (tested.config.meta or {}).get('written_rows') or (tested.meta or {}).get('written_rows') -%}
    {%- if not column -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- do return(column ~ ' > ' ~ (after | int)) -%}
{%- endmacro %}
