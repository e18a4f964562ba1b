{{ config(materialized='view') }}

-- The shadow replay per order placement day, filter values, chosen node and shadow node:
-- decisions, how many the feed's rule moves, and the expected late orders and out-of-stock
-- cancellations routed both ways. Sums the rows of fct_dashboard_shadow_routing (node_type: the
-- chosen node's own type). Probabilities are summed over decimals, so a sum does not depend on
-- row order. A view, like the rows it sums.
with

decisions as (

    select * from {{ ref('fct_dashboard_shadow_routing') }}

),

final as (

    select
        report_date,
        channel,
        fulfillment_method,
        node_type,
        region,
        chosen_node_id,
        shadow_node_id,
        count(*) as decisions,
        sum(case when is_replayed then 1 else 0 end) as replayed_decisions,
        sum(case when is_changed then 1 else 0 end) as changed_decisions,
        cast(sum(cast(p_late_chosen as decimal(18, 6))) as double) as expected_late_chosen,
        cast(sum(cast(p_late_shadow as decimal(18, 6))) as double) as expected_late_shadow,
        cast(sum(cast(p_cancel_chosen as decimal(18, 6))) as double) as expected_cancellations_chosen,
        cast(sum(cast(p_cancel_shadow as decimal(18, 6))) as double) as expected_cancellations_shadow
    from decisions
    group by 1, 2, 3, 4, 5, 6, 7

)

select * from final
