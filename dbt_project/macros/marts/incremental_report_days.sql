{#-
    Incremental builds by report day, for the dashboards' daily aggregates (agg_orders_daily and
    the like). An aggregate row sums the rows of the orders counted on its `report_date`: the
    day the order was placed, or, for a shipment, allocation or return of an order whose
    placement has not landed yet, that row's own day (fct_dashboard_shipments and the like). So
    an order's day can change: when its placement lands after its other events, or when a
    re-sent placement carries an earlier time (int_orders keeps the first). Keyed by the days of
    the new rows, delete+insert would leave the order's rows on its old day.

    Each of those days is the day of one of the order's events, so it lies within the span of
    the order's event times (int_order_batches.first_event_at to last_event_at), and that span
    only grows as events arrive. An incremental run therefore rewrites every day from the first
    to the last event day of the orders with an event in a newer batch (every order after a new
    reference file): those orders count only on those days, before and after the run. Every
    order counted on one of those days has an event on it, so its span meets them: the run
    rebuilds the days from those orders alone. A pre-hook deletes the days first, since a day
    may be left with no row at all, which delete+insert keyed by the new rows would never
    delete; the model then appends their new rows.
-#}

{#- The first and last report day this incremental run rewrites, as SQL date literals
    (`first_day`, `last_day`); none when no order has an event in a newer batch. Read as the
    model compiles and again as its pre-hook runs, before either writes: both see the same
    table, so they name the same days. The model's watermark is `_built_through_batch`. -#}
{% macro report_days_to_rewrite() -%}
    {%- set through = built_through('_built_through_batch') -%}
    {%- set spans -%}
        select
            cast(cast(min(batches.first_event_at) as date) as varchar),
            cast(cast(max(batches.last_event_at) as date) as varchar)
        from {{ ref('int_order_batches') }} as batches
        {%- if not reference_changed_since(through) %}
        where batches._max_batch_id > {{ through }}
        {%- endif %}
    {%- endset -%}
    {%- set days = run_query(spans).rows[0] -%}
    {%- if days[0] is none -%}
    {{- return(none) -}}
    {%- endif -%}
    {{- return({'first_day': "date '" ~ days[0] ~ "'", 'last_day': "date '" ~ days[1] ~ "'"}) -}}
{%- endmacro %}


{#- The model's pre-hook: on incremental runs, delete the days this run rewrites. -#}
{% macro delete_rewritten_report_days() -%}
    {%- if execute and is_incremental() -%}
    {%- set days = report_days_to_rewrite() -%}
    {%- if days is not none -%}
    delete from {{ this }} where report_date between {{ days.first_day }} and {{ days.last_day }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- On incremental runs, the rows counted on the days this run rewrites (none when no order
    changed); nothing on full builds. With `rows`, the alias of a relation whose rows can count
    on their own day (an order without its placement): it is joined to the orders whose events
    span those days first, so that only their rows are grouped. Without it, `report_date` is
    the placement day of a row of dim_order_filters. -#}
{% macro only_rewritten_report_days(rows=none) -%}
    {%- if is_incremental() -%}
    {%- set days = report_days_to_rewrite() -%}
    {%- if days is none %}
    where false
    {%- else -%}
    {%- if rows %}
    inner join (
        select batches.order_id
        from {{ ref('int_order_batches') }} as batches
        where
            cast(batches.first_event_at as date) <= {{ days.last_day }}
            and cast(batches.last_event_at as date) >= {{ days.first_day }}
    ) as rewritten_orders on {{ rows }}.order_id = rewritten_orders.order_id
    {%- endif %}
    where {{ rows ~ '.' if rows }}report_date between {{ days.first_day }} and {{ days.last_day }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
