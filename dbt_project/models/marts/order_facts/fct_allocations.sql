-- Every sourcing decision the OMS made, one row per order.line_allocated, with its attempt and
-- outcome (shipped, rejected and why, cancelled, superseded by a re-allocation, or open).
with

allocations as (

    select * from {{ ref('int_allocations') }}
    {{ only_touched_orders() }}

),

orders as (

    select
        order_id,
        channel,
        fulfillment_method,
        placed_at
    from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

final as (

    select
        allocations.allocation_id,
        allocations.order_id,
        allocations.line_id,
        allocations.attempt,
        allocations.node_id,
        nodes.node_type,
        orders.channel,
        orders.fulfillment_method,
        allocations.allocated_at,
        {{ seconds_between('orders.placed_at', 'allocations.allocated_at') }} / 3600.0  -- noqa: LT05
            as hours_from_placed,
        allocations.allocated_quantity,
        allocations.carrier,
        allocations.service_level,
        allocations.planned_ship_by,
        {{ money('allocations.estimated_ship_cost') }} as estimated_ship_cost,
        allocations.is_latest_attempt,
        allocations.outcome,
        allocations.fulfilled_quantity,
        allocations.fulfilled_at,
        allocations.rejected_quantity,
        allocations.rejection_reason,
        allocations.rejected_at,
        allocations.rejection_reason = 'not_found' as is_phantom_rejection,
        batches._max_batch_id
    from allocations
    left join orders on allocations.order_id = orders.order_id
    left join nodes on allocations.node_id = nodes.node_id
    left join batches on allocations.order_id = batches.order_id

)

{{ select_by_order() }}
