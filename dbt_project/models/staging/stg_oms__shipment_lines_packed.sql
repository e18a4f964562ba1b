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
        packed_line.item_index as line_index,
        {{ json_text('packed_line.item', 'line_id') }} as line_id,
        {{ json_int('packed_line.item', 'quantity') }} as quantity,
        shipment_packed_events.occurred_at as packed_at,
        shipment_packed_events.batch_id as _batch_id
    from shipment_packed_events
    {{ unnest_json_array('shipment_packed_events.data', 'lines', 'packed_line') }}

)

select * from final
