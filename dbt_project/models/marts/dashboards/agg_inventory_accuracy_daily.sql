-- Cycle counts per count day, node and category: accurate counts, and overs and unders kept
-- apart (never netted). Counts have no channel or fulfilment method; node_region is the node's region.
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
        counts.node_id,
        coalesce(counts.category, 'unknown') as category,
        count(*) as counts,
        sum(case when counts.is_accurate then 1 else 0 end) as accurate_counts,
        sum(case when counts.is_over then 1 else 0 end) as over_counts,
        sum(case when counts.is_under then 1 else 0 end) as under_counts,
        sum(case when counts.error_units > 0 then counts.error_units else 0 end) as over_units,
        sum(case when counts.error_units < 0 then -counts.error_units else 0 end) as under_units,
        sum(counts.system_quantity) as system_units
    from counts
    left join nodes on counts.node_id = nodes.node_id
    group by 1, 2, 3, 4, 5

)

select * from final
