{{ config(
    materialized='view',
    pre_hook=[
        "create schema if not exists {{ source('ml', 'shadow_routing_decisions').schema }}",
        "{{ create_shadow_routing_decisions() }}",
    ],
) }}
-- The shadow replay (`omsi replay`, pipelines/replay/): one row per order's first sourcing
-- decision, the node the OMS chose and the node the routing feed's rule would have chosen with
-- the penalties of that day, and the delivery model's expected P(late) and P(out-of-stock
-- cancellation) of both. An estimate from the model, not a measurement (docs/closed-loop.md).
-- A view over the replay's table, so it shows the latest replay without a rebuild; empty until
-- the first replay. Its pre-hook creates the table (macros/ml/shadow_routing_decisions.sql).
with

decisions as (

    select * from {{ source('ml', 'shadow_routing_decisions') }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

features as (

    select * from {{ ref('ml_delivery_features') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        decisions.order_id,
        decisions.cutoff_at,
        decisions.is_replayed,
        decisions.candidate_nodes,
        decisions.chosen_node_id,
        chosen_nodes.node_type as chosen_node_type,
        decisions.shadow_node_id,
        shadow_nodes.node_type as shadow_node_type,
        decisions.is_changed,
        decisions.chosen_own_cost,
        decisions.shadow_own_cost,
        decisions.chosen_routing_penalty,
        decisions.shadow_routing_penalty,
        decisions.p_late_chosen,
        decisions.p_late_shadow,
        decisions.p_late_shadow - decisions.p_late_chosen as p_late_change,
        decisions.p_cancel_chosen,
        decisions.p_cancel_shadow,
        decisions.p_cancel_shadow - decisions.p_cancel_chosen as p_cancel_change,
        features.is_late as observed_late,
        orders.has_stock_cancellation as observed_stock_cancellation,
        decisions.late_estimate,
        decisions.model_version,
        decisions.replayed_at
    from decisions
    left join nodes as chosen_nodes on decisions.chosen_node_id = chosen_nodes.node_id
    left join nodes as shadow_nodes on decisions.shadow_node_id = shadow_nodes.node_id
    left join features on decisions.order_id = features.order_id
    left join orders on decisions.order_id = orders.order_id

)

select * from final
