"""Reorder lines without copying their text: Arrow string views over the blocks they were read in.

A string view is 16 bytes: the string's length, then either the string itself (12 bytes or
fewer) or its first four bytes, the index of the data buffer that holds it and its offset there.
Moving lines moves views; the text stays where the reader put it, and DuckDB reads views as
they are. pyarrow has no `take` for views (as of 26.0), and its `take` of ordinary strings
copies every byte: about 0.3 s per chunk of 128 MB, against 0.02 s for the views.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_INLINE = 12  # bytes: a string this short lives in its view, not in a data buffer


def over_block(block: memoryview, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Strings at `starts` with `lengths` in `block`, as views into it (not validated as UTF-8)."""
    data = np.frombuffer(block, dtype=np.uint8)
    # A view's 12 bytes after its length: the first four of the string and where it lives, or
    # the whole string when it is short, padded with zeros.
    tail = np.zeros((len(starts), 12), dtype=np.uint8)
    short = lengths <= _INLINE
    for i in range(_INLINE):
        fits = lengths > i if i < 4 else short & (lengths > i)
        tail[fits, i] = data[starts[fits] + i]
    fields = np.empty((len(starts), 4), dtype=np.int32)
    fields[:, 0] = lengths
    fields[:, 1:] = tail.view(np.int32)
    fields[~short, 2] = 0  # the block is the array's only data buffer
    fields[~short, 3] = starts[~short]
    return _from_fields(fields, [pa.py_buffer(block)])


def to_views(strings: pa.ChunkedArray) -> pa.Array:
    """One string_view array over every chunk's text, none of it copied."""
    if strings.null_count:
        raise ValueError("string views are built here for columns without NULLs")
    views, buffers = [], []
    for chunk in strings.chunks:
        as_views = chunk.cast(pa.string_view())  # views over the chunk's own data buffer
        _, view_buffer, *data = as_views.buffers()
        fields = np.frombuffer(view_buffer, dtype=np.int32).reshape(-1, 4)
        fields = fields[as_views.offset : as_views.offset + len(as_views)].copy()
        fields[fields[:, 0] > _INLINE, 2] += len(buffers)  # buffer indexes of the combined array
        views.append(fields)
        buffers.extend(data)
    fields = np.concatenate(views) if views else np.empty((0, 4), dtype=np.int32)
    return _from_fields(fields, buffers)


def _from_fields(fields: np.ndarray, buffers: list[pa.Buffer]) -> pa.Array:
    return pa.Array.from_buffers(
        pa.string_view(), len(fields), [None, pa.py_buffer(np.ascontiguousarray(fields))] + buffers
    )


def take(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """The rows of `table` at `positions`, string_view columns included."""
    columns = []
    for column in table.columns:
        if column.type == pa.string_view():
            single = to_views(column)
            _, view_buffer, *data = single.buffers()
            fields = np.frombuffer(view_buffer, dtype=np.int32).reshape(-1, 4)
            columns.append(_from_fields(fields[positions], data))
        else:
            columns.append(column.combine_chunks().take(positions))
    return pa.Table.from_arrays(columns, schema=table.schema)
