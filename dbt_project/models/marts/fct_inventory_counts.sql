{{ config(materialized='table') }}
-- One row per cycle count (stock.counted): the record error it exposed and whether the record
-- was accurate within its ABC tolerance (docs/kpis.md): |counted - system| <= floor(tolerance x
-- system), A 1%, B 3%, C 5%. The floor makes small quantities exact. Overs and unders are kept
-- apart so that they never net.
with

stg_oms__stock_counts as (

    select * from {{ ref('stg_oms__stock_counts') }}

),

dim_nodes as (

    select * from {{ ref('dim_nodes') }}

),

dim_skus as (

    select * from {{ ref('dim_skus') }}

),

counts as (

    select
        stock_counts.*,
        row_number() over (
            partition by stock_counts.count_id
            order by stock_counts.counted_at, stock_counts.event_id
        ) as count_rank
    from stg_oms__stock_counts as stock_counts

),

tolerances as (

    select
        'A' as abc_class,
        0.01 as tolerance_share
    union all
    select
        'B' as abc_class,
        0.03 as tolerance_share
    union all
    select
        'C' as abc_class,
        0.05 as tolerance_share

),

final as (

    select
        counts.count_id,
        counts.node_id,
        nodes.node_type,
        counts.sku,
        skus.category,
        skus.abc_class,
        counts.counted_at,
        cast(counts.counted_at as date) as count_date,
        counts.system_quantity,
        counts.counted_quantity,
        counts.counted_quantity - counts.system_quantity as error_units,
        abs(counts.counted_quantity - counts.system_quantity) as abs_error_units,
        tolerances.tolerance_share,
        cast(floor(tolerances.tolerance_share * counts.system_quantity) as {{ dbt.type_bigint() }})
            as tolerance_units,
        abs(counts.counted_quantity - counts.system_quantity)
        <= floor(tolerances.tolerance_share * counts.system_quantity) as is_accurate,
        counts.counted_quantity > counts.system_quantity as is_over,
        counts.counted_quantity < counts.system_quantity as is_under
    from counts
    left join dim_nodes as nodes on counts.node_id = nodes.node_id
    left join dim_skus as skus on counts.sku = skus.sku
    left join tolerances on coalesce(skus.abc_class, 'C') = tolerances.abc_class
    where counts.count_rank = 1

)

select * from final
