{%- set fields = {
    'shipment_id': 'text',
    'lines': [{'line_id': 'text', 'quantity': 'int'}],
} %}
with

shipment_packed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.packed'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        shipment_packed_events.*,
        {{ json_fields('shipment_packed_events.data', fields) }} as payload
    from shipment_packed_events

),

-- One row per element of `lines`.
packed_lines as (

    select
        parsed.*,
        packed_line.item,
        packed_line.item_index
    from parsed
    {{ unnest_array('parsed.payload.lines', 'packed_line') }}

),

final as (

    select
        packed_lines.event_id,
        packed_lines.payload.shipment_id,
        packed_lines.order_id,
        packed_lines.item_index as line_index,
        packed_lines.item.line_id,
        packed_lines.item.quantity,
        packed_lines.occurred_at as packed_at,
        packed_lines.batch_id as _batch_id
    from packed_lines

)

select * from final
