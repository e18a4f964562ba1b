with

skus as (

    select * from {{ source('raw', 'skus') }}

),

final as (

    select
        skus.sku,
        skus.category,
        skus.unit_price,
        skus.unit_cost,
        skus.weight_kg,
        skus.abc_class,
        skus.batch_id as _batch_id
    from skus

)

select * from final
