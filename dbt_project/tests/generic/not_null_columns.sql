{#- Fails once per column that holds a null, with how many rows hold one.

    One test per model for every column that must never be null, where dbt's own `not_null`
    is one test per column: a build pays dbt's and Dagster's cost per test (about 20 ms) once
    per model instead of once per column, and the columns are read in one scan. -#}
{% test not_null_columns(model, column_names) %}

with null_rows as (

    select
        {%- for column in column_names %}
        sum(case when {{ column }} is null then 1 else 0 end) as n{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column in column_names %}
select '{{ column }}' as column_name, n{{ loop.index }} as null_rows
from null_rows
where n{{ loop.index }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
