{#
    Reading the raw `data` JSON column. Model SQL calls only these macros, never an engine's JSON
    functions, so another engine needs only its own <adapter>__ versions.

    A staging model names the fields it reads, with their types, in the shape of the JSON object,
    and parses the object once into a typed struct:

        {%- set fields = {
            'channel': 'text',
            'ship_to': {'postal_code': 'text', 'lat': 'number'},
            'lines': [{'line_id': 'text', 'quantity': 'int'}],
        } %}
        ...
        {{ json_fields('events.data', fields) }} as payload

    and then reads plain struct fields: `payload.channel`, `payload.ship_to.lat`. The types:
      text    a string (a number or boolean as its JSON text; an object as its JSON)
      number  a double-precision float (amounts, weights, coordinates)
      int     a 64-bit integer (quantities, attempts)
      json    the value as JSON
      {...}   an object with those fields
      [x]     an array whose elements are x
    A field that is missing or JSON null reads as null. The ingest has already checked every
    line against the contract, so a field has its contract type here.

    One typed parse is the cheapest way through the JSON: on 1,000,000 placements, the order's
    fields took 1.2 s where extracting each as JSON and converting it took 1.9 s, and the 1.76M
    order lines 0.85 s where extracting the array and then each item's fields took 3.5 s.
#}

{% macro json_fields(json_column, fields) -%}
    {{ return(adapter.dispatch('json_fields', 'omsi')(json_column, fields)) }}
{%- endmacro %}

{% macro default__json_fields(json_column, fields) -%}
    {{ missing_engine_macro('json_fields') }}
{%- endmacro %}

{% macro duckdb__json_fields(json_column, fields) -%}
    from_json({{ json_column }}, '{{ duckdb_json_structure(fields) }}')
{%- endmacro %}

{#- DuckDB's JSON structure (its from_json argument) for a `fields` shape, as above. -#}
{% macro duckdb_json_structure(shape) -%}
    {%- set types = {'text': 'VARCHAR', 'number': 'DOUBLE', 'int': 'BIGINT', 'json': 'JSON'} -%}
    {%- if shape is mapping -%}
        {
        {%- for name, inner in shape.items() -%}
            {{ json_field_name(name) | tojson }}:{{ duckdb_json_structure(inner) }}{{ ',' if not loop.last }}
        {%- endfor -%}
        }
    {%- elif shape is string and shape in types -%}
        "{{ types[shape] }}"
    {%- elif shape is sequence and shape is not string and shape | length == 1 -%}
        [{{ duckdb_json_structure(shape[0]) }}]
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "JSON field type " ~ shape ~ " is not one of 'text', 'number', 'int', 'json', "
            ~ "an object of fields {...} or an array of one element type [...]."
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- Spark's from_json takes the struct as a DDL schema. A field typed STRING whose JSON value is
    an object or array comes back as that value's JSON text, which is what 'json' asks for. -#}
{% macro spark__json_fields(json_column, fields) -%}
    from_json({{ json_column }}, '{{ spark_json_structure(fields) }}')
{%- endmacro %}

{% macro spark_json_structure(shape) -%}
    {%- set types = {'text': 'STRING', 'number': 'DOUBLE', 'int': 'BIGINT', 'json': 'STRING'} -%}
    {%- if shape is mapping -%}
        STRUCT<
        {%- for name, inner in shape.items() -%}
            {{ json_field_name(name) }}: {{ spark_json_structure(inner) }}{{ ', ' if not loop.last }}
        {%- endfor -%}
        >
    {%- elif shape is string and shape in types -%}
        {{ types[shape] }}
    {%- elif shape is sequence and shape is not string and shape | length == 1 -%}
        ARRAY<{{ spark_json_structure(shape[0]) }}>
    {%- else -%}
        {{ exceptions.raise_compiler_error("JSON field type " ~ shape ~ " is not supported.") }}
    {%- endif -%}
{%- endmacro %}

{#- A field name as it may appear in SQL as a struct field, unquoted. -#}
{% macro json_field_name(name) -%}
    {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', name) -%}
        {{ exceptions.raise_compiler_error(
            "JSON field '" ~ name ~ "' is not a plain field name: nest objects as {...}."
        ) }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}


{% macro missing_engine_macro(name) -%}
    {{ exceptions.raise_compiler_error(
        "omsi has no " ~ name ~ " for the '" ~ adapter.type() ~ "' adapter: add a macro named "
        ~ adapter.type() ~ "__" ~ name ~ " in dbt_project/macros/cross_engine/."
    ) }}
{%- endmacro %}


{#-
    An optional text field: null when missing, JSON null or empty. The contract says an empty
    string in an optional field means unknown, like a missing one (real exports write "" for what
    they do not have), so the marts never see '' as a value.
-#}
{% macro optional_text(text_value) -%}
    nullif({{ text_value }}, '')
{%- endmacro %}


{#- The number of elements of an array field, as a 64-bit integer. -#}
{% macro array_size(array_value) -%}
    {{ return(adapter.dispatch('array_size', 'omsi')(array_value)) }}
{%- endmacro %}

{% macro default__array_size(array_value) -%}
    {{ missing_engine_macro('array_size') }}
{%- endmacro %}

{% macro duckdb__array_size(array_value) -%}
    cast(len({{ array_value }}) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- Spark's size() of a null array is -1 unless ANSI mode is on; null here, as in DuckDB. -#}
{% macro spark__array_size(array_value) -%}
    cast(case when {{ array_value }} is not null then size({{ array_value }}) end as bigint)
{%- endmacro %}


{#
    A join clause that turns each element of an array field (read from a `json_fields` struct in
    an earlier CTE) into a row. After it, the query can read `<alias>.item` (the element: a
    struct, for an array of objects) and `<alias>.item_index` (its 1-based position in the
    array). A row whose array is missing or empty yields no rows.
#}
{% macro unnest_array(array_value, alias) -%}
    {{ return(adapter.dispatch('unnest_array', 'omsi')(array_value, alias)) }}
{%- endmacro %}

{% macro default__unnest_array(array_value, alias) -%}
    {{ missing_engine_macro('unnest_array') }}
{%- endmacro %}

{#- The elements and their positions unnested side by side in a subquery's select list: DuckDB's
    `cross join unnest(...) with ordinality` gives the same rows, but on 1,000,000 placements
    (1.76M lines) it took 1.6 s where this takes 0.7 s. -#}
{% macro duckdb__unnest_array(array_value, alias) -%}
    cross join (
        select
            unnest({{ array_value }}) as item,
            generate_subscripts({{ array_value }}, 1) as item_index
    ) as {{ alias }}
{%- endmacro %}

{#- Spark: a lateral view of the elements paired with their 1-based positions. -#}
{% macro spark__unnest_array(array_value, alias) -%}
    lateral view inline(
        transform(
            {{ array_value }},
            (element, position) -> struct(element as item, position + 1 as item_index)
        )
    ) {{ alias }}
{%- endmacro %}
