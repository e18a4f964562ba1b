{{ config(materialized='table') }}
-- One row per SKU from skus.csv. When the file has no ABC class, the class comes from sales
-- velocity (units ordered): the fastest SKUs making up 80% of units are A, the next 15% B, the
-- rest C, the usual Pareto cut; `abc_class_is_derived` says which.
with

skus as (

    select * from {{ ref('stg_reference__skus') }}

),

units_ordered as (

    select
        sku,
        sum(ordered_quantity) as units
    from {{ ref('int_order_lines') }}
    group by sku

),

velocity as (

    select
        skus.sku,
        coalesce(units_ordered.units, 0) as units_ordered,
        sum(coalesce(units_ordered.units, 0)) over (
            order by coalesce(units_ordered.units, 0) desc, skus.sku
            rows between unbounded preceding and current row
        ) as cumulative_units,
        sum(coalesce(units_ordered.units, 0)) over () as total_units
    from skus
    left join units_ordered on skus.sku = units_ordered.sku

),

final as (

    select
        skus.sku,
        skus.category,
        {{ money('skus.unit_price') }} as unit_price,
        {{ money('skus.unit_cost') }} as unit_cost,
        skus.weight_kg,
        velocity.units_ordered,
        coalesce(
            skus.abc_class,
            case
                when velocity.total_units = 0 then 'C'
                when velocity.cumulative_units - velocity.units_ordered < 0.80 * velocity.total_units then 'A'
                when velocity.cumulative_units - velocity.units_ordered < 0.95 * velocity.total_units then 'B'
                else 'C'
            end
        ) as abc_class,
        skus.abc_class is null as abc_class_is_derived
    from skus
    inner join velocity on skus.sku = velocity.sku

)

select * from final
