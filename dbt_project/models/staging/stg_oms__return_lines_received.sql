{%- set fields = {
    'return_id': 'text',
    'lines': [{'line_id': 'text', 'quantity': 'int', 'disposition': 'text'}],
} %}
with

return_received_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'return.received'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        return_received_events.*,
        {{ json_fields('return_received_events.data', fields) }} as payload
    from return_received_events

),

-- One row per element of `lines`.
received_lines as (

    select
        parsed.*,
        received_line.item,
        received_line.item_index
    from parsed
    {{ unnest_array('parsed.payload.lines', 'received_line') }}

),

final as (

    select
        received_lines.event_id,
        received_lines.payload.return_id,
        received_lines.order_id,
        received_lines.item_index as line_index,
        received_lines.item.line_id,
        received_lines.item.quantity,
        received_lines.item.disposition,
        received_lines.occurred_at as received_at,
        received_lines.batch_id as _batch_id
    from received_lines

)

select * from final
