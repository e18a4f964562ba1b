"""Event contract v1: the JSON Schema files in `schema/v1/` are the published contract.

Everything else (the SQL validator, the simulator, the adapters' tests) reads these files, so a
change to the contract is a change to one place.
"""

from pipelines.contract.schema_files import (
    EVENT_TYPES,
    SCHEMA_DIR,
    data_schema,
    envelope_schema,
    event_validator,
)

__all__ = ["EVENT_TYPES", "SCHEMA_DIR", "data_schema", "envelope_schema", "event_validator"]
