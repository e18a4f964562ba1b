with

line_allocated_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_allocated'
    {{ only_new_batches() }}

),

final as (

    select
        line_allocated_events.event_id,
        line_allocated_events.order_id,
        {{ json_text('line_allocated_events.data', 'line_id') }} as line_id,
        line_allocated_events.occurred_at as allocated_at,
        line_allocated_events.source as source_system,
        {{ json_text('line_allocated_events.data', 'node_id') }} as node_id,
        {{ json_int('line_allocated_events.data', 'quantity') }} as quantity,
        {{ json_text('line_allocated_events.data', 'carrier') }} as carrier,
        {{ json_text('line_allocated_events.data', 'service_level') }} as service_level,
        {{ parse_rfc3339_utc(json_text('line_allocated_events.data', 'planned_ship_by')) }} as planned_ship_by,
        {{ json_number('line_allocated_events.data', 'estimated_ship_cost') }} as estimated_ship_cost,
        {{ json_int('line_allocated_events.data', 'attempt') }} as attempt,
        line_allocated_events.ingested_at as _ingested_at,
        line_allocated_events.batch_id as _batch_id
    from line_allocated_events

)

select * from final
