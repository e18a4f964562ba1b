{#-
  The shadow replay's table, ml.shadow_routing_decisions: `omsi replay` (pipelines/replay/)
  replaces its rows, by column name, and marts.fct_shadow_routing is a view over it. The view's
  pre-hook creates it empty, so that a build never finds the source missing before the first
  replay, and this is the one place its columns are declared. On Spark the types are Spark's
  (text is `string`, and a timestamp without zone `timestamp_ntz`, as the models' are) and the
  table a Parquet one; the replay itself writes only to DuckDB so far (docs/scale-out.md).
-#}
{% macro create_shadow_routing_decisions() %}
{%- set varchar = 'string' if target.type == 'spark' else 'varchar' -%}
{%- set timestamp = 'timestamp_ntz' if target.type == 'spark' else 'timestamp' %}
create table if not exists {{ source('ml', 'shadow_routing_decisions') }} (
    order_id {{ varchar }} not null,
    cutoff_at {{ timestamp }} not null,         -- the decision's instant (first allocation)
    is_replayed boolean not null,               -- false: pickup or split decisions, kept as made
    candidate_nodes integer not null,           -- nodes whose record could take the order, chosen included
    chosen_node_id {{ varchar }} not null,      -- what the OMS chose
    shadow_node_id {{ varchar }} not null,      -- what the feed's rule would have chosen then
    is_changed boolean not null,
    chosen_own_cost double,                     -- estimated own cost (pick/pack + distance)
    shadow_own_cost double,
    chosen_routing_penalty double,              -- the feed's penalty of the node on the decision's day
    shadow_routing_penalty double,
    p_late_chosen double,                       -- expected P(late) routed as the OMS did
    p_late_shadow double,                       -- and as the feed's rule would have
    p_cancel_chosen double,                     -- expected P(an out-of-stock cancellation), both ways
    p_cancel_shadow double,
    late_estimate {{ varchar }} not null,       -- 'model' (the promoted delivery model) or 'history'
    model_version {{ varchar }},                -- the delivery model's version; null for 'history'
    replayed_at {{ timestamp }} not null
)
{%- if target.type == 'spark' %} using parquet{% endif %}
{% endmacro %}
