-- One row per order line: what was ordered, how it was sourced, and what the customer got.
with

touched_lines as (

    select * from {{ ref('int_order_lines') }}
    {{ only_touched_orders() }}

),

skus as (

    select * from {{ ref('dim_skus') }}

),

allocations as (

    select
        order_id,
        line_id,
        count(*) as allocation_count,
        max(attempt) as max_attempt,
        max(case when attempt = 1 then node_id end) as first_node_id,
        max(case when is_latest_attempt then node_id end) as final_node_id,
        min(allocated_at) as first_allocated_at,
        max(case when is_latest_attempt then planned_ship_by end) as planned_ship_by
    from {{ ref('int_allocations') }}
    {{ only_touched_orders() }}
    group by order_id, line_id

),

rejections as (

    select
        order_id,
        line_id,
        count(*) as rejection_count,
        sum(quantity) as rejected_quantity,
        {{ dbt.bool_or("rejection_reason = 'not_found'") }} as has_not_found
    from {{ ref('stg_oms__line_rejections') }}
    {{ only_touched_orders() }}
    group by order_id, line_id

),

cancellations as (

    select
        order_id,
        line_id,
        sum(quantity) as cancelled_quantity,
        min(cancelled_at) as cancelled_at,
        {{ value_at_min("cancellation_reason", "cancelled_at") }} as cancellation_reason
    from {{ ref('stg_oms__line_cancellations') }}
    {{ only_touched_orders() }}
    group by order_id, line_id

),

backorders as (

    select
        order_id,
        line_id,
        sum(quantity) as backordered_quantity
    from {{ ref('stg_oms__line_backorders') }}
    {{ only_touched_orders() }}
    group by order_id, line_id

),

fulfilment as (

    select
        shipment_lines.order_id,
        shipment_lines.line_id,
        sum(shipment_lines.fulfilled_quantity) as fulfilled_quantity,
        sum(shipment_lines.shipped_quantity) as shipped_quantity,
        -- int_shipment_lines has one row per shipment and line: no distinct needed (a distinct
        -- count cost a second of the full build at 1,000,000 orders).
        count(case when shipment_lines.fulfilled_quantity > 0 then 1 end) as shipment_count,
        max(coalesce(shipment_lines.shipped_at, shipment_lines.packed_at)) as last_fulfilled_at
    from {{ ref('int_shipment_lines') }} as shipment_lines
    {{ only_touched_orders('shipment_lines.order_id') }}
    group by shipment_lines.order_id, shipment_lines.line_id

),

returns as (

    select
        order_id,
        line_id,
        sum(quantity) as returned_quantity
    from (
        select distinct
            return_id,
            order_id,
            line_index,
            line_id,
            quantity
        from {{ ref('stg_oms__return_lines_received') }}
        {{ only_touched_orders() }}
    ) as received_items
    group by order_id, line_id

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

final as (

    select
        touched_lines.order_id,
        touched_lines.line_id,
        touched_lines.line_index,
        touched_lines.sku,
        skus.category,
        skus.abc_class,
        touched_lines.ordered_quantity,
        {{ money('touched_lines.unit_price') }} as unit_price,
        {{ money('touched_lines.ordered_value') }} as ordered_value,
        coalesce(allocations.allocation_count, 0) as allocation_count,
        coalesce(allocations.max_attempt, 0) as allocation_attempts,
        allocations.first_node_id,
        allocations.final_node_id,
        allocations.first_allocated_at,
        allocations.planned_ship_by,
        coalesce(rejections.rejection_count, 0) as rejection_count,
        coalesce(rejections.rejected_quantity, 0) as rejected_quantity,
        coalesce(rejections.has_not_found, false) as has_not_found_rejection,
        coalesce(backorders.backordered_quantity, 0) as backordered_quantity,
        coalesce(cancellations.cancelled_quantity, 0) as cancelled_quantity,
        cancellations.cancellation_reason,
        cancellations.cancelled_at,
        {{ money('coalesce(cancellations.cancelled_quantity, 0) * touched_lines.unit_price') }}
            as cancelled_value,
        coalesce(fulfilment.fulfilled_quantity, 0) as fulfilled_quantity,
        coalesce(fulfilment.shipped_quantity, 0) as shipped_quantity,
        coalesce(fulfilment.shipment_count, 0) as shipment_count,
        fulfilment.last_fulfilled_at,
        coalesce(returns.returned_quantity, 0) as returned_quantity,
        {{ money('coalesce(returns.returned_quantity, 0) * touched_lines.unit_price') }}
            as returned_value,
        coalesce(allocations.max_attempt, 0) > 1 as is_reallocated,
        cancellations.cancelled_quantity is not null as is_cancelled,
        -- In full (Fluent): every ordered unit reached the customer's side, nothing cancelled.
        coalesce(fulfilment.fulfilled_quantity, 0) >= touched_lines.ordered_quantity
        and cancellations.cancelled_quantity is null as is_in_full,
        -- First fill: in full from the first sourcing decision, without a re-allocation.
        coalesce(fulfilment.fulfilled_quantity, 0) >= touched_lines.ordered_quantity
        and cancellations.cancelled_quantity is null
        and coalesce(allocations.max_attempt, 0) = 1 as is_filled_first_allocation,
        batches._max_batch_id
    from touched_lines
    left join skus on touched_lines.sku = skus.sku
    left join allocations
        on touched_lines.order_id = allocations.order_id and touched_lines.line_id = allocations.line_id
    left join rejections
        on touched_lines.order_id = rejections.order_id and touched_lines.line_id = rejections.line_id
    left join cancellations
        on
            touched_lines.order_id = cancellations.order_id
            and touched_lines.line_id = cancellations.line_id
    left join backorders
        on touched_lines.order_id = backorders.order_id and touched_lines.line_id = backorders.line_id
    left join fulfilment
        on touched_lines.order_id = fulfilment.order_id and touched_lines.line_id = fulfilment.line_id
    left join returns
        on touched_lines.order_id = returns.order_id and touched_lines.line_id = returns.line_id
    left join batches on touched_lines.order_id = batches.order_id

)

{{ select_by_order() }}
