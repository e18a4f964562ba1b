"""Compile the contract's JSON Schema into one set-based SQL classification for DuckDB.

Validating event by event with a JSON Schema library runs at a few thousand events per second;
the same rules as one `case` expression over a table of raw lines run at hundreds of thousands.
The JSON Schema files stay the only definition of the contract: this module reads them and
supports exactly the keywords they use, and refuses any other. `tests/test_contract_agreement.py`
proves both give the same verdict, and a reason the JSON Schema also reports.

Speed comes from parsing each line twice, not once per rule. Rules belong to a scope: the
envelope, one event type's data, or the items of one array field (order lines). The ingest query
asks for the JSON type and the text of every field a line's rules read in one
`json_type(line, [paths])` and one `json_extract_string(line, [paths])` call: the envelope's paths,
then those of the line's own event type (known beforehand, see pipelines.ingest.events), so a line
pays only for its own fields. Items are parsed once more each. Rules then compare short strings in
lists.

The first failing rule wins: the envelope (missing, type, value), then the data fields of the
event's type in schema order, then the items of its array fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pipelines.contract.schema_files import EVENT_TYPES, data_schema, envelope_schema

# The keyword in the schema files that marks a stock or order quantity, so that a value below
# zero gets the contract's own reason (negative_quantity) rather than invalid_value.
QUANTITY_MARK = "x-omsi-quantity"

_DUCK_TYPES = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
    "boolean": ("BOOLEAN",),
    "null": ("NULL",),
}
_SUPPORTED = {
    "type",
    "required",
    "properties",
    "items",
    "minItems",
    "enum",
    "const",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "title",
    "description",
    "$schema",
    "$id",
    QUANTITY_MARK,
}


# An array index: NULL on an object, at the cost of a lookup (see `_lists_sql`).
_UNREAD = "$[0]"


def _lit(text: object) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _tuple(values: Any) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _array(values: Any) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


@dataclass(frozen=True)
class Rule:
    """One check: `failing` is a SQL boolean that is true when the event breaks it."""

    reason: str
    failing: str
    detail: str
    event_type: str | None = None  # None: the envelope, checked for every line


@dataclass(frozen=True)
class _Scalar:
    """One field's JSON type and text, as elements of the scope's lists."""

    type_: str
    text: str

    def missing(self) -> str:
        return f"{self.type_} is null"

    def present(self) -> str:
        return f"{self.type_} is not null"

    def not_null(self) -> str:
        return f"{self.type_} not in ('NULL')"

    def has_types(self, allowed: tuple[str, ...], integer: bool) -> str:
        test = f"{self.type_} in {_tuple(allowed)}"
        if integer:
            # JSON Schema counts 2.0 as an integer; DuckDB reports it as DOUBLE.
            # An overflowing literal (1e400) reads as infinity, which is no integer.
            number = f"try_cast({self.text} as double)"
            whole = f"isfinite({number}) and {number} = floor({number})"
            test = f"({test} or ({self.type_} = 'DOUBLE' and {whole}))"
        return test

    def test_text(self, predicate: Callable[[str], str]) -> str:
        return predicate(self.text)

    def test_number(self, predicate: Callable[[str], str]) -> str:
        return predicate(f"try_cast({self.text} as double)")


@dataclass
class _Scope:
    """The rules of one scope and the JSON paths they read, relative to the scope's JSON value.

    One `json_type` and one `json_extract_string` call over `paths` serve all the scope's rules.
    """

    event_type: str | None  # None: the envelope, checked for every line
    paths: list[str]
    type_list: str  # SQL name of the list of JSON types of `paths`
    text_list: str  # SQL name of the list of their texts
    array_path: str | None = None  # for an item scope: the array's path in the line
    rules: list[Rule] = field(default_factory=list)
    offset: int = 0  # where `paths` start in the lists: a data scope's follow the envelope's

    def position(self, path: str) -> int:
        """The 1-based place of `path`'s type and text in the scope's lists."""
        return self.paths.index(path) + 1 + self.offset

    def scalar(self, path: str) -> _Scalar:
        if path not in self.paths:
            self.paths.append(path)
        i = self.position(path)
        return _Scalar(f"{self.type_list}[{i}]", f"{self.text_list}[{i}]")

    def add(self, reason: str, failing: str, detail: str) -> None:
        self.rules.append(Rule(reason, failing, detail, self.event_type))

    def lists_sql(self, json_value: str) -> tuple[str, str]:
        """The type and text lists this scope's rules read, over the SQL JSON value given."""
        return _lists_sql(json_value, self.paths)

    def case_sql(self, then: Callable[[Rule], str]) -> str:
        whens = "\n    ".join(f"when {r.failing} then {then(r)}" for r in self.rules)
        return f"case\n    {whens}\n  end"


def _lists_sql(json_value: str, paths: list[str]) -> tuple[str, str]:
    # No rule reads the root's text, and extracting it would write the whole line out again:
    # its place in the text list asks for a path that an object never has.
    texts = [_UNREAD if p == "$" else p for p in paths]
    return (
        f"json_type({json_value}, {_array(paths)})",
        f"json_extract_string({json_value}, {_array(texts)})",
    )


def _and(*parts: str) -> str:
    return " and ".join(p for p in parts if p)


def _compile_field(
    scope: _Scope,
    name: str,
    path: str,
    schema: dict[str, Any],
    guard: str,
    required: bool,
    value: _Scalar,
    item_scopes: list[_Scope],
) -> None:
    """Rules for one field; `guard` must hold for them to apply (its parent is an object)."""
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise ValueError(f"contract field {name!r} uses unsupported keywords {sorted(unknown)}")
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    main = next(t for t in types if t != "null")
    if required:
        scope.add(
            f"missing_field:{name}",
            _and(guard, value.missing()),
            f"'required field {name} is missing'",
        )
    present = _and(guard, value.present())
    allowed = tuple(d for t in types for d in _DUCK_TYPES[t])
    scope.add(
        f"wrong_type:{name}",
        _and(present, f"not ({value.has_types(allowed, main == 'integer')})"),
        f"'{name} must be {' or '.join(types)}, got ' || {value.text}",
    )
    checked = _and(present, value.not_null()) if "null" in types else present
    if main == "string":
        _string_rules(scope, name, schema, checked, value)
    elif main in ("integer", "number"):
        _number_rules(scope, name, schema, checked, value)
    elif main == "object":
        for child, child_schema in schema.get("properties", {}).items():
            child_path = f"{path}.{child}"
            _compile_field(
                scope,
                f"{name}.{child}",
                child_path,
                child_schema,
                _and(guard, f"{value.type_} = 'OBJECT'"),
                child in schema.get("required", []),
                scope.scalar(child_path),
                item_scopes,
            )
    elif main == "array":
        if scope.array_path is not None:
            raise ValueError(f"contract field {name!r}: arrays inside arrays are not supported")
        _array_rules(scope, name, path, schema, value, item_scopes)


def _string_rules(
    scope: _Scope, name: str, schema: dict[str, Any], guard: str, value: _Scalar
) -> None:
    if "minLength" in schema:
        n = schema["minLength"]
        scope.add(
            f"invalid_value:{name}",
            _and(guard, value.test_text(lambda v: f"length({v}) < {n}")),
            f"'{name} must have at least {n} character(s)'",
        )
    if "maxLength" in schema:
        n = schema["maxLength"]
        scope.add(
            f"invalid_value:{name}",
            _and(guard, value.test_text(lambda v: f"length({v}) > {n}")),
            f"'{name} must have at most {n} characters'",
        )
    if schema.get("format") == "date-time":
        # The pattern pins RFC 3339 with an offset; the cast rejects impossible dates (Feb 30).
        pattern = _lit(schema["pattern"])
        scope.add(
            "bad_timestamp",
            _and(
                guard,
                value.test_text(
                    lambda v: (
                        f"(not regexp_matches({v}, {pattern}) or try_cast(upper({v}) as timestamptz) is null"
                        f" or starts_with({v}, '0000'))"
                    )
                ),
            ),
            f"'{name} is not an RFC 3339 timestamp with offset: ' || {value.text}",
        )
    elif "pattern" in schema:
        pattern = _lit(schema["pattern"])
        scope.add(
            f"invalid_value:{name}",
            _and(guard, value.test_text(lambda v: f"not regexp_matches({v}, {pattern})")),
            f"'{name} must match {schema['pattern']}, got ' || {value.text}",
        )
    if "enum" in schema:
        reason = "unknown_event_type" if name == "event_type" else f"invalid_value:{name}"
        allowed = _tuple(schema["enum"])
        scope.add(
            reason,
            _and(guard, value.test_text(lambda v: f"{v} not in {allowed}")),
            f"'{name} must be one of {', '.join(schema['enum'])}, got ' || {value.text}",
        )


def _number_rules(
    scope: _Scope, name: str, schema: dict[str, Any], guard: str, value: _Scalar
) -> None:
    if schema.get(QUANTITY_MARK):
        # Below zero is the contract's negative_quantity; a zero where zero is not allowed is a
        # plain invalid value.
        scope.add(
            "negative_quantity",
            _and(guard, value.test_number(lambda v: f"{v} < 0")),
            f"'{name} is negative: ' || {value.text}",
        )
    for keyword, op, words in (
        ("minimum", "<", ">="),
        ("exclusiveMinimum", "<=", ">"),
        ("maximum", ">", "<="),
    ):
        if keyword in schema:
            bound = schema[keyword]
            scope.add(
                f"invalid_value:{name}",
                _and(guard, value.test_number(lambda v, op=op, bound=bound: f"{v} {op} {bound}")),
                f"'{name} must be {words} {bound}, got ' || {value.text}",
            )
    if "const" in schema:
        reason = (
            "unsupported_schema_version" if name == "schema_version" else f"invalid_value:{name}"
        )
        const = schema["const"]
        scope.add(
            reason,
            _and(guard, value.test_number(lambda v: f"{v} <> {const}")),
            f"'{name} must be {const}, got ' || {value.text}",
        )


def _array_rules(
    scope: _Scope,
    name: str,
    path: str,
    schema: dict[str, Any],
    value: _Scalar,
    item_scopes: list[_Scope],
) -> None:
    if "minItems" in schema:
        n = schema["minItems"]
        scope.add(
            f"invalid_value:{name}",
            _and(
                value.present(),
                f"{value.type_} = 'ARRAY'",
                f"json_array_length({value.text}) < {n}",
            ),
            f"'{name} needs at least {n} item(s)'",
        )
    items = schema.get("items")
    if not items:
        return
    if set(items) - _SUPPORTED or items.get("type") != "object":
        raise ValueError(f"contract field {name!r}: only arrays of objects are supported")
    # The item's own type comes first in its lists, as the line's does in the envelope's.
    each = _Scope(scope.event_type, ["$"], "item.types", "item.texts", array_path=path)
    each.add(
        f"wrong_type:{name}",
        f"{each.scalar('$').type_} <> 'OBJECT'",
        f"'every item of {name} must be an object, got ' || item.json",
    )
    for child, child_schema in items.get("properties", {}).items():
        _compile_field(
            each,
            f"{name}.{child}",
            f"$.{child}",
            child_schema,
            "",
            child in items.get("required", []),
            each.scalar(f"$.{child}"),
            item_scopes,
        )
    item_scopes.append(each)


@dataclass(frozen=True)
class CompiledContract:
    """The scopes the ingest query is assembled from."""

    envelope: _Scope
    data: dict[str, _Scope]
    items: list[_Scope]

    @property
    def rules(self) -> list[Rule]:
        scopes = [self.envelope, *self.data.values(), *self.items]
        return [rule for scope in scopes for rule in scope.rules]

    def position(self, path: str) -> int:
        """The 1-based place of an envelope or carried path in a line's lists."""
        return self.envelope.position(path)

    def line_lists_sql(
        self, line: str, kind: str, event_types: Iterable[str] | None = None
    ) -> tuple[str, str]:
        """A line's type and text lists: the envelope's paths and the carried ones, then its type's.

        `kind` is SQL for the line's event type, read before its other fields. A line of another
        kind, or of a type not in `event_types` (default: all), gets the envelope's paths alone.
        """
        envelope = self.envelope.paths
        types, texts = [], []
        for event_type in self.data if event_types is None else event_types:
            both = _lists_sql(line, [*envelope, *self.data[event_type].paths])
            types.append(f"when {_lit(event_type)} then {both[0]}")
            texts.append(f"when {_lit(event_type)} then {both[1]}")
        alone = _lists_sql(line, envelope)
        if not types:
            return alone
        return (
            f"case {kind} {' '.join(types)} else {alone[0]} end",
            f"case {kind} {' '.join(texts)} else {alone[1]} end",
        )

    def items_sql(self, scope: _Scope) -> str:
        """The list of structs `item` an item scope's rules read, for lambdas over it.

        The array's text is taken from its event type's text list, so items cost a parse of the
        array alone.
        """
        data = self.data[scope.event_type]
        array = f"{data.text_list}[{data.position(scope.array_path)}]"
        types, texts = scope.lists_sql("j")
        return (
            f"list_transform(json_extract({array}, '$[*]'), "
            f"lambda j: {{'json': j, 'types': {types}, 'texts': {texts}}})"
        )


@cache
def compile_contract(carried: tuple[str, ...] = ()) -> CompiledContract:
    """Rules over lists of JSON types and texts of their scope's paths.

    A line's lists are `lt`/`ls`: the envelope's paths (the first is the root, `$`), then the
    `carried` paths (read for the caller, no rule checks them), then the paths of the line's event
    type. An item scope's lists are the fields `types`/`texts` of a struct `item` whose field
    `json` is the item itself.
    """
    envelope_doc = envelope_schema()
    envelope = _Scope(None, ["$"], "lt", "ls")  # the root's type tells an object from any value
    for name, schema in envelope_doc["properties"].items():
        value = envelope.scalar(f"$.{name}")
        if name == "data":
            # The data object's own fields are checked in its event type's scope.
            envelope.add("missing_field:data", value.missing(), "'required field data is missing'")
            envelope.add(
                "wrong_type:data",
                _and(value.present(), f"{value.type_} <> 'OBJECT'"),
                "'data must be object, got ' || " + value.text,
            )
            continue
        _compile_field(
            envelope, name, f"$.{name}", schema, "", name in envelope_doc["required"], value, []
        )
    envelope.paths.extend(carried)
    data: dict[str, _Scope] = {}
    items: list[_Scope] = []
    for event_type in EVENT_TYPES:
        doc = data_schema(event_type)
        scope = _Scope(event_type, [], "lt", "ls", offset=len(envelope.paths))
        for name, schema in doc["properties"].items():
            path = f"$.data.{name}"
            _compile_field(
                scope, name, path, schema, "", name in doc["required"], scope.scalar(path), items
            )
        data[event_type] = scope
    return CompiledContract(envelope, data, items)
