-- Every allocated line's open span at its node: from its allocation until it was packed or
-- shipped, was rejected or cancelled, whichever came first (far in the future while none has).
-- Packing ends the node's work on the line: a pickup from the store's own shelf is packed and
-- never shipped, so a span closed only by shipping would stay open for good. A node's
-- backlog at an instant is the units of the spans open then (macros/ml/node_context.sql).
with

allocations as (

    select * from {{ ref('stg_oms__line_allocations') }}
    {{ only_touched_orders() }}

),

rejections as (

    select * from {{ ref('stg_oms__line_rejections') }}
    {{ only_touched_orders() }}

),

cancellations as (

    select * from {{ ref('stg_oms__line_cancellations') }}
    {{ only_touched_orders() }}

),

shipped as (

    select * from {{ ref('stg_oms__shipments_shipped') }}
    {{ only_touched_orders() }}

),

shipment_lines as (

    select * from {{ ref('stg_oms__shipment_lines') }}
    {{ only_touched_orders() }}

),

lines_packed as (

    select * from {{ ref('stg_oms__shipment_lines_packed') }}
    {{ only_touched_orders() }}

),

packed as (

    select * from {{ ref('stg_oms__shipments_packed') }}
    {{ only_touched_orders() }}

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

packed_lines as (

    select
        packed.node_id,
        lines_packed.order_id,
        lines_packed.line_id,
        lines_packed.packed_at
    from lines_packed
    inner join packed on lines_packed.shipment_id = packed.shipment_id

),

spans as (

    select
        allocations.order_id,
        allocations.node_id,
        allocations.allocated_at,
        allocations.quantity,
        least(
            coalesce(min(shipped.shipped_at), {{ far_future() }}),
            coalesce(min(packed_lines.packed_at), {{ far_future() }}),
            coalesce(min(rejections.rejected_at), {{ far_future() }}),
            coalesce(min(cancellations.cancelled_at), {{ far_future() }})
        ) as closed_at
    from allocations
    left join shipment_lines
        on
            allocations.order_id = shipment_lines.order_id
            and allocations.line_id = shipment_lines.line_id
    left join shipped
        on
            shipment_lines.shipment_id = shipped.shipment_id
            and allocations.node_id = shipped.node_id
            and allocations.allocated_at <= shipped.shipped_at
    left join packed_lines
        on
            allocations.order_id = packed_lines.order_id
            and allocations.line_id = packed_lines.line_id
            and allocations.node_id = packed_lines.node_id
            and allocations.allocated_at <= packed_lines.packed_at
    left join rejections
        on
            allocations.order_id = rejections.order_id
            and allocations.line_id = rejections.line_id
            and allocations.node_id = rejections.node_id
            and allocations.allocated_at <= rejections.rejected_at
    left join cancellations
        on
            allocations.order_id = cancellations.order_id
            and allocations.line_id = cancellations.line_id
            and allocations.allocated_at <= cancellations.cancelled_at
    group by
        allocations.event_id,
        allocations.order_id,
        allocations.node_id,
        allocations.allocated_at,
        allocations.quantity

),

final as (

    select
        spans.*,
        batches._max_batch_id
    from spans
    inner join batches on spans.order_id = batches.order_id

)

{{ select_by_order() }}
