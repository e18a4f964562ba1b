{{ config(materialized='table') }}
-- One row per carrier and service level from carriers.csv.
select
    carrier,
    service_level,
    transit_days,
    {{ money('base_cost') }} as base_cost,
    cost_per_kg
from {{ ref('stg_reference__carriers') }}
