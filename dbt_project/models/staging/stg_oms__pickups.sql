{%- set fields = {
    'node_id': 'text',
} %}
with

pickup_events as (

    select * from {{ source('raw', 'events') }}
    where event_type in ('pickup.ready', 'pickup.collected')
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        pickup_events.*,
        {{ json_fields('pickup_events.data', fields) }} as payload
    from pickup_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.payload.node_id,
        case
            when parsed.event_type = 'pickup.ready' then 'ready'
            when parsed.event_type = 'pickup.collected' then 'collected'
        end as pickup_status,
        parsed.occurred_at as status_changed_at,
        parsed.source as source_system,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
