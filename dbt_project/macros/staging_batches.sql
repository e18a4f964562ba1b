{#-
    Event staging models are tables that grow by ingest batch: an incremental run parses the
    JSON of the new batches only, and every model and test downstream reads typed columns
    instead of parsing `data` again. Raw events are never updated in place (a duplicate or a
    conflict never lands), so appending the new batches is complete.
-#}
{% macro only_new_batches() -%}
    {%- if is_incremental() -%}
    and batch_id > {{ built_through('_batch_id') }}
    {%- endif -%}
{%- endmacro %}
