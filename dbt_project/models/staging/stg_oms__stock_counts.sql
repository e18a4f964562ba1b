{%- set fields = {
    'count_id': 'text',
    'node_id': 'text',
    'sku': 'text',
    'system_quantity': 'int',
    'counted_quantity': 'int',
} %}
with

stock_counted_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'stock.counted'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        stock_counted_events.*,
        {{ json_fields('stock_counted_events.data', fields) }} as payload
    from stock_counted_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.count_id,
        parsed.payload.node_id,
        parsed.payload.sku,
        parsed.occurred_at as counted_at,
        parsed.source as source_system,
        parsed.payload.system_quantity,
        parsed.payload.counted_quantity,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
