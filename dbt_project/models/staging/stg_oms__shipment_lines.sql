{%- set fields = {
    'shipment_id': 'text',
    'lines': [{'line_id': 'text', 'quantity': 'int'}],
} %}
with

shipment_shipped_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.shipped'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        shipment_shipped_events.*,
        {{ json_fields('shipment_shipped_events.data', fields) }} as payload
    from shipment_shipped_events

),

-- One row per element of `lines`.
shipped_lines as (

    select
        parsed.*,
        shipped_line.item,
        shipped_line.item_index
    from parsed
    {{ unnest_array('parsed.payload.lines', 'shipped_line') }}

),

final as (

    select
        shipped_lines.event_id,
        shipped_lines.payload.shipment_id,
        shipped_lines.order_id,
        shipped_lines.item_index as line_index,
        shipped_lines.item.line_id,
        shipped_lines.item.quantity,
        shipped_lines.occurred_at as shipped_at,
        shipped_lines.batch_id as _batch_id
    from shipped_lines

)

select * from final
