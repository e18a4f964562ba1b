{%- set fields = {
    'channel': 'text',
    'customer_id': 'text',
    'fulfillment_method': 'text',
    'ship_to': {'postal_code': 'text', 'region': 'text', 'country': 'text', 'lat': 'number', 'lon': 'number'},
    'pickup_node_id': 'text',
    'promised_by': 'text',
    'currency': 'text',
    'shipping_charged': 'number',
    'lines': ['json'],
} %}
with

order_placed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.placed'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        order_placed_events.*,
        {{ json_fields('order_placed_events.data', fields) }} as payload
    from order_placed_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.occurred_at as placed_at,
        parsed.source as source_system,
        parsed.payload.channel,
        parsed.payload.customer_id,
        parsed.payload.fulfillment_method,
        {{ optional_text('parsed.payload.ship_to.postal_code') }} as ship_to_postal_code,
        parsed.payload.ship_to.region as ship_to_region,
        parsed.payload.ship_to.country as ship_to_country,
        parsed.payload.ship_to.lat as ship_to_lat,
        parsed.payload.ship_to.lon as ship_to_lon,
        {{ optional_text('parsed.payload.pickup_node_id') }} as pickup_node_id,
        {{ parse_rfc3339_utc('parsed.payload.promised_by') }} as promised_by,
        parsed.payload.currency,
        parsed.payload.shipping_charged,
        {{ array_size('parsed.payload.lines') }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
