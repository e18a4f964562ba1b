{#
    Reading fields out of the raw `data` JSON column. Model SQL calls only these macros, never
    an engine's JSON functions, so another engine needs only its own <adapter>__ versions.

    `path` is a dotted field path inside the JSON object, e.g. 'order_id' or
    'ship_to.postal_code': each engine turns it into its own path syntax. Without one, the
    macros read the JSON value itself (an element of a `json_values` list, below).
#}

{% macro json_path_parts(path) -%}
    {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*', path) -%}
        {{ exceptions.raise_compiler_error(
            "JSON path '" ~ path ~ "' is not a dotted field path: write it as 'field' or "
            ~ "'object.field', without '$' or brackets."
        ) }}
    {%- endif -%}
    {{ return(path.split('.')) }}
{%- endmacro %}


{#- DuckDB's JSON path literal for a dotted `path`; '$', the value itself, without one. -#}
{% macro duckdb_json_path(path) -%}
    '${{ "" if path is none else "." ~ json_path_parts(path) | join(".") }}'
{%- endmacro %}


{#- The JSON at `path` of `json_column`, for a cast; the column itself without a path. -#}
{% macro duckdb_json_at(json_column, path) -%}
    {%- if path is none -%}
        {{ json_column }}
    {%- else -%}
        json_extract({{ json_column }}, {{ duckdb_json_path(path) }})
    {%- endif -%}
{%- endmacro %}


{% macro missing_engine_macro(name) -%}
    {{ exceptions.raise_compiler_error(
        "omsi has no " ~ name ~ " for the '" ~ adapter.type() ~ "' adapter: add a macro named "
        ~ adapter.type() ~ "__" ~ name ~ " in dbt_project/macros/cross_engine/."
    ) }}
{%- endmacro %}


{#- A JSON string field as text; null when the field is missing or JSON null. -#}
{% macro json_text(json_column, path=none) -%}
    {{ return(adapter.dispatch('json_text', 'omsi')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_text(json_column, path) -%}
    {{ missing_engine_macro('json_text') }}
{%- endmacro %}

{% macro duckdb__json_text(json_column, path) -%}
    json_extract_string({{ json_column }}, {{ duckdb_json_path(path) }})
{%- endmacro %}


{#-
    An optional JSON string field as text: null when missing, JSON null or empty. The contract
    says an empty string in an optional field means unknown, like a missing one (real exports
    write "" for what they do not have), so the marts never see '' as a value.
-#}
{% macro json_optional_text(json_column, path=none) -%}
    nullif({{ json_text(json_column, path) }}, '')
{%- endmacro %}


{#- A JSON number as a double-precision float (amounts, weights, coordinates). -#}
{% macro json_number(json_column, path=none) -%}
    {{ return(adapter.dispatch('json_number', 'omsi')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_number(json_column, path) -%}
    {{ missing_engine_macro('json_number') }}
{%- endmacro %}

{#- Not dbt.type_float(): that renders FLOAT, which is 4 bytes in DuckDB and loses cents. -#}
{% macro duckdb__json_number(json_column, path) -%}
    cast({{ duckdb_json_at(json_column, path) }} as double)
{%- endmacro %}


{#- A JSON integer (quantities, attempts) as a 64-bit integer. -#}
{% macro json_int(json_column, path=none) -%}
    {{ return(adapter.dispatch('json_int', 'omsi')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_int(json_column, path) -%}
    {{ missing_engine_macro('json_int') }}
{%- endmacro %}

{% macro duckdb__json_int(json_column, path) -%}
    cast({{ duckdb_json_at(json_column, path) }} as {{ dbt.type_bigint() }})
{%- endmacro %}


{#- The number of elements of a JSON array field. -#}
{% macro json_array_size(json_column, path=none) -%}
    {{ return(adapter.dispatch('json_array_size', 'omsi')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_array_size(json_column, path) -%}
    {{ missing_engine_macro('json_array_size') }}
{%- endmacro %}

{% macro duckdb__json_array_size(json_column, path) -%}
    cast(json_array_length({{ json_column }}, {{ duckdb_json_path(path) }}) as {{ dbt.type_bigint() }})
{%- endmacro %}


{#-
    Many fields of one JSON object, parsed once. Each json_text (json_number, ...) call parses its
    object again: the twelve fields of an order placement, read one by one, took 2.5 s on
    1,000,000 placements, and 0.7 s read from one parse. A model reads such fields in two steps:
    `json_values(json_column, paths)` in one CTE, the JSON value at each of `paths` (dotted
    field paths, as above), and in the next `json_text(json_value(values, paths, path))` (or
    json_optional_text, json_number, ...: the macros above, without a path), with the meaning
    json_text(json_column, path) has. `paths` is the same list in both. It pays for large
    objects read for many fields; for a few fields of a small object, reading them one by one
    was faster (the stock adjustments' four: 0.42 s against 0.53 s).
-#}
{% macro json_values(json_column, paths) -%}
    {{ return(adapter.dispatch('json_values', 'omsi')(json_column, paths)) }}
{%- endmacro %}

{% macro default__json_values(json_column, paths) -%}
    {{ missing_engine_macro('json_values') }}
{%- endmacro %}

{% macro duckdb__json_values(json_column, paths) -%}
    json_extract({{ json_column }}, [
        {%- for path in paths -%}
        {{ duckdb_json_path(path) }}{{ ', ' if not loop.last }}
        {%- endfor -%}
    ])
{%- endmacro %}

{#- `path`'s value in a `json_values` list, as JSON; 1-based, which DuckDB's lists are. -#}
{% macro json_value(values, paths, path) -%}
    {%- if path not in paths -%}
        {{ exceptions.raise_compiler_error("'" ~ path ~ "' is not one of the paths " ~ paths) }}
    {%- endif -%}
    {{ values }}[{{ paths.index(path) + 1 }}]
{%- endmacro %}

{#
    A join clause that turns each element of a JSON array field into a row. After it, the
    query can read `<alias>.item` (the element, as JSON for json_text/json_int/...) and
    `<alias>.item_index` (its 1-based position in the array). A row whose array is missing or
    empty yields no rows.
#}
{% macro unnest_json_array(json_column, path, alias) -%}
    {{ return(adapter.dispatch('unnest_json_array', 'omsi')(json_column, path, alias)) }}
{%- endmacro %}

{% macro default__unnest_json_array(json_column, path, alias) -%}
    {{ missing_engine_macro('unnest_json_array') }}
{%- endmacro %}

{#- The elements and their positions unnested side by side in a subquery's select list: DuckDB's
    `cross join unnest(...) with ordinality` gives the same rows, but on 1,000,000 placements
    (1.76M lines) it took 1.6 s where this takes 0.7 s. -#}
{% macro duckdb__unnest_json_array(json_column, path, alias) -%}
    {%- set elements -%}
        cast(json_extract({{ json_column }}, {{ duckdb_json_path(path) }}) as json [])
    {%- endset %}
    cross join (
        select
            unnest({{ elements }}) as item,
            generate_subscripts({{ elements }}, 1) as item_index
    ) as {{ alias }}
{%- endmacro %}
