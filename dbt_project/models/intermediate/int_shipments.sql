-- One row per shipment: packed, shipped, delivered and its exceptions, whichever have arrived.
-- Events may come late or twice, so each part is reduced to one row per shipment first.
-- An incremental run reads the packed and shipped events of the touched orders only, and the
-- deliveries and exceptions of those shipments by shipment_id (the key they are joined on), so
-- each shipment it rebuilds sees every event a full build would.
with

shipments_packed as (

    select * from {{ ref('stg_oms__shipments_packed') }}
    {{ only_touched_orders() }}

),

shipments_shipped as (

    select * from {{ ref('stg_oms__shipments_shipped') }}
    {{ only_touched_orders() }}

),

{% if is_incremental() -%}
-- The touched orders' shipments: their deliveries and exceptions are read by this key.
touched_shipments as (

    select shipment_id from shipments_packed
    union
    select shipment_id from shipments_shipped

),
{%- endif %}

shipment_deliveries as (

    select * from {{ ref('stg_oms__shipment_deliveries') }}
    {%- if is_incremental() %}
    where shipment_id in (select touched_shipments.shipment_id from touched_shipments)
    {%- endif %}

),

shipment_exceptions as (

    select * from {{ ref('stg_oms__shipment_exceptions') }}
    {%- if is_incremental() %}
    where shipment_id in (select touched_shipments.shipment_id from touched_shipments)
    {%- endif %}

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

packed as (

    select
        shipment_id,
        min(order_id) as order_id,
        min(node_id) as node_id,
        min(packed_at) as packed_at
    from shipments_packed
    group by shipment_id

),

shipped as (

    select
        shipment_id,
        min(order_id) as order_id,
        min(node_id) as node_id,
        min(shipped_at) as shipped_at,
        min(carrier) as carrier,
        min(service_level) as service_level,
        min(tracking_number) as tracking_number,
        min(shipping_cost) as shipping_cost,
        min(weight_kg) as weight_kg
    from shipments_shipped
    group by shipment_id

),

delivered as (

    select
        shipment_id,
        min(delivered_at) as delivered_at
    from shipment_deliveries
    group by shipment_id

),

exceptions as (

    select
        shipment_id,
        count(*) as exception_count,
        min(reported_at) as first_exception_at,
        {{ dbt.bool_or("exception_code = 'damaged'") }} as is_damaged,
        {{ dbt.bool_or("exception_code = 'lost'") }} as is_lost,
        {{ sorted_distinct_text('exception_code', ',') }} as exception_codes
    from shipment_exceptions
    group by shipment_id

),

-- Packed and shipped by a full join: a shipment may have only been packed, or (its packed event
-- late) only shipped. Cheaper than joining both to the union of their ids.
final as (

    select
        coalesce(shipped.shipment_id, packed.shipment_id) as shipment_id,
        coalesce(shipped.order_id, packed.order_id) as order_id,
        coalesce(shipped.node_id, packed.node_id) as node_id,
        packed.packed_at,
        shipped.shipped_at,
        delivered.delivered_at,
        shipped.carrier,
        shipped.service_level,
        shipped.tracking_number,
        shipped.shipping_cost,
        shipped.weight_kg,
        coalesce(exceptions.exception_count, 0) as exception_count,
        exceptions.first_exception_at,
        exceptions.exception_codes,
        coalesce(exceptions.is_damaged, false) as is_damaged,
        coalesce(exceptions.is_lost, false) as is_lost,
        batches._max_batch_id
    from packed
    full outer join shipped on packed.shipment_id = shipped.shipment_id
    left join delivered on coalesce(shipped.shipment_id, packed.shipment_id) = delivered.shipment_id
    left join exceptions on coalesce(shipped.shipment_id, packed.shipment_id) = exceptions.shipment_id
    left join batches on coalesce(shipped.order_id, packed.order_id) = batches.order_id

)

{{ select_by_order() }}
