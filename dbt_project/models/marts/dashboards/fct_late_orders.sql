{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_orders(also='is_open') }}"
) }}
-- Every order that broke its promise, done late or still open past promised_by at the as-of
-- instant, with the first cause found in the order's record, in this order of precedence:
--   not_allocated_in_time   first allocation later than var('allocation_sla_hours')
--   stock_rejection         a node rejected a line (re-allocation or cancellation followed)
--   backorder               a line waited for stock
--   shipped_after_plan      a shipment left its node after its planned ship-by
--   lost_or_damaged         the carrier lost or damaged a parcel
--   carrier_transit         shipped on plan, delivered after the promise
--   not_done_yet            still open past its promise with none of the above
-- An order's row changes only with its own events, or with the as-of instant while it is open.
-- So an incremental run deletes the rows of the touched orders and the open ones (pre-hook:
-- an order may stop being late), and recomputes the touched orders and every order not yet
-- completed (an open one may become late with no event of its own).
with

orders as (

    select * from {{ ref('fct_orders') }}
    {%- if is_incremental() %}
    where completed_at is null or order_id in ({{ touched_orders() }})
    {%- endif %}

),

shipments as (

    select * from {{ ref('fct_shipments') }}
    {%- if is_incremental() %}
    where order_id in (select orders.order_id from orders)
    {%- endif %}

),

filters as (

    select * from {{ ref('dim_order_filters') }}
    {%- if is_incremental() %}
    where order_id in (select orders.order_id from orders)
    {%- endif %}

),

as_of as (

    select {{ as_of_timestamp() }} as as_of_at

),

shipped as (

    select
        shipments.order_id,
        max(case when shipments.is_shipped_late then 1 else 0 end) = 1 as has_late_departure,
        max(shipments.carrier) as carrier
    from shipments
    group by 1

),

late as (

    select
        orders.*,
        coalesce(shipped.has_late_departure, false) as has_late_departure,
        shipped.carrier
    from orders
    left join shipped on orders.order_id = shipped.order_id
    where
        not orders.is_fully_cancelled
        and coalesce(orders.completed_at, (select as_of.as_of_at from as_of)) > orders.promised_by

),

final as (

    select
        late.order_id,
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        late.primary_node_id as node_id,
        late.carrier,
        late.placed_at,
        late.promised_by,
        late.completed_at,
        late.completed_at is null as is_open,
        {{ seconds_between(
            'late.promised_by',
            'coalesce(late.completed_at, (select as_of.as_of_at from as_of))'
        ) }} / 3600.0 as hours_late,
        case
            when
                late.first_allocated_at is null
                or late.first_allocated_at
                > {{ dbt.dateadd('hour', var('allocation_sla_hours'), 'late.placed_at') }}
                then 'not_allocated_in_time'
            when late.has_rejection then 'stock_rejection'
            when late.has_backorder then 'backorder'
            when late.has_late_departure then 'shipped_after_plan'
            when late.has_lost_shipment or late.has_damaged_shipment then 'lost_or_damaged'
            when late.completed_at is not null then 'carrier_transit'
            else 'not_done_yet'
        end as late_cause,
        late.has_rejection,
        late.has_backorder,
        late.has_late_departure,
        late.has_lost_shipment,
        late.has_damaged_shipment,
        late.is_reallocated,
        late.revenue,
        late._max_batch_id
    from late
    inner join filters on late.order_id = filters.order_id

)

select * from final
