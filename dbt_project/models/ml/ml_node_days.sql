-- Per node and day: deliveries that day and how many missed their order's promise, with the
-- sourcing decisions and rejections of that day. A day's figures are known once it is over.
with

shipment_outcomes as (

    select * from {{ ref('ml_shipment_outcomes') }}

),

allocations as (

    select * from {{ ref('stg_oms__line_allocations') }}

),

rejections as (

    select * from {{ ref('stg_oms__line_rejections') }}

),

final as (

    select
        node_id,
        outcome_date as activity_date,
        count(*) as deliveries,
        sum(is_late) as late_deliveries,
        0 as allocations,
        0 as rejections
    from shipment_outcomes
    group by node_id, outcome_date
    union all
    select
        node_id,
        cast(allocated_at as date) as activity_date,
        0 as deliveries,
        0 as late_deliveries,
        count(*) as allocations,
        0 as rejections
    from allocations
    group by node_id, cast(allocated_at as date)
    union all
    select
        node_id,
        cast(rejected_at as date) as activity_date,
        0 as deliveries,
        0 as late_deliveries,
        0 as allocations,
        count(*) as rejections
    from rejections
    group by node_id, cast(rejected_at as date)

)

select * from final
