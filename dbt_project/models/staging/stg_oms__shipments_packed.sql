with

shipment_packed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.packed'
    {{ only_new_batches() }}

),

final as (

    select
        shipment_packed_events.event_id,
        {{ json_text('shipment_packed_events.data', 'shipment_id') }} as shipment_id,
        shipment_packed_events.order_id,
        shipment_packed_events.occurred_at as packed_at,
        shipment_packed_events.source as source_system,
        {{ json_text('shipment_packed_events.data', 'node_id') }} as node_id,
        {{ json_array_size('shipment_packed_events.data', 'lines') }} as line_count,
        shipment_packed_events.ingested_at as _ingested_at,
        shipment_packed_events.batch_id as _batch_id
    from shipment_packed_events

)

select * from final
