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

-- Each line item once per kind of event it came in, then both kinds summed in one pass: one
-- grouping, where a grouping per kind, a union of their keys and two joins back cost about
-- half as much again (docs/decisions.md).
line_items as (

    select distinct
        'packed' as item_kind,
        shipment_id,
        line_index,
        line_id,
        quantity
    from shipment_lines_packed
    union all
    select distinct
        'shipped' as item_kind,
        shipment_id,
        line_index,
        line_id,
        quantity
    from shipment_lines_shipped

),

shipment_line_quantities as (

    select
        shipment_id,
        line_id,
        coalesce(sum(case when item_kind = 'packed' then quantity end), 0) as packed_quantity,
        coalesce(sum(case when item_kind = 'shipped' then quantity end), 0) as shipped_quantity
    from line_items
    group by shipment_id, line_id

),

final as (

    select
        shipment_line_quantities.shipment_id,
        shipments.order_id,
        shipment_line_quantities.line_id,
        shipments.node_id,
        shipment_line_quantities.packed_quantity,
        shipment_line_quantities.shipped_quantity,
        case
            when shipments.shipped_at is not null then shipment_line_quantities.shipped_quantity
            when
                orders.fulfillment_method = 'pickup'
                and shipments.node_id = orders.pickup_node_id
                then shipment_line_quantities.packed_quantity
            else 0
        end as fulfilled_quantity,
        -- The shipment's times, carried for the models that place a line's units in time.
        shipments.packed_at,
        shipments.shipped_at,
        shipments._max_batch_id
    from shipment_line_quantities
    inner join shipments on shipment_line_quantities.shipment_id = shipments.shipment_id
    left join orders on shipments.order_id = orders.order_id

)

{{ select_by_order() }}
