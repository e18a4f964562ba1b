{{ config(materialized='view') }}

-- Every cycle count with the dashboard filter columns it has (a count belongs to a node, not
-- an order: report_date is the count day, node_type the node's) and the group keys the
-- accuracy aggregate uses, derived here once: agg_inventory_accuracy_daily sums these rows,
-- and a page's drill-down lists them.
with

counts as (

    select * from {{ ref('fct_inventory_counts') }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

final as (

    select
        counts.count_date as report_date,
        coalesce(counts.node_type, 'unknown') as node_type,
        coalesce(nodes.region, 'unknown') as node_region,
        counts.count_id,
        counts.node_id,
        counts.sku,
        coalesce(counts.category, 'unknown') as category,
        counts.abc_class,
        counts.counted_at,
        counts.system_quantity,
        counts.counted_quantity,
        counts.error_units,
        counts.tolerance_units,
        counts.is_accurate,
        counts.is_over,
        counts.is_under
    from counts
    left join nodes on counts.node_id = nodes.node_id

)

select * from final
