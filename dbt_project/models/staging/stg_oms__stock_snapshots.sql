{%- set fields = {
    'node_id': 'text',
    'sku': 'text',
    'on_hand': 'int',
    'reserved': 'int',
    'in_transit': 'int',
} %}
with

stock_snapshot_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'stock.snapshot'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        stock_snapshot_events.*,
        {{ json_fields('stock_snapshot_events.data', fields) }} as payload
    from stock_snapshot_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.node_id,
        parsed.payload.sku,
        parsed.occurred_at as snapshot_at,
        parsed.source as source_system,
        parsed.payload.on_hand,
        parsed.payload.reserved,
        parsed.payload.in_transit,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
