-- Units per shipment and order line: packed (picked at the node) and fulfilled (handed to the
-- customer's side: shipped, or packed at the pickup store for an in-store pickup, which never
-- ships). A re-sent event repeats the same line items, so items are made distinct first.
-- An incremental run reads the touched orders' shipments, and their line items by shipment_id.
with

orders as (

    select * from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

shipments as (

    select * from {{ ref('int_shipments') }}
    {{ only_touched_orders() }}

),

shipment_lines_packed as (

    select * from {{ ref('stg_oms__shipment_lines_packed') }}
    {%- if is_incremental() %}
    where shipment_id in (select shipments.shipment_id from shipments)
    {%- endif %}

),

shipment_lines_shipped as (

    select * from {{ ref('stg_oms__shipment_lines') }}
    {%- if is_incremental() %}
    where shipment_id in (select shipments.shipment_id from shipments)
    {%- endif %}

),

packed_lines as (

    select
        shipment_id,
        line_id,
        sum(quantity) as packed_quantity
    from (
        select distinct
            shipment_id,
            line_index,
            line_id,
            quantity
        from shipment_lines_packed
    ) as packed_items
    group by shipment_id, line_id

),

shipped_lines as (

    select
        shipment_id,
        line_id,
        sum(quantity) as shipped_quantity
    from (
        select distinct
            shipment_id,
            line_index,
            line_id,
            quantity
        from shipment_lines_shipped
    ) as shipped_items
    group by shipment_id, line_id

),

shipment_line_keys as (

    select
        shipment_id,
        line_id
    from packed_lines
    union
    select
        shipment_id,
        line_id
    from shipped_lines

),

final as (

    select
        shipment_line_keys.shipment_id,
        shipments.order_id,
        shipment_line_keys.line_id,
        shipments.node_id,
        coalesce(packed_lines.packed_quantity, 0) as packed_quantity,
        coalesce(shipped_lines.shipped_quantity, 0) as shipped_quantity,
        case
            when shipments.shipped_at is not null then coalesce(shipped_lines.shipped_quantity, 0)
            when
                orders.fulfillment_method = 'pickup'
                and shipments.node_id = orders.pickup_node_id
                then coalesce(packed_lines.packed_quantity, 0)
            else 0
        end as fulfilled_quantity,
        shipments._max_batch_id
    from shipment_line_keys
    inner join shipments on shipment_line_keys.shipment_id = shipments.shipment_id
    left join orders on shipments.order_id = orders.order_id
    left join packed_lines
        on
            shipment_line_keys.shipment_id = packed_lines.shipment_id
            and shipment_line_keys.line_id = packed_lines.line_id
    left join shipped_lines
        on
            shipment_line_keys.shipment_id = shipped_lines.shipment_id
            and shipment_line_keys.line_id = shipped_lines.line_id

)

select * from final
