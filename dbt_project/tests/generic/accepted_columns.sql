{#- Fails once per column holding values it does not accept, with how many rows hold one.

    One test per model for its columns' accepted ranges and values, where a range test and dbt's
    accepted_values are one test per column: a build pays dbt's and Dagster's cost per test
    (about 20 ms) once per model, and the columns are read in one scan (as not_null_columns).
    `ranges` maps a column to `min_value` and/or `max_value` (inclusive unless `inclusive: false`),
    `values` maps a column to the values it accepts: text is quoted, numbers are not. A null
    passes both, as it does in the tests this one replaces. -#}
{% test accepted_columns(model, ranges={}, values={}) %}

{%- set checks = [] -%}
{%- for column, bounds in ranges.items() -%}
    {%- if bounds.get('min_value') is none and bounds.get('max_value') is none -%}
        {{ exceptions.raise_compiler_error(
            "accepted_columns on " ~ model ~ "." ~ column ~ " needs min_value, max_value or both."
        ) }}
    {%- endif -%}
    {%- set inclusive = bounds.get('inclusive', true) -%}
    {%- set outside = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do outside.append(column ~ (' < ' if inclusive else ' <= ') ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do outside.append(column ~ (' > ' if inclusive else ' >= ') ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- do checks.append({
        'names': {'column_name': column, 'accepts': 'range'}, 'fails': outside | join(' or ')
    }) -%}
{%- endfor -%}
{%- for column, accepted in values.items() -%}
    {%- set literals = [] -%}
    {%- for value in accepted -%}
        {%- do literals.append("'" ~ value | replace("'", "''") ~ "'" if value is string else value | string) -%}
    {%- endfor -%}
    {%- do checks.append({
        'names': {'column_name': column, 'accepts': 'values'},
        'fails': column ~ ' not in (' ~ literals | join(', ') ~ ')'
    }) -%}
{%- endfor -%}

{{ failing_rows_by_column(model, checks, 'failing_rows') }}

{% endtest %}
