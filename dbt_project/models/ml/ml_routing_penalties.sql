{{ config(materialized='table') }}
-- One row per node and day: what the routing feed would have published about the node at the
-- start of that day, priced as the feed prices it (pipelines/feed/datasets.py, node_scores) but
-- from whole days before that day only, so that the shadow replay (pipelines/replay/) can rank
-- each historical decision with the penalties of its own time:
--   late_risk   the feed's history estimate: late deliveries / deliveries over the lookback,
--               smoothed towards the network's share with prior_strength pseudo-deliveries;
--   p_reject    rejected / (shipped + rejected) allocations over the lookback, smoothed alike;
--   routing_penalty = late_risk x late_order + p_reject x reallocation (cost model), to the cent.
-- An outcome counts on the day it became known (delivered, shipped or rejected), not on the day
-- its order was allocated: a decision still open at the start of the day is not in its figures.
-- The record side, for the replay's expected cancellations: p_not_found (the node's `not_found`
-- rejections over its decided allocations, smoothed alike) and the network's share of `not_found`
-- rejections that ended in an out-of-stock cancellation, over all days before (the events are
-- rare, so a lookback would leave it empty).
{%- set lookback = var('routing_lookback_days') %}
{%- set prior = var('routing_prior_strength') %}
with

nodes as (

    select * from {{ ref('dim_nodes') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

allocations as (

    select * from {{ ref('fct_allocations') }}

),

cancellations as (

    select * from {{ ref('stg_oms__line_cancellations') }}

),

shipment_outcomes as (

    select * from {{ ref('ml_shipment_outcomes') }}

),

cost_model as (

    select * from {{ ref('cost_model') }}

),

costs as (

    -- Null when the cost model lacks a row: the replay then says to rebuild, as the feed does.
    select
        max(case when component = 'late_order' then rate end) as late_order_cost,
        max(case when component = 'reallocation' then rate end) as reallocation_cost
    from cost_model
    where applies_to = 'all'

),

decision_span as (

    select
        min(cast(allocated_at as date)) as first_day,
        max(cast(allocated_at as date)) as last_day
    from allocations

),

grid as (

    select
        nodes.node_id,
        dates.date_day as penalty_date
    from nodes
    cross join dates
    inner join decision_span
        on dates.date_day between decision_span.first_day and decision_span.last_day

),

delivered_days as (

    select
        node_id,
        outcome_date as activity_date,
        count(*) as deliveries,
        sum(is_late) as late_deliveries
    from shipment_outcomes
    group by node_id, outcome_date

),

decided as (

    select
        node_id,
        outcome = 'rejected' as is_rejected,
        coalesce(rejection_reason = 'not_found', false) as is_not_found,
        cast(case when outcome = 'rejected' then rejected_at else fulfilled_at end as date) as activity_date
    from allocations
    where outcome in ('shipped', 'rejected')

),

decided_days as (

    select
        node_id,
        activity_date,
        count(*) as decided,
        sum(case when is_rejected then 1 else 0 end) as rejected,
        sum(case when is_not_found then 1 else 0 end) as not_found
    from decided
    group by node_id, activity_date

),

daily as (

    select
        grid.node_id,
        grid.penalty_date,
        coalesce(delivered_days.deliveries, 0) as deliveries,
        coalesce(delivered_days.late_deliveries, 0) as late_deliveries,
        coalesce(decided_days.decided, 0) as decided,
        coalesce(decided_days.rejected, 0) as rejected,
        coalesce(decided_days.not_found, 0) as not_found
    from grid
    left join delivered_days
        on
            grid.node_id = delivered_days.node_id
            and grid.penalty_date = delivered_days.activity_date
    left join decided_days
        on
            grid.node_id = decided_days.node_id
            and grid.penalty_date = decided_days.activity_date

),

windowed as (

    -- One row per node and day, so the rows before a day are its days before it.
    select
        node_id,
        penalty_date,
        coalesce(sum(deliveries) over lookback, 0) as deliveries,
        coalesce(sum(late_deliveries) over lookback, 0) as late_deliveries,
        coalesce(sum(decided) over lookback, 0) as decided,
        coalesce(sum(rejected) over lookback, 0) as rejected,
        coalesce(sum(not_found) over lookback, 0) as not_found
    from daily
    window lookback as (
        partition by node_id
        order by penalty_date
        rows between {{ lookback }} preceding and 1 preceding
    )

),

network as (

    select
        penalty_date,
        coalesce({{ divide('sum(late_deliveries) * 1.0', 'nullif(sum(deliveries), 0)') }}, 0) as late_rate,
        coalesce({{ divide('sum(rejected) * 1.0', 'nullif(sum(decided), 0)') }}, 0) as reject_rate,
        coalesce({{ divide('sum(not_found) * 1.0', 'nullif(sum(decided), 0)') }}, 0) as not_found_rate
    from windowed
    group by penalty_date

),

not_found_lines as (

    -- Each not_found rejection, and when (if ever) its line was cancelled for lack of stock.
    select
        cast(allocations.rejected_at as date) as rejected_date,
        cast(min(cancellations.cancelled_at) as date) as cancelled_date
    from allocations
    left join cancellations
        on
            allocations.order_id = cancellations.order_id
            and allocations.line_id = cancellations.line_id
            and cancellations.cancellation_reason = 'out_of_stock'
            and allocations.rejected_at <= cancellations.cancelled_at
    where allocations.rejection_reason = 'not_found'
    group by allocations.allocation_id, allocations.rejected_at

),

conversion as (

    select
        decision_days.penalty_date,
        coalesce(
            {{ divide(
                'sum(case when not_found_lines.cancelled_date < decision_days.penalty_date then 1 else 0 end) * 1.0',
                'nullif(count(not_found_lines.rejected_date), 0)'
            ) }},
            0
        ) as cancel_after_not_found
    from (select distinct penalty_date from grid) as decision_days
    left join not_found_lines on decision_days.penalty_date > not_found_lines.rejected_date
    group by decision_days.penalty_date

),

final as (

    select
        windowed.node_id,
        windowed.penalty_date,
        windowed.deliveries,
        windowed.late_deliveries,
        windowed.decided,
        windowed.rejected,
        windowed.not_found,
        (windowed.late_deliveries + {{ prior }} * network.late_rate)
        / (windowed.deliveries + {{ prior }}) as late_risk,
        (windowed.rejected + {{ prior }} * network.reject_rate)
        / (windowed.decided + {{ prior }}) as p_reject,
        (windowed.not_found + {{ prior }} * network.not_found_rate)
        / (windowed.decided + {{ prior }}) as p_not_found,
        conversion.cancel_after_not_found,
        round(
            (windowed.late_deliveries + {{ prior }} * network.late_rate)
            / (windowed.deliveries + {{ prior }}) * costs.late_order_cost
            + (windowed.rejected + {{ prior }} * network.reject_rate)
            / (windowed.decided + {{ prior }}) * costs.reallocation_cost,
            2
        ) as routing_penalty
    from windowed
    inner join network on windowed.penalty_date = network.penalty_date
    inner join conversion on windowed.penalty_date = conversion.penalty_date
    cross join costs

)

select * from final
