-- What each order cost to serve, by component, from the events and the cost model in
-- seeds/cost_model.csv (edit it to match your contracts). Amounts enter as cents (decimal) and
-- are priced with the model's decimal rates, so no float rounding reaches a cent; every
-- component is rounded to the cent on its own and the total is their sum, exactly.
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

cost_model as (

    select * from {{ ref('cost_model') }}

),

int_shipment_lines as (

    select * from {{ ref('int_shipment_lines') }}

),

dim_nodes as (

    select * from {{ ref('dim_nodes') }}

),

int_shipments as (

    select * from {{ ref('int_shipments') }}

),

stg_oms__payments as (

    select * from {{ ref('stg_oms__payments') }}

),

stg_oms__service_contacts as (

    select * from {{ ref('stg_oms__service_contacts') }}

),

stg_oms__returns_received as (

    select * from {{ ref('stg_oms__returns_received') }}

),

stg_oms__returns_initiated as (

    select * from {{ ref('stg_oms__returns_initiated') }}

),

stg_oms__return_lines_received as (

    select * from {{ ref('stg_oms__return_lines_received') }}

),

stg_oms__refunds as (

    select * from {{ ref('stg_oms__refunds') }}

),

orders as (

    select
        order_id,
        placed_date,
        channel,
        fulfillment_method,
        primary_node_type,
        revenue,
        _max_batch_id
    from fct_orders
    {{ only_touched_orders() }}

),

rates as (

    select
        component,
        applies_to,
        rate
    from cost_model

),

flat_rates as (

    -- The cost model's single-valued rates as one row.
    select
        max(case when component = 'packaging' then rate end) as packaging_per_shipment,
        max(case when component = 'payment_fee' then rate end) as payment_fee_share,
        max(case when component = 'payment_fee_fixed' then rate end) as payment_fee_fixed,
        max(case when component = 'return_handling' then rate end) as return_handling_per_unit
    from rates

),

picking as (

    -- Units packed at each node times the node's rate (nodes.csv, else the cost model default).
    select
        shipment_lines.order_id,
        sum(shipment_lines.packed_quantity * nodes.pick_pack_cost_per_unit) as pick_pack_cost,
        {{ dbt.bool_or("nodes.pick_pack_cost_is_default") }} as pick_pack_cost_is_default
    from int_shipment_lines as shipment_lines
    inner join dim_nodes as nodes on shipment_lines.node_id = nodes.node_id
    {{ only_touched_orders('shipment_lines.order_id') }}
    group by shipment_lines.order_id

),

shipping as (

    select
        shipments.order_id,
        count(case when shipments.packed_at is not null then 1 end) as packed_shipments,
        sum({{ money('coalesce(shipments.shipping_cost, 0)') }}) as outbound_shipping_cost
    from int_shipments as shipments
    {{ only_touched_orders('shipments.order_id') }}
    group by shipments.order_id

),

payments as (

    select
        order_id,
        count(*) as payment_count,
        sum({{ money('authorized_amount') }}) as authorized_amount
    from stg_oms__payments
    {{ only_touched_orders() }}
    group by order_id

),

contacts as (

    select
        contacts.order_id,
        count(*) as contact_count,
        sum(rates.rate) as contact_cost
    from (
        select distinct
            order_id,
            contact_id,
            contact_channel
        from stg_oms__service_contacts
        {{ only_touched_orders() }}
    ) as contacts
    left join rates
        on rates.component = 'service_contact' and contacts.contact_channel = rates.applies_to
    group by contacts.order_id

),

returns_received as (

    select
        received.order_id,
        sum({{ money('coalesce(received.return_shipping_cost, default_rate.rate, 0)') }}) as return_shipping_cost,
        {{ dbt.bool_or("received.return_shipping_cost is null") }} as return_shipping_cost_is_default
    from stg_oms__returns_received as received
    left join stg_oms__returns_initiated as initiated
        on received.return_id = initiated.return_id
    left join rates as default_rate
        on default_rate.component = 'return_shipping' and initiated.return_channel = default_rate.applies_to
    {{ only_touched_orders('received.order_id') }}
    group by received.order_id

),

returned_units as (

    select
        order_id,
        sum(quantity) as units_received
    from (
        select distinct
            return_id,
            order_id,
            line_index,
            quantity
        from stg_oms__return_lines_received
        {{ only_touched_orders() }}
    ) as received_items
    group by order_id

),

refunds as (

    -- Refunds with no return behind them (lost parcels, goodwill): money out with nothing back.
    -- A refund for returned goods reverses revenue instead; it is in fct_returns.
    select
        order_id,
        sum({{ money('refund_amount') }}) as unreturned_refunds
    from stg_oms__refunds
    where
        return_id is null
    {%- if is_incremental() %}
        and order_id in ({{ touched_orders() }})
        {%- endif %}
    group by order_id

),

components as (

    select
        orders.order_id,
        orders.placed_date,
        orders.channel,
        orders.fulfillment_method,
        orders.primary_node_type,
        orders.revenue,
        {{ money('coalesce(picking.pick_pack_cost, 0)') }} as pick_pack_cost,
        {{ money('coalesce(shipping.packed_shipments, 0) * flat_rates.packaging_per_shipment') }}
            as packaging_cost,
        {{ money('coalesce(shipping.outbound_shipping_cost, 0)') }} as outbound_shipping_cost,
        {{ money(
            'coalesce(payments.authorized_amount, 0) * flat_rates.payment_fee_share'
            ~ ' + coalesce(payments.payment_count, 0) * flat_rates.payment_fee_fixed'
        ) }} as payment_fees,
        {{ money('coalesce(contacts.contact_cost, 0)') }} as service_contact_cost,
        {{ money('coalesce(returns_received.return_shipping_cost, 0)') }} as return_shipping_cost,
        {{ money('coalesce(returned_units.units_received, 0) * flat_rates.return_handling_per_unit') }}
            as return_handling_cost,
        {{ money('coalesce(refunds.unreturned_refunds, 0)') }} as refunds_cost,
        coalesce(picking.pick_pack_cost_is_default, false) as pick_pack_cost_is_default,
        coalesce(returns_received.return_shipping_cost_is_default, false) as return_shipping_cost_is_default,
        coalesce(contacts.contact_count, 0) as service_contacts,
        coalesce(returned_units.units_received, 0) as units_returned
    from orders
    cross join flat_rates
    left join picking on orders.order_id = picking.order_id
    left join shipping on orders.order_id = shipping.order_id
    left join payments on orders.order_id = payments.order_id
    left join contacts on orders.order_id = contacts.order_id
    left join returns_received on orders.order_id = returns_received.order_id
    left join returned_units on orders.order_id = returned_units.order_id
    left join refunds on orders.order_id = refunds.order_id

),

totalled as (

    select
        components.*,
        components.pick_pack_cost
        + components.packaging_cost
        + components.outbound_shipping_cost
        + components.payment_fees
        + components.service_contact_cost
        + components.return_shipping_cost
        + components.return_handling_cost
        + components.refunds_cost as total_cost
    from components

),

final as (

    select
        totalled.*,
        case when totalled.revenue > 0 then {{ divide('totalled.total_cost', 'totalled.revenue') }} end
            as cost_pct_of_revenue,
        orders._max_batch_id
    from totalled
    inner join orders on totalled.order_id = orders.order_id

)

{{ select_by_order() }}
