-- One row per returned order line: why it came back, what became of it, the refund and how
-- long each step took. A return's refund is shared among its lines by merchandise value.
with

stg_oms__return_lines_initiated as (

    select * from {{ ref('stg_oms__return_lines_initiated') }}

),

stg_oms__returns_initiated as (

    select * from {{ ref('stg_oms__returns_initiated') }}

),

stg_oms__return_lines_received as (

    select * from {{ ref('stg_oms__return_lines_received') }}

),

stg_oms__returns_received as (

    select * from {{ ref('stg_oms__returns_received') }}

),

stg_oms__refunds as (

    select * from {{ ref('stg_oms__refunds') }}

),

fct_order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

int_order_batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

initiated_lines as (

    select distinct
        return_id,
        order_id,
        line_index,
        line_id,
        quantity,
        return_reason
    from stg_oms__return_lines_initiated
    {{ only_touched_orders() }}

),

initiated as (

    select
        return_id,
        min(initiated_at) as initiated_at,
        min(return_channel) as return_channel
    from stg_oms__returns_initiated
    {{ only_touched_orders() }}
    group by return_id

),

received_lines as (

    select
        return_id,
        line_id,
        sum(quantity) as received_quantity,
        min(disposition) as disposition
    from (
        select distinct
            return_id,
            order_id,
            line_index,
            line_id,
            quantity,
            disposition
        from stg_oms__return_lines_received
        {{ only_touched_orders() }}
    ) as received_items
    group by return_id, line_id

),

received as (

    select
        return_id,
        min(received_at) as received_at,
        min(node_id) as received_node_id,
        min(return_shipping_cost) as return_shipping_cost
    from stg_oms__returns_received
    {{ only_touched_orders() }}
    group by return_id

),

refunds as (

    select
        return_id,
        sum(refund_amount) as refund_amount,
        min(issued_at) as refunded_at
    from stg_oms__refunds
    where
        return_id is not null
    {%- if is_incremental() %}
        and order_id in ({{ touched_orders() }})
        {%- endif %}
    group by return_id

),

order_lines as (

    select
        order_id,
        line_id,
        sku,
        category,
        unit_price
    from fct_order_lines
    {{ only_touched_orders() }}

),

valued as (

    select
        initiated_lines.*,
        order_lines.sku,
        order_lines.category,
        order_lines.unit_price,
        initiated_lines.quantity * order_lines.unit_price as line_value,
        sum(initiated_lines.quantity * order_lines.unit_price) over (
            partition by initiated_lines.return_id
        ) as return_value
    from initiated_lines
    left join order_lines
        on initiated_lines.order_id = order_lines.order_id and initiated_lines.line_id = order_lines.line_id

),

batches as (

    select * from int_order_batches

),

final as (

    select
        valued.return_id,
        valued.order_id,
        valued.line_id,
        valued.sku,
        valued.category,
        initiated.return_channel,
        valued.return_reason,
        valued.quantity as returned_quantity,
        coalesce(received_lines.received_quantity, 0) as received_quantity,
        received_lines.disposition,
        received.received_node_id,
        {{ money('valued.line_value') }} as returned_value,
        {{ money('refunds.refund_amount * valued.line_value / nullif(valued.return_value, 0)') }}
            as refund_amount,
        initiated.initiated_at,
        received.received_at,
        refunds.refunded_at,
        {{ seconds_between('initiated.initiated_at', 'received.received_at') }} / 86400.0  -- noqa: LT05
            as days_to_receive,
        {{ seconds_between('received.received_at', 'refunds.refunded_at') }} / 86400.0  -- noqa: LT05
            as refund_cycle_days,
        {{ seconds_between('initiated.initiated_at', 'refunds.refunded_at') }} / 86400.0  -- noqa: LT05
            as return_cycle_days,
        batches._max_batch_id
    from valued
    left join initiated on valued.return_id = initiated.return_id
    left join received_lines
        on valued.return_id = received_lines.return_id and valued.line_id = received_lines.line_id
    left join received on valued.return_id = received.return_id
    left join refunds on valued.return_id = refunds.return_id
    left join batches on valued.order_id = batches.order_id

)

{{ select_by_order() }}
