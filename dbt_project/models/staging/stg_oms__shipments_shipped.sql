with

shipment_shipped_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.shipped'
    {{ only_new_batches() }}

),

final as (

    select
        shipment_shipped_events.event_id,
        {{ json_text('shipment_shipped_events.data', 'shipment_id') }} as shipment_id,
        shipment_shipped_events.order_id,
        shipment_shipped_events.occurred_at as shipped_at,
        shipment_shipped_events.source as source_system,
        {{ json_text('shipment_shipped_events.data', 'node_id') }} as node_id,
        {{ json_text('shipment_shipped_events.data', 'carrier') }} as carrier,
        {{ json_text('shipment_shipped_events.data', 'service_level') }} as service_level,
        {{ json_optional_text('shipment_shipped_events.data', 'tracking_number') }} as tracking_number,
        {{ json_number('shipment_shipped_events.data', 'shipping_cost') }} as shipping_cost,
        {{ json_number('shipment_shipped_events.data', 'weight_kg') }} as weight_kg,
        {{ json_array_size('shipment_shipped_events.data', 'lines') }} as line_count,
        shipment_shipped_events.ingested_at as _ingested_at,
        shipment_shipped_events.batch_id as _batch_id
    from shipment_shipped_events

)

select * from final
