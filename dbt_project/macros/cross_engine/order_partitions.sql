{#-
    Incremental by order on Spark. Its Parquet tables cannot delete rows, so the order-keyed
    tables that DuckDB rebuilds with delete+insert by order_id are partitioned there by the month
    of each order's first event (`_first_event_month`, 'yyyy-MM' of int_order_batches'
    first_event_at), and an incremental run overwrites whole months (dbt-spark's
    insert_overwrite, dynamic partitions): it recomputes every order of every month from the
    earliest first event among the orders with new events, and the months before keep their
    rows. An order's first event can only move earlier (a late event that happened before the
    others), so its old month is always among those rewritten. Late events are mostly recent
    ones (a return within weeks of its order), so a run rewrites the last month or two, not
    history. DuckDB's tables have no such column.
-#}

{#- The statement that ends an order-keyed model: its `final` CTE, with the partition column on
    Spark. -#}
{% macro select_by_order(cte='final') -%}
    {{ return(adapter.dispatch('select_by_order', 'omsi')(cte)) }}
{%- endmacro %}

{% macro default__select_by_order(cte) -%}
select * from {{ cte }}
{%- endmacro %}

{% macro spark__select_by_order(cte) -%}
{#- A unit test gives the model its inputs as rows and reads back the model's own columns: it
    has no int_order_batches to take the month from, and no use for it. -#}
{%- if model.resource_type == 'unit_test' -%}
select * from {{ cte }}
{%- else -%}
select
    {{ cte }}.*,
    date_format(first_events.first_event_at, 'yyyy-MM') as _first_event_month
from {{ cte }}
left join {{ ref('int_order_batches') }} as first_events
    on {{ cte }}.order_id = first_events.order_id
{%- endif -%}
{%- endmacro %}


{#- The orders an incremental run on Spark recomputes: every order of the months it rewrites. -#}
{% macro spark__touched_orders() -%}
    {%- set first_month = first_month_to_rewrite() %}
    select first_events.order_id
    from {{ ref('int_order_batches') }} as first_events
    {%- if first_month is none %}
    where false
    {%- else %}
    where first_events.first_event_at >= timestamp '{{ first_month }}-01 00:00:00'
    {%- endif %}
{%- endmacro %}


{#- The earliest month ('yyyy-MM') of a first event among the orders with new events, read as
    the model compiles; none when no order has one. Kept on the model for the rest of its
    compilation, which asks once per input it narrows. -#}
{% macro first_month_to_rewrite() -%}
    {%- if not execute -%}
    {{- return(none) -}}
    {%- endif -%}
    {%- if '_first_month_to_rewrite' not in model -%}
    {%- set earliest -%}
        select date_format(min(first_events.first_event_at), 'yyyy-MM')
        from {{ ref('int_order_batches') }} as first_events
        where first_events.order_id in ({{ orders_with_new_events() }})
    {%- endset -%}
    {%- do model.update({'_first_month_to_rewrite': run_query(earliest).columns[0].values()[0]}) -%}
    {%- endif -%}
    {{- return(model['_first_month_to_rewrite']) -}}
{%- endmacro %}


{#- The incremental strategy and partitions of an order-keyed model configured in its own file;
    dbt_project.yml, which cannot call macros, writes the same for the folders it configures. -#}
{% macro order_keyed_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{% macro order_keyed_partitions() -%}
    {{ return('_first_event_month' if target.type == 'spark' else none) }}
{%- endmacro %}
