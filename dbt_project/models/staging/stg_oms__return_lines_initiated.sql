{%- set fields = {
    'return_id': 'text',
    'lines': [{'line_id': 'text', 'quantity': 'int', 'reason': 'text'}],
} %}
with

return_initiated_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'return.initiated'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        return_initiated_events.*,
        {{ json_fields('return_initiated_events.data', fields) }} as payload
    from return_initiated_events

),

-- One row per element of `lines`.
return_lines as (

    select
        parsed.*,
        return_line.item,
        return_line.item_index
    from parsed
    {{ unnest_array('parsed.payload.lines', 'return_line') }}

),

final as (

    select
        return_lines.event_id,
        return_lines.payload.return_id,
        return_lines.order_id,
        return_lines.item_index as line_index,
        return_lines.item.line_id,
        return_lines.item.quantity,
        return_lines.item.reason as return_reason,
        return_lines.occurred_at as initiated_at,
        return_lines.batch_id as _batch_id
    from return_lines

)

select * from final
