-- The live exception queue: every SLA breach still open at the as-of instant, most severe and
-- oldest first (queue_rank 1 is the first to work on), with the SLA in words and the order's
-- filter values. node_type and region are the order's (see dim_order_filters).
with

exceptions as (

    select * from {{ ref('fct_exceptions') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

open_exceptions as (

    select *
    from exceptions
    where is_open

),

final as (

    select
        open_exceptions.exception_id,
        row_number() over (
            order by
                case open_exceptions.severity when 'high' then 1 when 'medium' then 2 else 3 end asc,
                open_exceptions.age_hours desc,
                open_exceptions.exception_id asc
        ) as queue_rank,
        open_exceptions.exception_type,
        case open_exceptions.exception_type
            when 'not_allocated_in_time'
                then 'allocated within {{ var("allocation_sla_hours") }} h of placement'
            when 'not_shipped_by_plan' then 'shipped by the planned ship-by'
            when 'past_promise' then 'delivered or ready by promised_by'
            when 'shipment_exception' then 'carrier delivers without exception'
            when 'backorder' then 'line filled from stock'
        end as sla_breached,
        open_exceptions.severity,
        open_exceptions.age_hours,
        open_exceptions.breached_at,
        open_exceptions.code,
        open_exceptions.order_id,
        open_exceptions.line_id,
        open_exceptions.shipment_id,
        open_exceptions.node_id,
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        orders.promised_by,
        orders.revenue,
        open_exceptions.as_of_at
    from open_exceptions
    inner join filters on open_exceptions.order_id = filters.order_id
    left join orders on open_exceptions.order_id = orders.order_id

)

select * from final
