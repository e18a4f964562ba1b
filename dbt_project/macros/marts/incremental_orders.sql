{#-
    Incremental builds by order. Every order-keyed mart carries `_max_batch_id`, the newest
    ingest batch holding any event of that order. On an incremental run a mart recomputes, from
    all of their events, exactly the orders that have an event in a newer batch, and dbt's
    delete+insert replaces their rows. A late or out-of-order event therefore rebuilds its whole
    order, and the result equals a full refresh.

    New reference data (nodes, SKUs, carriers) changes derived columns of old orders too
    (node type, distance, default costs), so a newer reference batch touches every order.
-#}
{% macro touched_orders() -%}
    {%- if is_incremental() -%}
    {{ adapter.dispatch('touched_orders', 'omsi')() }}
    {%- endif -%}
{%- endmacro %}

{% macro default__touched_orders() -%}
    {{ orders_with_new_events() }}
{%- endmacro %}


{#- The orders with an event in a batch newer than the model's watermark (all of them after a
    new reference file). -#}
{% macro orders_with_new_events() -%}
    {%- set through = built_through('_max_batch_id') %}
    select distinct touched.order_id
    from {{ source('raw', 'events') }} as touched
    where
        touched.order_id is not null
        {%- if not reference_changed_since(through) %}
        and touched.batch_id > {{ through }}
        {%- endif %}
{%- endmacro %}


{#- `where <column> in (touched orders)` on incremental runs; nothing on full builds. -#}
{% macro only_touched_orders(column='order_id') -%}
    {%- if is_incremental() %}
    where {{ column }} in ({{ touched_orders() }})
    {%- endif -%}
{%- endmacro %}


{#- A pre-hook for a table appended to by order that also rewrites some orders without new
    events (those of its rows where `also` holds): deletes every row the run is about to write
    again, including those of orders that no longer qualify. -#}
{% macro delete_rewritten_orders(also='false') -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ also }} or order_id in ({{ touched_orders() }})
    {%- endif -%}
{%- endmacro %}


{#- The newest ingest batch this model's rows record in `column`: what its last build read
    through, -1 for an empty table. A number written into the SQL, read as the model compiles
    (just before it runs), not a subquery: compared with a constant, `batch_id` lets DuckDB skip
    every row group of older batches by its min/max, where a scalar subquery made each of a
    model's filters scan all of raw.events (half a second per order fact at 1M orders). -#}
{% macro built_through(column) -%}
    {%- if execute and is_incremental() -%}
    {%- set built = run_query("select coalesce(max(" ~ column ~ "), -1) from " ~ this) -%}
    {{- built.columns[0].values()[0] | int -}}
    {%- else -%}
    -1
    {%- endif -%}
{%- endmacro %}


{#- Whether a reference file (nodes, SKUs, carriers) landed in a batch after `batch`, read as
    the model compiles, like `built_through`. Their columns feed every order, so such a batch
    touches them all. A build whose tests are cut to the batches after B (OMSI_TESTS_AFTER_BATCH)
    runs only when no reference file landed after B (pipelines/dbt/data_test_scope.py): from B
    on the answer is known without asking, which on Spark saved a query over the lake's
    reference views per incremental model. -#}
{% macro reference_changed_since(batch) -%}
    {%- if not execute -%}
    {{- return(false) -}}
    {%- endif -%}
    {%- set scoped_after = env_var('OMSI_TESTS_AFTER_BATCH', '') -%}
    {%- if scoped_after and batch | int >= scoped_after | int -%}
    {{- return(false) -}}
    {%- endif -%}
    {%- set changed = run_query(reference_changed_after(batch)) -%}
    {{- return(changed.columns[0].values()[0]) -}}
{%- endmacro %}


{#- One row, `changed`: whether a reference file (nodes, SKUs, carriers) landed in a batch after
    `batch`. Their columns feed every order, so such a batch touches them all. -#}
{% macro reference_changed_after(batch) -%}
        select count(*) > 0 as changed
        from (
            select batch_id from {{ source('raw', 'nodes') }}
            union all
            select batch_id from {{ source('raw', 'skus') }}
            union all
            select batch_id from {{ source('raw', 'carriers') }}
        ) as reference_rows
        where reference_rows.batch_id > {{ batch }}
{%- endmacro %}


{#- The newest ingest batch, the watermark a table rewritten in part records on its rows. Of
    every batch, not only those with events: after a batch of a reference file alone, a
    watermark of events' batches would stay below it, and the next run would take the reference
    file for new and rewrite everything again. raw.events counts too, for a warehouse whose rows
    were loaded without their batch records. -#}
{% macro newest_batch() -%}
    greatest(
        coalesce((select max(batches.batch_id) from {{ source('raw', 'ingest_batches') }} as batches), -1),
        coalesce((select max(events.batch_id) from {{ source('raw', 'events') }} as events), -1)
    )
{%- endmacro %}
