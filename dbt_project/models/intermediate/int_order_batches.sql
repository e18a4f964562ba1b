{#- On Spark a table rebuilt whole and not partitioned: the other order-keyed tables take their
    partition, the month of the order's first event, from it (macros/cross_engine/order_partitions.sql). #}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    partition_by=none
) }}
-- The newest ingest batch holding an event of each order: the watermark of incremental marts.
-- With it, the time of the order's first event: no day a dashboard aggregate counts the order
-- on comes before it (macros/marts/incremental_report_days.sql).
-- An incremental run regroups only the touched orders' events, not all of raw.events.
with

events as (

    select
        order_id,
        batch_id,
        occurred_at
    from {{ source('raw', 'events') }}
    where
        order_id is not null
    {%- if is_incremental() %}
        and order_id in ({{ touched_orders() }})
    {%- endif %}

),

final as (

    select
        order_id,
        max(batch_id) as _max_batch_id,
        min(occurred_at) as first_event_at
    from events
    group by order_id

)

select * from final
