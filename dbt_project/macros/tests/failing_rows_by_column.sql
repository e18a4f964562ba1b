{#- The body of a test that checks many columns of `model` in one scan (not_null_columns,
    accepted_columns): for each check, the rows on which its `fails` condition holds are counted,
    and each check with any gives one row, its `names` (output column to text) and the count as
    `counted_as`. One failing row per check, so dbt's failure count is the checks that failed. -#}
{% macro failing_rows_by_column(model, checks, counted_as) %}

with failing_rows as (

    select
        {%- for check in checks %}
        sum(case when {{ check.fails }} then 1 else 0 end) as n{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for check in checks %}
select
    {%- for name, text in check.names.items() %}
    '{{ text }}' as {{ name }},
    {%- endfor %}
    n{{ loop.index }} as {{ counted_as }}
from failing_rows
where n{{ loop.index }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endmacro %}
