{#- The fields of `data` this model reads, in the order json_values lists them. -#}
{%- set fields = [
    'line_id',
    'node_id',
    'quantity',
    'carrier',
    'service_level',
    'planned_ship_by',
    'estimated_ship_cost',
    'attempt',
] %}
with

line_allocated_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_allocated'
    {{ only_new_batches() }}

),

-- The fields of `data`, parsed once (macros/cross_engine/json_access.sql, json_values).
parsed as (

    select
        line_allocated_events.*,
        {{ json_values('line_allocated_events.data', fields) }} as data_values
    from line_allocated_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        {{ json_text(json_value('parsed.data_values', fields, 'line_id')) }} as line_id,
        parsed.occurred_at as allocated_at,
        parsed.source as source_system,
        {{ json_text(json_value('parsed.data_values', fields, 'node_id')) }} as node_id,
        {{ json_int(json_value('parsed.data_values', fields, 'quantity')) }} as quantity,
        {{ json_text(json_value('parsed.data_values', fields, 'carrier')) }} as carrier,
        {{ json_text(json_value('parsed.data_values', fields, 'service_level')) }} as service_level,
        {{ parse_rfc3339_utc(
            json_text(json_value('parsed.data_values', fields, 'planned_ship_by'))
        ) }} as planned_ship_by,
        {{ json_number(json_value('parsed.data_values', fields, 'estimated_ship_cost')) }} as estimated_ship_cost,
        {{ json_int(json_value('parsed.data_values', fields, 'attempt')) }} as attempt,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
