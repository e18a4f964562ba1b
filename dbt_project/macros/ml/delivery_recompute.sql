{#-
    Incremental builds of ml_delivery_features. A row is what was known at the order's first
    allocation (`cutoff_at`): it reads only events that occurred before it (tests/test_ml.py
    proves it), plus its own label. So an incremental run recomputes, and replaces by order:
    - the orders with an event in a newer ingest batch (their own allocation and outcome);
    - every order whose cutoff comes after the earliest event of those batches: only those can
      have a new event inside their window (a late file reaches back as far as it must);
    - the orders still open and not yet late, whose label turns late once "now" passes their
      promise (an open order already late stays late until an event of its own comes);
    - every order, when a newer reference file came (nodes, carriers and SKUs feed features).
    The rest would come out byte for byte the same, which is why incremental equals a full
    refresh (tests/test_dbt_marts.py compares them row for row).
-#}
{% macro delivery_features_to_recompute(orders_relation) -%}
    {%- set through = built_through('_built_through_batch') %}
    with new_events as (
        select events.order_id, events.occurred_at
        from {{ source('raw', 'events') }} as events
        where events.batch_id > {{ through }}
    )

    select new_events.order_id from new_events where new_events.order_id is not null
    union
    select built.order_id
    from {{ this }} as built
    where
        (built.is_open and built.is_late is null)
        or built.cutoff_at > (select min(new_events.occurred_at) from new_events)
    {%- if reference_changed_since(through) %}
    union
    select every_order.order_id
    from {{ orders_relation }} as every_order
    {%- endif %}
{%- endmacro %}
