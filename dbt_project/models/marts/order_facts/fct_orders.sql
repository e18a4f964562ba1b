-- One row per order: its milestones, the promise and whether it was kept, what was cancelled,
-- how it was sourced and shipped, and its revenue. The flags follow docs/kpis.md; the decision log
-- (docs/decisions.md) says why where the field disagrees.
with

orders as (

    -- Carries `_max_batch_id`, the order's watermark, with int_orders' other columns.
    select * from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

lines as (

    select
        order_id,
        sum(ordered_quantity) as units_ordered,
        sum(fulfilled_quantity) as units_fulfilled,
        sum(cancelled_quantity) as units_cancelled,
        sum(returned_quantity) as units_returned,
        sum(ordered_value) as ordered_value,
        sum(cancelled_value) as cancelled_value,
        sum(returned_value) as returned_value,
        min(first_allocated_at) as first_allocated_at,
        {{ bool_and("is_in_full") }} as is_in_full,
        {{ dbt.bool_or("is_cancelled") }} as is_cancelled,
        {{ bool_and("cancelled_quantity >= ordered_quantity") }} as is_fully_cancelled,
        {{ value_at_min("cancellation_reason", "cancelled_at") }} as cancellation_reason,
        coalesce({{ dbt.bool_or("cancellation_reason = 'out_of_stock'") }}, false) as has_stock_cancellation,
        {{ dbt.bool_or("cancellation_reason = 'customer_request'") }} as has_customer_cancellation,
        {{ dbt.bool_or("is_reallocated") }} as is_reallocated,
        {{ dbt.bool_or("rejection_count > 0") }} as has_rejection,
        {{ dbt.bool_or("backordered_quantity > 0") }} as has_backorder,
        -- Every unit either reached the customer's side or was cancelled.
        {{ bool_and("fulfilled_quantity + cancelled_quantity >= ordered_quantity") }} as is_settled
    from {{ ref('fct_order_lines') }}
    {{ only_touched_orders() }}
    group by order_id

),

shipments as (

    select
        order_id,
        count(case when fulfilled_units > 0 then 1 end) as shipment_count,
        count(distinct case when fulfilled_units > 0 then node_id end) as node_count,
        min(shipped_at) as first_shipped_at,
        max(shipped_at) as last_shipped_at,
        max(delivered_at) as last_delivered_at,
        {{ bool_and("is_in_store_pickup or delivered_at is not null") }} as all_delivered,
        {{ dbt.bool_or("is_damaged") }} as has_damaged_shipment,
        {{ dbt.bool_or("is_lost") }} as has_lost_shipment,
        -- The node that fulfilled most units stands for the order in node-type breakdowns.
        {{ value_at_max("node_id", "fulfilled_units * 1000000 - row_number_in_order") }} as primary_node_id
    from (
        select
            fct_shipments.*,
            row_number() over (
                partition by fct_shipments.order_id order by fct_shipments.shipment_id
            ) as row_number_in_order
        from {{ ref('fct_shipments') }} as fct_shipments
        {{ only_touched_orders() }}
    ) as order_shipments
    group by order_id

),

pickups as (

    select
        order_id,
        max(case when pickup_status = 'ready' then status_changed_at end) as last_ready_at,
        min(case when pickup_status = 'collected' then status_changed_at end) as collected_at
    from {{ ref('stg_oms__pickups') }}
    {{ only_touched_orders() }}
    group by order_id

),

first_allocation as (

    select
        order_id,
        {{ value_at_min("node_id", "allocated_at") }} as first_node_id
    from {{ ref('int_allocations') }}
    {{ only_touched_orders() }}
    group by order_id

),

damage_returns as (

    select distinct order_id
    from {{ ref('stg_oms__return_lines_initiated') }}
    where return_reason in ('damaged', 'defective')
    {%- if is_incremental() %}
        and order_id in ({{ touched_orders() }})
    {%- endif %}

),

contacts as (

    select
        order_id,
        count(distinct contact_id) as service_contact_count,
        count(distinct case when topic = 'where_is_my_order' then contact_id end) as wismo_contact_count
    from {{ ref('stg_oms__service_contacts') }}
    {{ only_touched_orders() }}
    group by order_id

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

milestones as (

    select
        -- line_count, with the rest of the order, comes from int_orders.
        orders.*,
        lines.units_ordered,
        lines.units_fulfilled,
        lines.units_cancelled,
        lines.units_returned,
        lines.ordered_value,
        lines.cancelled_value,
        lines.returned_value,
        lines.first_allocated_at,
        lines.is_in_full,
        lines.is_cancelled,
        lines.is_fully_cancelled,
        lines.cancellation_reason,
        lines.has_stock_cancellation,
        lines.has_customer_cancellation,
        lines.is_reallocated,
        lines.has_rejection,
        lines.has_backorder,
        shipments.first_shipped_at,
        shipments.last_shipped_at,
        pickups.collected_at,
        coalesce(shipments.shipment_count, 0) as shipment_count,
        coalesce(shipments.node_count, 0) as node_count,
        coalesce(shipments.has_damaged_shipment, false) as has_damaged_shipment,
        coalesce(shipments.has_lost_shipment, false) as has_lost_shipment,
        case
            when orders.fulfillment_method = 'delivery' and lines.is_settled and shipments.all_delivered
                then shipments.last_delivered_at
        end as delivered_at,
        -- Ready when the last pickup.ready came after every unit was fulfilled and after the last
        -- transfer to the store left: a split pickup order announces each part as it arrives.
        case
            when
                orders.fulfillment_method = 'pickup'
                and lines.is_settled
                and pickups.last_ready_at >= coalesce(shipments.last_shipped_at, pickups.last_ready_at)
                then pickups.last_ready_at
        end as ready_for_pickup_at,
        coalesce(shipments.primary_node_id, first_allocation.first_node_id) as primary_node_id,
        damage_returns.order_id is not null as has_damage_return,
        coalesce(contacts.service_contact_count, 0) as service_contact_count,
        coalesce(contacts.wismo_contact_count, 0) as wismo_contact_count
    from orders
    left join lines on orders.order_id = lines.order_id
    left join shipments on orders.order_id = shipments.order_id
    left join pickups on orders.order_id = pickups.order_id
    left join first_allocation on orders.order_id = first_allocation.order_id
    left join damage_returns on orders.order_id = damage_returns.order_id
    left join contacts on orders.order_id = contacts.order_id

),

completion as (

    select
        milestones.*,
        -- Done for the customer: the last parcel delivered, or the order ready at the store.
        case
            when milestones.fulfillment_method = 'pickup' then milestones.ready_for_pickup_at
            else milestones.delivered_at
        end as completed_at
    from milestones

),

final as (

    select
        completion.order_id,
        completion.customer_id,
        completion.channel,
        completion.fulfillment_method,
        completion.source_system,
        completion.currency,
        completion.ship_to_region,
        completion.ship_to_country,
        completion.pickup_node_id,
        completion.placed_at,
        cast(completion.placed_at as date) as placed_date,
        completion.promised_by,
        completion.first_allocated_at,
        completion.first_shipped_at,
        completion.last_shipped_at,
        completion.delivered_at,
        completion.ready_for_pickup_at,
        completion.collected_at,
        completion.completed_at,
        completion.completed_at is not null as is_completed,
        completion.completed_at <= completion.promised_by as is_on_time,
        completion.is_in_full,
        case
            when completion.completed_at is not null
                then completion.completed_at <= completion.promised_by and completion.is_in_full
        end as is_otif,
        -- SCOR perfect order: customer-requested cancellations are excluded (null), and so are
        -- orders still on their way; a cancelled or late order is not perfect.
        case
            when completion.has_customer_cancellation then null
            when completion.completed_at is null and not completion.is_cancelled then null
            else
                coalesce(completion.completed_at <= completion.promised_by, false)
                and completion.is_in_full
                and not completion.has_damaged_shipment
                and not completion.has_damage_return
        end as is_perfect_order,
        completion.is_cancelled,
        completion.is_fully_cancelled,
        completion.cancellation_reason,
        completion.has_stock_cancellation,
        completion.line_count,
        completion.units_ordered,
        completion.units_fulfilled,
        completion.units_cancelled,
        completion.units_returned,
        completion.node_count,
        completion.shipment_count,
        completion.shipment_count > 1 as is_split,
        completion.is_reallocated,
        completion.has_rejection,
        completion.has_backorder,
        completion.has_damaged_shipment,
        completion.has_lost_shipment,
        completion.has_damage_return,
        completion.primary_node_id,
        coalesce(nodes.node_type, 'unallocated') as primary_node_type,
        completion.ordered_value,
        completion.cancelled_value,
        completion.returned_value,
        {{ money('completion.shipping_charged') }} as shipping_charged,
        -- Revenue: merchandise not cancelled plus the shipping the customer paid.
        completion.ordered_value - completion.cancelled_value + {{ money('completion.shipping_charged') }}
            as revenue,
        {{ seconds_between('completion.completed_at', 'completion.promised_by') }} / 3600.0  -- noqa: LT05
            as promise_slack_hours,
        {{ seconds_between('completion.placed_at', 'completion.last_shipped_at') }} / 3600.0  -- noqa: LT05
            as click_to_ship_hours,
        {{ seconds_between('completion.placed_at', 'completion.completed_at') }} / 3600.0  -- noqa: LT05
            as cycle_time_hours,
        completion.service_contact_count,
        completion.wismo_contact_count,
        completion._max_batch_id
    from completion
    left join nodes on completion.primary_node_id = nodes.node_id

)

{{ select_by_order() }}
