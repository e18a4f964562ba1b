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
        shipped_line.item_index as line_index,
        {{ json_text('shipped_line.item', 'line_id') }} as line_id,
        {{ json_int('shipped_line.item', 'quantity') }} as quantity,
        shipment_shipped_events.occurred_at as shipped_at,
        shipment_shipped_events.batch_id as _batch_id
    from shipment_shipped_events
    {{ unnest_json_array('shipment_shipped_events.data', 'lines', 'shipped_line') }}

)

select * from final
