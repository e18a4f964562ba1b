-- The newest ingest batch holding an event of each order: the watermark of incremental marts.
-- An incremental run regroups only the touched orders' events, not all of raw.events.
with

events as (

    select
        order_id,
        batch_id
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
        max(batch_id) as _max_batch_id
    from events
    group by order_id

)

select * from final
