-- Every sourcing decision (order.line_allocated) with what became of it. An allocation's
-- window runs from its own time to the line's next allocation: a rejection or a shipment from
-- the allocated node inside that window is this decision's outcome. Windows and matches stay
-- within an order line, so an incremental run reads the touched orders' events only.
with

line_allocations as (

    select * from {{ ref('stg_oms__line_allocations') }}
    {{ only_touched_orders() }}

),

line_rejections as (

    select * from {{ ref('stg_oms__line_rejections') }}
    {{ only_touched_orders() }}

),

line_cancellations as (

    select * from {{ ref('stg_oms__line_cancellations') }}
    {{ only_touched_orders() }}

),

shipment_lines as (

    select * from {{ ref('int_shipment_lines') }}
    {{ only_touched_orders() }}

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

allocations as (

    select
        allocations.*,
        lead(allocations.allocated_at) over (
            partition by allocations.order_id, allocations.line_id
            order by allocations.attempt, allocations.allocated_at, allocations.event_id
        ) as next_allocated_at
    from line_allocations as allocations

),

rejections as (

    select * from line_rejections

),

cancellations as (

    select
        order_id,
        line_id,
        min(cancelled_at) as cancelled_at
    from line_cancellations
    group by order_id, line_id

),

fulfilments as (

    select
        order_id,
        line_id,
        node_id,
        fulfilled_quantity,
        packed_at,
        shipped_at
    from shipment_lines
    where fulfilled_quantity > 0

),

matched as (

    select
        allocations.event_id,
        min(rejections.rejection_reason) as rejection_reason,
        min(rejections.rejected_at) as rejected_at,
        coalesce(sum(rejections.quantity), 0) as rejected_quantity
    from allocations
    inner join rejections
        on
            allocations.order_id = rejections.order_id
            and allocations.line_id = rejections.line_id
            and allocations.node_id = rejections.node_id
            and allocations.allocated_at <= rejections.rejected_at
            and (
                allocations.next_allocated_at is null
                or allocations.next_allocated_at >= rejections.rejected_at
            )
    group by allocations.event_id

),

fulfilled as (

    select
        allocations.event_id,
        sum(fulfilments.fulfilled_quantity) as fulfilled_quantity,
        min(coalesce(fulfilments.shipped_at, fulfilments.packed_at)) as fulfilled_at
    from allocations
    inner join fulfilments
        on
            allocations.order_id = fulfilments.order_id
            and allocations.line_id = fulfilments.line_id
            and allocations.node_id = fulfilments.node_id
            and allocations.allocated_at <= fulfilments.packed_at
            and (
                allocations.next_allocated_at is null
                or allocations.next_allocated_at > fulfilments.packed_at
            )
    group by allocations.event_id

),

final as (

    select
        allocations.event_id as allocation_id,
        allocations.order_id,
        allocations.line_id,
        allocations.attempt,
        allocations.node_id,
        allocations.allocated_at,
        allocations.quantity as allocated_quantity,
        allocations.carrier,
        allocations.service_level,
        allocations.planned_ship_by,
        allocations.estimated_ship_cost,
        allocations.next_allocated_at is null as is_latest_attempt,
        coalesce(fulfilled.fulfilled_quantity, 0) as fulfilled_quantity,
        fulfilled.fulfilled_at,
        coalesce(matched.rejected_quantity, 0) as rejected_quantity,
        matched.rejection_reason,
        matched.rejected_at,
        case
            when fulfilled.event_id is not null then 'shipped'
            when matched.event_id is not null then 'rejected'
            when cancellations.cancelled_at >= allocations.allocated_at then 'cancelled'
            when allocations.next_allocated_at is not null then 'superseded'
            else 'open'
        end as outcome,
        batches._max_batch_id
    from allocations
    left join fulfilled on allocations.event_id = fulfilled.event_id
    left join matched on allocations.event_id = matched.event_id
    left join cancellations
        on
            allocations.order_id = cancellations.order_id
            and allocations.line_id = cancellations.line_id
    left join batches on allocations.order_id = batches.order_id

)

{{ select_by_order() }}
