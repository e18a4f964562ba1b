{#- Fails once per column that holds a null, with how many rows hold one.

    One test per model for every column that must never be null, where dbt's own `not_null`
    is one test per column: a build pays dbt's and Dagster's cost per test (about 20 ms) once
    per model instead of once per column, and the columns are read in one scan. -#}
{% test not_null_columns(model, column_names) %}

{%- set checks = [] -%}
{%- for column in column_names -%}
    {%- do checks.append({'names': {'column_name': column}, 'fails': column ~ ' is null'}) -%}
{%- endfor -%}
{{ failing_rows_by_column(model, checks, 'null_rows') }}

{% endtest %}
