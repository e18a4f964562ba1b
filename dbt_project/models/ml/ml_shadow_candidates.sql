{{ config(materialized='table', tags=['replay']) }}
-- The shadow replay's candidates (pipelines/replay/): per order's first sourcing decision (one
-- row of ml_delivery_features), the node the OMS chose and every node that could have taken
-- the order instead and might have won under the routing feed's rule, each as it stood at the
-- decision's cutoff:
--   could take it: the node's stock record held every line (its available to promise at the end
--     of the day before the cutoff, fct_inventory_positions); a warehouse that keeps no stock
--     record at all (a marketplace such as Olist) counts a node that had been allocated each
--     line's SKU on an earlier day (it offered the item);
--   own cost: pick/pack (dim_nodes) x units + the OMS's own shipping cost per km x distance,
--     the per-km rate fitted on the estimated ship costs of single-node decisions of earlier
--     days (0 when not positive, or from fewer than 30 decisions);
--   penalty, late risk and record risk: ml_routing_penalties on the cutoff's day;
--   features: the delivery model's node-dependent features for that node at that cutoff
--     (macros/ml/node_context.sql), the chosen node's taken from ml_delivery_features.
-- Only delivery orders sourced from one node are replayed (`is_replayed`): a pickup order's
-- node is the customer's store, and a split order has no single node to move. Only a node
-- that could win is kept: under the replay's rule (the OMS's own preference stands, a node is
-- never cheaper to it than the chosen one), a node wins only with a smaller penalty that
-- outweighs its extra own cost; the rest are counted in `candidate_nodes` only.
with

features as (

    select * from {{ ref('ml_delivery_features') }}

),

orders as (

    select * from {{ ref('int_orders') }}

),

order_lines as (

    select * from {{ ref('int_order_lines') }}

),

positions as (

    select * from {{ ref('fct_inventory_positions') }}

),

allocations as (

    select * from {{ ref('stg_oms__line_allocations') }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

penalties as (

    select * from {{ ref('ml_routing_penalties') }}

),

shipment_outcomes as (

    select * from {{ ref('ml_shipment_outcomes') }}

),

node_days as (

    select * from {{ ref('ml_node_days') }}

),

allocation_spans as (

    select * from {{ ref('ml_allocation_spans') }}

),

decisions as (

    select
        features.order_id,
        features.cutoff_at,
        cast(features.cutoff_at as date) as cutoff_date,
        features.node_id as chosen_node_id,
        orders.ship_to_region,
        orders.ship_to_lat,
        orders.ship_to_lon,
        features.units_ordered,
        features.line_count,
        features.fulfillment_method = 'delivery' and features.nodes_at_allocation = 1 as is_replayed
    from features
    inner join orders on features.order_id = orders.order_id

),

lines as (

    select
        decisions.order_id,
        decisions.cutoff_date,
        order_lines.sku,
        order_lines.ordered_quantity
    from decisions
    inner join order_lines on decisions.order_id = order_lines.order_id
    where decisions.is_replayed

),

record_cover as (

    select
        lines.order_id,
        positions.node_id,
        count(*) as lines_covered
    from lines
    inner join positions
        on
            lines.sku = positions.sku
            and {{ dbt.dateadd('day', -1, 'lines.cutoff_date') }} = positions.position_date
            and lines.ordered_quantity <= positions.available_to_promise
    group by lines.order_id, positions.node_id

),

offers as (

    select
        allocations.node_id,
        order_lines.sku,
        min(cast(allocations.allocated_at as date)) as first_offered_date
    from allocations
    inner join order_lines
        on
            allocations.order_id = order_lines.order_id
            and allocations.line_id = order_lines.line_id
    group by allocations.node_id, order_lines.sku

),

offer_cover as (

    select
        lines.order_id,
        offers.node_id,
        count(*) as lines_covered
    from lines
    inner join offers
        on
            lines.sku = offers.sku
            and lines.cutoff_date > offers.first_offered_date
    where not exists (select 1 from positions)
    group by lines.order_id, offers.node_id

),

pairs as (

    select
        covers.order_id,
        covers.node_id
    from (
        select * from record_cover
        union all
        select * from offer_cover
    ) as covers
    inner join decisions on covers.order_id = decisions.order_id
    where covers.lines_covered = decisions.line_count
    union
    select
        order_id,
        chosen_node_id as node_id
    from decisions

),

cost_points as (

    -- The moments of (distance, estimated ship cost) as exact decimals, so that their sums do
    -- not depend on the order rows are added in (a float sum does).
    select
        cast(cutoff_at as date) as cutoff_date,
        cast(distance_km as decimal(38, 6)) as x,
        cast(estimated_ship_cost as decimal(38, 6)) as y
    from features
    where nodes_at_allocation = 1 and distance_km is not null and estimated_ship_cost is not null

),

cost_days as (

    select
        cutoff_date,
        count(*) as n,
        sum(x) as sx,
        sum(y) as sy,
        sum(cast(x * x as decimal(38, 6))) as sxx,
        sum(cast(x * y as decimal(38, 6))) as sxy
    from cost_points
    group by cutoff_date

),

cost_moments as (

    -- Every earlier day's decisions together.
    select
        decision_days.cutoff_date,
        sum(cost_days.n) as n,
        cast(sum(cost_days.sx) as double) as sx,
        cast(sum(cost_days.sy) as double) as sy,
        cast(sum(cost_days.sxx) as double) as sxx,
        cast(sum(cost_days.sxy) as double) as sxy
    from (select distinct cutoff_date from decisions) as decision_days
    left join cost_days on decision_days.cutoff_date > cost_days.cutoff_date
    group by decision_days.cutoff_date

),

ship_rates as (

    -- The least-squares slope of estimated ship cost on distance.
    select
        cutoff_date,
        case
            when n >= 30
                then greatest(coalesce((n * sxy - sx * sy) / nullif(n * sxx - sx * sx, 0), 0), 0)
            else 0
        end as ship_cost_per_km
    from cost_moments

),

priced as (

    select
        decisions.order_id,
        decisions.cutoff_at,
        decisions.cutoff_date,
        decisions.ship_to_region,
        pairs.node_id,
        pairs.node_id = decisions.chosen_node_id as is_chosen,
        decisions.is_replayed,
        count(*) over (partition by decisions.order_id) as candidate_nodes,
        nodes.node_type,
        {{ ml_distance_km('nodes.lat', 'nodes.lon', 'decisions.ship_to_lat', 'decisions.ship_to_lon') }} as distance_km,
        ship_rates.ship_cost_per_km,
        -- Without the customer's place every node is as far: distance prices nothing. A node
        -- without a place of its own cannot be priced against the others (null).
        cast(nodes.pick_pack_cost_per_unit as double) * decisions.units_ordered
        + case
            when decisions.ship_to_lat is null or decisions.ship_to_lon is null then 0
            else
                ship_rates.ship_cost_per_km
                * {{ ml_distance_km('nodes.lat', 'nodes.lon', 'decisions.ship_to_lat', 'decisions.ship_to_lon') }}
        end as own_cost,
        penalties.routing_penalty,
        penalties.late_risk,
        penalties.p_reject,
        penalties.p_not_found,
        -- P(at least one line is cancelled for lack of stock after the record proves wrong).
        1 - power(1 - penalties.p_not_found * penalties.cancel_after_not_found, decisions.line_count)
            as p_cancel
    from pairs
    inner join decisions on pairs.order_id = decisions.order_id
    left join nodes on pairs.node_id = nodes.node_id
    left join penalties
        on
            pairs.node_id = penalties.node_id
            and decisions.cutoff_date = penalties.penalty_date
    left join ship_rates on decisions.cutoff_date = ship_rates.cutoff_date

),

contenders as (

    select rivals.*
    from priced as rivals
    inner join priced as chosen
        on
            rivals.order_id = chosen.order_id
            and chosen.is_chosen
    where
        not rivals.is_chosen
        and rivals.routing_penalty < chosen.routing_penalty
        and greatest(rivals.own_cost - chosen.own_cost, 0)
        < chosen.routing_penalty - rivals.routing_penalty

),

node_history as (
{{ node_history('contenders', 'node_days') }}
),

lane_history as (
{{ lane_history('contenders', 'shipment_outcomes') }}
),

node_backlog as (
{{ node_backlog('contenders', 'allocation_spans') }}
),

final as (

    select
        priced.order_id,
        priced.cutoff_at,
        priced.node_id,
        priced.is_chosen,
        priced.is_replayed,
        priced.candidate_nodes,
        priced.own_cost,
        priced.ship_cost_per_km,
        priced.routing_penalty,
        priced.late_risk,
        priced.p_reject,
        priced.p_not_found,
        priced.p_cancel,
        features.node_type,
        features.is_from_pickup_store,
        features.distance_km,
        features.node_deliveries_trailing,
        features.node_late_rate,
        features.node_rejection_rate,
        features.node_deliveries_before,
        features.node_late_rate_before,
        features.lane_extra_transit_days,
        features.lane_deliveries_trailing,
        features.node_backlog_units,
        features.node_backlog_days
    from priced
    inner join features on priced.order_id = features.order_id
    where priced.is_chosen
    union all
    select
        contenders.order_id,
        contenders.cutoff_at,
        contenders.node_id,
        contenders.is_chosen,
        contenders.is_replayed,
        contenders.candidate_nodes,
        contenders.own_cost,
        contenders.ship_cost_per_km,
        contenders.routing_penalty,
        contenders.late_risk,
        contenders.p_reject,
        contenders.p_not_found,
        contenders.p_cancel,
        contenders.node_type,
        false as is_from_pickup_store,
        contenders.distance_km,
        {{ node_context_columns('nodes', 'node_history', 'lane_history', 'node_backlog') }}
    from contenders
    left join nodes on contenders.node_id = nodes.node_id
    left join node_history
        on
            contenders.order_id = node_history.order_id
            and contenders.node_id = node_history.node_id
    left join lane_history
        on
            contenders.order_id = lane_history.order_id
            and contenders.node_id = lane_history.node_id
    left join node_backlog
        on
            contenders.order_id = node_backlog.order_id
            and contenders.node_id = node_backlog.node_id

)

select * from final
