with

pickup_events as (

    select * from {{ source('raw', 'events') }}
    where event_type in ('pickup.ready', 'pickup.collected')
    {{ only_new_batches() }}

),

final as (

    select
        pickup_events.event_id,
        pickup_events.order_id,
        {{ json_text('pickup_events.data', 'node_id') }} as node_id,
        case
            when pickup_events.event_type = 'pickup.ready' then 'ready'
            when pickup_events.event_type = 'pickup.collected' then 'collected'
        end as pickup_status,
        pickup_events.occurred_at as status_changed_at,
        pickup_events.source as source_system,
        pickup_events.ingested_at as _ingested_at,
        pickup_events.batch_id as _batch_id
    from pickup_events

)

select * from final
