"""Compile the contract's JSON Schema into one set-based SQL classification for DuckDB.

Validating event by event with a JSON Schema library runs at a few thousand events per second;
the same rules as a single `case` expression over a table of raw lines run at hundreds of
thousands. The JSON Schema files stay the only definition of the contract: this module reads
them and supports exactly the keywords they use (type, required, properties, items, minItems,
enum, const, pattern, format date-time, minLength, maxLength, minimum, exclusiveMinimum,
maximum). `tests/test_contract_agreement.py` proves both give the same verdict and reason.

Each rule yields one machine-readable reason; the first failing rule wins, in this order:
envelope (missing, type, value), then the data fields of the event's type in schema order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.contract.schema_files import EVENT_TYPES, data_schema, envelope_schema

# The keyword in the schema files that marks a field as a stock or order quantity, so that a
# value below zero gets the contract's own reason (negative_quantity) rather than invalid_value.
QUANTITY_MARK = "x-omsi-quantity"

_JSON_TYPES = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
    "boolean": ("BOOLEAN",),
    "null": ("NULL",),
}
_ITEM = "__omsi_item__"  # placeholder for one array element while compiling item rules
_SUPPORTED = {
    "type", "required", "properties", "items", "minItems", "enum", "const", "pattern", "format",
    "minLength", "maxLength", "minimum", "exclusiveMinimum", "maximum", "title", "description",
    "$schema", "$id", QUANTITY_MARK,
}


@dataclass(frozen=True)
class Rule:
    """One check: `failing` is a SQL boolean that is true when the event breaks it."""

    reason: str
    failing: str
    detail: str
    event_type: str | None = None  # None: applies to every line (the envelope)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in_list(values: tuple[str, ...] | list[Any]) -> str:
    return "(" + ", ".join(_lit(str(v)) for v in values) + ")"


def _type_test(json_value: str, types: list[str]) -> str:
    """SQL true when the JSON text `json_value` has one of the JSON Schema `types`."""
    duck = [t for name in types for t in _JSON_TYPES[name]]
    test = f"json_type({json_value}) in {_in_list(duck)}"
    if "integer" in types and "number" not in types:
        # JSON Schema counts 2.0 as an integer; DuckDB reports it as DOUBLE.
        number = f"try_cast({json_value} as double)"
        whole = f"(json_type({json_value}) = 'DOUBLE' and {number} = floor({number}))"
        test = f"({test} or {whole})"
    return test


class _Compiler:
    def __init__(self, event_type: str | None = None) -> None:
        self.rules: list[Rule] = []
        self.event_type = event_type

    def field(self, name: str, value: str, schema: dict[str, Any], guard: str, required: bool) -> None:
        """Rules for one field whose JSON text is the SQL expression `value` (NULL when absent).

        `guard` is a SQL prefix ending in "and " (or empty) that must hold for the rule to apply:
        a nested field is only checked when its parent is present and of the right type.
        """
        unknown = set(schema) - _SUPPORTED
        if unknown:
            raise ValueError(f"contract field {name!r} uses unsupported keywords {sorted(unknown)}")
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if required:
            self.add(f"missing_field:{name}", f"{guard}{value} is null",
                     f"'required field {name} is missing'")
        present = f"{guard}{value} is not null"
        self.add(f"wrong_type:{name}", f"{present} and not {_type_test(value, types)}",
                 f"'{name} must be {' or '.join(types)}, got ' || lower(json_type({value}))")
        if "null" in types:
            present += f" and json_type({value}) <> 'NULL'"
        main_type = next(t for t in types if t != "null")
        if main_type == "string":
            self.string(name, f"json_extract_string({value}, '$')", schema, present + " and ")
        elif main_type in ("integer", "number"):
            self.number(name, f"try_cast({value} as double)", schema, present + " and ")
        elif main_type == "object":
            for child, child_schema in schema.get("properties", {}).items():
                self.field(f"{name}.{child}", f"json_extract({value}, {_lit('$.' + child)})",
                           child_schema, present + " and ", child in schema.get("required", []))
        elif main_type == "array":
            self.array(name, value, schema, present + " and ")

    def string(self, name: str, text: str, schema: dict[str, Any], guard: str) -> None:
        if "minLength" in schema:
            self.add(f"invalid_value:{name}", f"{guard}length({text}) < {schema['minLength']}",
                     f"'{name} must have at least {schema['minLength']} characters'")
        if "maxLength" in schema:
            self.add(f"invalid_value:{name}", f"{guard}length({text}) > {schema['maxLength']}",
                     f"'{name} must have at most {schema['maxLength']} characters'")
        if schema.get("format") == "date-time":
            # The pattern pins RFC 3339 with an offset; the cast rejects impossible dates (Feb 30).
            parsed = f"try_cast(upper({text}) as timestamptz)"
            bad = (f"not regexp_matches({text}, {_lit(schema['pattern'])}) or {parsed} is null"
                   f" or {text} like '0000-%'")
            self.add("bad_timestamp", f"{guard}({bad})",
                     f"'{name} is not an RFC 3339 timestamp with offset: ' || {text}")
        elif "pattern" in schema:
            self.add(f"invalid_value:{name}",
                     f"{guard}not regexp_matches({text}, {_lit(schema['pattern'])})",
                     f"'{name} does not match {schema['pattern']}: ' || {text}")
        if "enum" in schema:
            reason = "unknown_event_type" if name == "event_type" else f"invalid_value:{name}"
            self.add(reason, f"{guard}{text} not in {_in_list(schema['enum'])}",
                     f"'{name} ' || {text} || ' is not one of {', '.join(schema['enum'])}'")

    def number(self, name: str, number: str, schema: dict[str, Any], guard: str) -> None:
        below = "negative_quantity" if schema.get(QUANTITY_MARK) else f"invalid_value:{name}"
        for keyword, op in (("minimum", "<"), ("exclusiveMinimum", "<=")):
            if keyword in schema:
                bound = schema[keyword]
                if below == "negative_quantity":
                    # Below zero is the contract's negative_quantity; zero where zero is not allowed
                    # is a plain invalid value.
                    self.add(below, f"{guard}{number} < 0", f"'{name} is negative: ' || {number}")
                    if bound == 0 and keyword == "minimum":
                        continue
                self.add(f"invalid_value:{name}", f"{guard}{number} {op} {bound}",
                         f"'{name} must be {'>=' if op == '<' else '>'} {bound}, got ' || {number}")
        if "maximum" in schema:
            self.add(f"invalid_value:{name}", f"{guard}{number} > {schema['maximum']}",
                     f"'{name} must be <= {schema['maximum']}, got ' || {number}")
        if "const" in schema:
            reason = "unsupported_schema_version" if name == "schema_version" else f"invalid_value:{name}"
            self.add(reason, f"{guard}{number} <> {schema['const']}",
                     f"'{name} must be {schema['const']}, got ' || {number}")

    def array(self, name: str, value: str, schema: dict[str, Any], guard: str) -> None:
        if "minItems" in schema:
            self.add(f"invalid_value:{name}",
                     f"{guard}json_array_length({value}) < {schema['minItems']}",
                     f"'{name} needs at least {schema['minItems']} item(s)'")
        items = schema.get("items")
        if not items:
            return
        # Compile the item schema against a placeholder, then ask whether any item fails; the
        # detail names the first failing item.
        item_rules = _Compiler()
        item_rules.field(name, _ITEM, items, "", required=False)
        elements = f"json_extract({value}, '$[*]')"
        for rule in item_rules.rules:
            failing = rule.failing.replace(_ITEM, "item")
            first = f"list_filter({elements}, lambda item: {failing})[1]"
            self.add(rule.reason,
                     f"{guard}coalesce(list_bool_or([{failing} for item in {elements}]), false)",
                     rule.detail.replace(_ITEM, first))

    def add(self, reason: str, failing: str, detail: str) -> None:
        self.rules.append(Rule(reason, failing, detail, self.event_type))


@dataclass(frozen=True)
class CompiledContract:
    """The SQL pieces the ingest query is assembled from."""

    envelope_paths: list[str]
    data_paths: dict[str, list[str]]
    rules: list[Rule]

    def reason_sql(self) -> str:
        """A `case` yielding the first failing rule's reason, or NULL for a valid event."""
        return self._case(lambda rule: _lit(rule.reason))

    def detail_sql(self) -> str:
        """The same `case`, yielding a sentence for people instead of the reason."""
        return self._case(lambda rule: rule.detail)

    def _case(self, then: Callable[[Rule], str]) -> str:
        envelope = [r for r in self.rules if r.event_type is None]
        lines = [f"  when {r.failing} then {then(r)}" for r in envelope]
        lines.append("  else case event_type")
        for event_type in self.data_paths:
            scoped = [r for r in self.rules if r.event_type == event_type]
            whens = " ".join(f"when {r.failing} then {then(r)}" for r in scoped)
            lines.append(f"    when {_lit(event_type)} then case {whens} end")
        lines.append("  end")
        return "case\n" + "\n".join(lines) + "\nend"


def compile_contract(env_column: str = "env", data_column: str = "d") -> CompiledContract:
    """Rules over `env` (the envelope's fields as a JSON list) and `d` (the type's data fields).

    The ingest query extracts every field of a line with one `json_extract(raw, [paths])` call
    (one parse per line), so rules address values by position: `env[i]` and `d[i]`.
    """
    envelope = envelope_schema()
    env_fields = list(envelope["properties"])
    compiler = _Compiler()
    for i, name in enumerate(env_fields, start=1):
        compiler.field(name, f"{env_column}[{i}]", envelope["properties"][name], "",
                       name in envelope["required"])
    rules = compiler.rules
    data_paths: dict[str, list[str]] = {}
    for event_type in EVENT_TYPES:
        schema = data_schema(event_type)
        fields = list(schema["properties"])
        data_paths[event_type] = ["$.data." + f for f in fields]
        scoped = _Compiler(event_type)
        for i, name in enumerate(fields, start=1):
            scoped.field(name, f"{data_column}[{i}]", schema["properties"][name], "",
                         name in schema["required"])
        rules += scoped.rules
    return CompiledContract(["$." + f for f in env_fields], data_paths, rules)
