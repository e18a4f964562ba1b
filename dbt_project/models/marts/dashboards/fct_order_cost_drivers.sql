{{ config(materialized='view') }}

-- Each order's cost to serve with the component that drove it, so the most expensive orders
-- can be listed with why. Ties between components go to the first in cost_model order.
-- A view, like the other row-level dashboard relations: nothing in the warehouse reads it, and
-- serving copies it order by order (pipelines/serving/snapshot.py), so a table rebuilt whole
-- for every run (0.7 s at 1M orders) bought nothing.
with

costs as (

    select * from {{ ref('fct_cost_to_serve') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

final as (

    select
        costs.order_id,
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        costs.revenue,
        costs.total_cost,
        costs.cost_pct_of_revenue,
        case greatest(
            costs.pick_pack_cost, costs.packaging_cost, costs.outbound_shipping_cost,
            costs.payment_fees, costs.service_contact_cost, costs.return_shipping_cost,
            costs.return_handling_cost, costs.refunds_cost
        )
            when costs.pick_pack_cost then 'pick_pack'
            when costs.packaging_cost then 'packaging'
            when costs.outbound_shipping_cost then 'outbound_shipping'
            when costs.payment_fees then 'payment_fees'
            when costs.service_contact_cost then 'service_contacts'
            when costs.return_shipping_cost then 'return_shipping'
            when costs.return_handling_cost then 'return_handling'
            else 'refunds'
        end as largest_component,
        greatest(
            costs.pick_pack_cost, costs.packaging_cost, costs.outbound_shipping_cost,
            costs.payment_fees, costs.service_contact_cost, costs.return_shipping_cost,
            costs.return_handling_cost, costs.refunds_cost
        ) as largest_component_cost,
        costs.pick_pack_cost,
        costs.packaging_cost,
        costs.outbound_shipping_cost,
        costs.payment_fees,
        costs.service_contact_cost,
        costs.return_shipping_cost,
        costs.return_handling_cost,
        costs.refunds_cost,
        costs.service_contacts,
        costs.units_returned,
        costs._max_batch_id
    from costs
    inner join filters on costs.order_id = filters.order_id

)

select * from final
