-- Cycle counts per count day, node and category: accurate counts, and overs and unders kept
-- apart (never netted). Sums the rows of fct_dashboard_counts; counts have no channel or
-- fulfilment method; node_region is the node's region.
with

counts as (

    select * from {{ ref('fct_dashboard_counts') }}

),

final as (

    select
        report_date,
        node_type,
        node_region,
        node_id,
        category,
        count(*) as counts,
        sum(case when is_accurate then 1 else 0 end) as accurate_counts,
        sum(case when is_over then 1 else 0 end) as over_counts,
        sum(case when is_under then 1 else 0 end) as under_counts,
        sum(case when error_units > 0 then error_units else 0 end) as over_units,
        sum(case when error_units < 0 then -error_units else 0 end) as under_units,
        sum(system_quantity) as system_units
    from counts
    group by 1, 2, 3, 4, 5

)

select * from final
