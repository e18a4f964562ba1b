-- Ratio KPIs that count a subset of their denominator's cases lie in [0, 1]. Some ratios may pass 1
-- and are only held to >= 0: cost to serve as a share of revenue (costs can exceed revenue), WISMO
-- (an order may have several contacts) and return rates (returns are received, not checked against
-- what shipped).
select
    kpi_daily.kpi_date,
    kpi_daily.channel,
    kpi_daily.fulfillment_method,
    kpi_daily.node_type,
    kpi_daily.kpi,
    kpi_daily.value
from {{ ref('kpi_daily') }} as kpi_daily
inner join {{ ref('kpi_definitions') }} as definitions
    on kpi_daily.kpi = definitions.kpi
where
    definitions.unit = 'ratio'
    and (
        kpi_daily.value < 0
        or (
            kpi_daily.value > 1
            and kpi_daily.kpi not in (
                'cost_to_serve_pct_revenue', 'wismo_rate', 'return_rate_units', 'return_rate_revenue'
            )
        )
    )
