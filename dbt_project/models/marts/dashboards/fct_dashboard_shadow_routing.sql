{{ config(materialized='view') }}

-- Every replayed decision (fct_shadow_routing) with the five dashboard filter columns:
-- agg_shadow_routing_daily sums these rows, and the Fulfilment and routing page's drill-down
-- lists them. node_type is the chosen node's own type. A view, like its mart, so that a new
-- replay shows without a rebuild.
with

decisions as (

    select * from {{ ref('fct_shadow_routing') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

final as (

    select
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        coalesce(decisions.chosen_node_type, 'unknown') as node_type,
        filters.region,
        decisions.order_id,
        decisions.cutoff_at,
        decisions.is_replayed,
        decisions.candidate_nodes,
        decisions.chosen_node_id,
        decisions.shadow_node_id,
        decisions.shadow_node_type,
        decisions.is_changed,
        decisions.chosen_routing_penalty,
        decisions.shadow_routing_penalty,
        decisions.chosen_own_cost,
        decisions.shadow_own_cost,
        decisions.p_late_chosen,
        decisions.p_late_shadow,
        decisions.p_cancel_chosen,
        decisions.p_cancel_shadow,
        decisions.observed_late,
        decisions.late_estimate,
        decisions.model_version,
        decisions.replayed_at
    from decisions
    inner join filters on decisions.order_id = filters.order_id

)

select * from final
