{#-
    The rows of kpi_daily for one source: per KPI in `measures` (kpi, numerator SQL,
    denominator SQL), its numerator and denominator per day x channel x method x node type.
    `grain` maps kpi_date, channel, fulfillment_method and node_type to SQL over `relation`.
-#}
{% macro kpi_rows(relation, grain, measures) -%}
    {%- for kpi, numerator, denominator in measures %}
    select
        {{ grain.kpi_date }} as kpi_date,
        {{ grain.channel }} as channel,
        {{ grain.fulfillment_method }} as fulfillment_method,
        {{ grain.node_type }} as node_type,
        '{{ kpi }}' as kpi,
        cast({{ numerator }} as double) as numerator,
        cast({{ denominator }} as double) as denominator
    from {{ relation }}
    group by 1, 2, 3, 4
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
