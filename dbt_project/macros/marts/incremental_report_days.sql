{#-
    Incremental builds by report day, for the dashboards' daily aggregates (agg_orders_daily and
    the like). An aggregate row sums the rows of the orders counted on its `report_date`: the
    day the order was placed, or, for a shipment, allocation or return of an order whose
    placement has not landed yet, that row's own day (fct_dashboard_shipments and the like). So
    an order's day can change: when its placement lands after its other events, or when a
    re-sent placement carries an earlier time (int_orders keeps the first). Keyed by the days of
    the new rows, delete+insert would leave the order's rows on its old day.

    Each of those days is the day of one of the order's events, so none comes before the
    order's first event (int_order_batches.first_event_at), before or after a run. An
    incremental run therefore rewrites every day from the earliest first event of the orders
    with an event in a newer batch (every day after a new reference file); the days before it
    hold no row of those orders, now or before, and keep their rows. A pre-hook deletes the
    days first, since a day may be left with no row at all, which delete+insert keyed by the
    new rows would never delete; the model then appends every row of those days.
-#}

{#- The first report day this incremental run rewrites, as a SQL date literal; none when no
    order has an event in a newer batch. Read as the model compiles and again as its pre-hook
    runs, before either writes: both see the same table, so they name the same day. The
    model's watermark is `_built_through_batch`. -#}
{% macro report_day_to_rewrite_from() -%}
    {%- set through = built_through('_built_through_batch') -%}
    {%- set first_event -%}
        select cast(cast(min(batches.first_event_at) as date) as varchar)
        from {{ ref('int_order_batches') }} as batches
        {%- if not reference_changed_since(through) %}
        where batches._max_batch_id > {{ through }}
        {%- endif %}
    {%- endset -%}
    {%- set day = run_query(first_event).columns[0].values()[0] -%}
    {{- return(none if day is none else "date '" ~ day ~ "'") -}}
{%- endmacro %}


{#- The model's pre-hook: on incremental runs, delete the days this run rewrites (by `column`),
    and the rows `rewritten_whole` (a SQL condition, if any) selects: rows a run rewrites on
    every day. -#}
{% macro delete_rewritten_report_days(column='report_date', rewritten_whole=none) -%}
    {%- if execute and is_incremental() -%}
    {%- set rewrite_from = report_day_to_rewrite_from() -%}
    {%- set conditions = [] if rewritten_whole is none else [rewritten_whole] -%}
    {%- if rewrite_from is not none -%}
        {%- do conditions.append(column ~ ' >= ' ~ rewrite_from) -%}
    {%- endif -%}
    {%- if conditions -%}
    delete from {{ this }} where {{ conditions | join(' or ') }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- `where <column> >= <first day>` of the days this incremental run rewrites (`where false`
    when no order changed); nothing on full builds. On the dashboards' row-level views the
    filter comes after their join of every fact row to its order's filters: narrowing them
    first to the orders that can count on those days (an `in (...)` or a join) did not make
    them faster (0.25 s against 0.21 s for agg_allocations_daily's statement on 1,000,000
    orders, 0.36 s for all of it). -#}
{% macro only_rewritten_report_days(column='report_date') -%}
    {%- if is_incremental() -%}
    {%- set rewrite_from = report_day_to_rewrite_from() -%}
    {%- if rewrite_from is none %}
    where false
    {%- else %}
    where {{ column }} >= {{ rewrite_from }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
