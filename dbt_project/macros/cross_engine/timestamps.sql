{#
    RFC 3339 text with an offset ('2024-05-01T10:00:00+02:00', 'z' or 'Z', up to nine
    fractional digits) to a UTC timestamp without zone, the warehouse's one timestamp type.
    Null stays null.
#}
{% macro parse_rfc3339_utc(text_expression) -%}
    {{ return(adapter.dispatch('parse_rfc3339_utc', 'omsi')(text_expression)) }}
{%- endmacro %}

{% macro default__parse_rfc3339_utc(text_expression) -%}
    {{ missing_engine_macro('parse_rfc3339_utc') }}
{%- endmacro %}

{#
    A plain cast to TIMESTAMP would drop the offset and keep the local wall time, so go through
    TIMESTAMPTZ (an instant) and read it back in UTC; the result does not depend on the
    session's TimeZone. upper(): DuckDB rejects the lower-case 't' and 'z' that RFC 3339 allows.
    Digits past microseconds are truncated.
#}
{% macro duckdb__parse_rfc3339_utc(text_expression) -%}
    timezone('UTC', cast(upper({{ text_expression }}) as timestamptz))
{%- endmacro %}

{#
    Spark casts RFC 3339 text with its offset to an instant, then to the wall time of the
    session's zone, which the spark target sets to UTC (profiles.yml). Digits past microseconds
    are truncated.
#}
{% macro spark__parse_rfc3339_utc(text_expression) -%}
    cast(cast(upper({{ text_expression }}) as timestamp) as timestamp_ntz)
{%- endmacro %}


{#- The ISO day of the week of a date or timestamp: 1 for Monday to 7 for Sunday. -#}
{% macro iso_weekday(expression) -%}
    {{ return(adapter.dispatch('iso_weekday', 'omsi')(expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(expression) -%}
    extract(isodow from {{ expression }})
{%- endmacro %}

{% macro spark__iso_weekday(expression) -%}
    cast(extract(dayofweek_iso from {{ expression }}) as bigint)
{%- endmacro %}


{#- Whole seconds from `start` to `end` (the second boundaries between them, as dbt's datediff
    counts), for durations: `seconds_between(a, b) / 3600.0` hours. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'omsi')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    {{ dbt.datediff(start, end, 'second') }}
{%- endmacro %}

{#- A double, so that dividing it gives a double, as DuckDB's `bigint / 3600.0` does: Spark
    would divide decimals and round to six places. The session's zone is UTC (profiles.yml). -#}
{% macro spark__seconds_between(start, end) -%}
    cast(
        unix_seconds(cast({{ end }} as timestamp)) - unix_seconds(cast({{ start }} as timestamp))
        as double
    )
{%- endmacro %}
