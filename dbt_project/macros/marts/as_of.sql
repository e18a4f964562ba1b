{#-
    The instant "now" means for ages and open SLA breaches: the var `as_of` when given
    (`dbt build --vars '{as_of: "2024-12-31 23:59:59"}'`), else the newest event's time. Using
    the data's own clock keeps a rebuild of the same events identical, whenever it runs.
-#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}
    cast('{{ var("as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
    (select max(latest.occurred_at) from {{ source('raw', 'events') }} as latest)
    {%- endif -%}
{%- endmacro %}
