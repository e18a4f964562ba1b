with

order_placed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.placed'
    {{ only_new_batches() }}

),

final as (

    select
        order_placed_events.event_id,
        order_placed_events.order_id,
        order_placed_events.occurred_at as placed_at,
        order_placed_events.source as source_system,
        {{ json_text('order_placed_events.data', 'channel') }} as channel,
        {{ json_text('order_placed_events.data', 'customer_id') }} as customer_id,
        {{ json_text('order_placed_events.data', 'fulfillment_method') }} as fulfillment_method,
        {{ json_optional_text('order_placed_events.data', 'ship_to.postal_code') }} as ship_to_postal_code,
        {{ json_text('order_placed_events.data', 'ship_to.region') }} as ship_to_region,
        {{ json_text('order_placed_events.data', 'ship_to.country') }} as ship_to_country,
        {{ json_number('order_placed_events.data', 'ship_to.lat') }} as ship_to_lat,
        {{ json_number('order_placed_events.data', 'ship_to.lon') }} as ship_to_lon,
        {{ json_optional_text('order_placed_events.data', 'pickup_node_id') }} as pickup_node_id,
        {{ parse_rfc3339_utc(json_text('order_placed_events.data', 'promised_by')) }} as promised_by,
        {{ json_text('order_placed_events.data', 'currency') }} as currency,
        {{ json_number('order_placed_events.data', 'shipping_charged') }} as shipping_charged,
        {{ json_array_size('order_placed_events.data', 'lines') }} as line_count,
        order_placed_events.ingested_at as _ingested_at,
        order_placed_events.batch_id as _batch_id
    from order_placed_events

)

select * from final
