"""JSON payloads of UNS topics: one or many points per message, decoded into growing columns.

A topic's bindings name the dotted paths of their values in a message, e.g. ``value`` for a signal
topic and ``values.spindle_temp`` for an equipment topic. A message is one record or an array of
records; a record is an object with an optional ``ts`` (epoch milliseconds, or ISO 8601 text), an
optional ``quality`` (``good``, ``uncertain``, ``bad``) and the values. A bare number is a record
of its own ``value``, received now. ``null`` is a BAD point without a value.

Records that only carry some of a topic's fields (publish on change) are fine. A message that is
not JSON, has a record that is not an object, a timestamp that cannot be read, or none of the
topic's fields, is rejected whole (``Reject`` with the reason); a value that is not a number is
dropped and counted, and the message's other values are kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from smartfab.platform.points import PointBatch, Quality


class Reject(Exception):
    """A message (or value) that yields no points, with the reason counted for it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Columns:
    """The points of the messages being gathered into one batch, as four growing columns.

    Lists grow in amortised constant time and become arrays once per batch; decoders append
    through the bound ``append`` methods to keep the per-value cost low."""

    __slots__ = ("quality", "signal_id", "ts", "value")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.signal_id: list[int] = []
        self.value: list[float] = []
        self.quality: list[int] = []

    def __len__(self) -> int:
        return len(self.ts)

    def truncate(self, n: int) -> None:
        """Drop what a rejected message had appended after the first ``n`` points."""
        for column in (self.ts, self.signal_id, self.value, self.quality):
            del column[n:]

    def batch(self) -> PointBatch:
        return PointBatch(
            np.array(self.ts, dtype=np.int64),
            np.array(self.signal_id, dtype=np.int32),
            np.array(self.value, dtype=np.float64),
            np.array(self.quality, dtype=np.uint8),
        )


# Plain ints, not the enum: NumPy turns a list of enum members into an array 10x slower.
_GOOD, _BAD = int(Quality.GOOD), int(Quality.BAD)
_QUALITY = {"good": _GOOD, "uncertain": int(Quality.UNCERTAIN), "bad": _BAD}
_MISSING = object()
_MAX_TS_MS = 9.2e15  # epoch ms whose µs still fit an int64 (also false for NaN and infinities)
_NUMBERS = {float, int, bool}  # what JSON numbers and booleans decode to
_MAX_LAYOUTS = 256  # value-name tuples remembered per topic


def timestamp_us(ts: object, received_us: int) -> int:
    """A record's ``ts`` in epoch µs: a number is epoch milliseconds (what Sparkplug and most
    gateways send), text is ISO 8601 (UTC unless it says otherwise), absent is ``received_us``."""
    if ts is None:
        return received_us
    # Beyond int64 microseconds a batch cannot hold it: such a number is garbage, not a time.
    if (type(ts) is int or type(ts) is float) and abs(ts) < _MAX_TS_MS:
        return round(ts * 1000)
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return round(parsed.timestamp() * 1e6)
        except (ValueError, OverflowError):  # not ISO 8601, or offset out of years 1-9999
            pass
    raise Reject("bad_timestamp", f"ts {ts!r} is neither epoch milliseconds nor ISO 8601")


def _time_and_quality(record: object, received_us: int) -> tuple[int, int]:
    """A record's timestamp (µs) and quality; ``Reject`` for a record that is not an object."""
    if type(record) is not dict:
        raise Reject("malformed", f"a {type(record).__name__} in the array, not an object")
    ts = timestamp_us(record.get("ts"), received_us)
    q = record.get("quality")
    quality = _GOOD if q is None else _QUALITY.get(q) if isinstance(q, str) else None
    if quality is None:
        raise Reject("malformed", f"quality {q!r} is not good, uncertain or bad")
    return ts, quality


class JsonTopic:
    """How the messages of one topic become points: ``fields`` pairs a dotted path with the
    signal id whose value it holds."""

    __slots__ = ("_fields", "_layouts", "_nested", "_single", "names")

    def __init__(self, fields: Sequence[tuple[str, int]]) -> None:
        self.names = tuple(f for f, _ in fields)
        self._fields = tuple((tuple(f.split(".")), sid) for f, sid in fields)
        # The common case, one top-level field per topic, skips the path walk.
        self._single = (
            (self._fields[0][0][0], self._fields[0][1])
            if len(self._fields) == 1 and len(self._fields[0][0]) == 1
            else None
        )
        # The edge agent's case, every field one level under one object (``values.<signal>``):
        # walk the record's values that are there, not every binding (publish on change sends
        # few), with one dict look-up each.
        two = [keys for keys, _ in self._fields if len(keys) == 2]
        self._nested = (
            (two[0][0], {keys[1]: sid for keys, sid in self._fields})
            if self._single is None
            and len(two) == len(self._fields)
            and len({keys[0] for keys in two}) == 1
            and len({keys[1] for keys in two}) == len(two)  # a name bound twice: the walk
            else None
        )
        # Per tuple of value names seen in a record of this topic: the signal ids of the bound
        # names, and which names are bound (None: all). An edge agent sends the same few tuples
        # over and over.
        self._layouts: dict[tuple[str, ...], tuple[list[int], list[bool] | None]] = {}

    def decode(self, payload: bytes, received_us: int, out: Columns) -> tuple[int, str]:
        """Append the message's points to ``out``; returns (number of values that were not
        numbers, what the first of them was). Raises ``Reject`` for a message that yields
        nothing, leaving ``out`` as it was."""
        try:
            doc: Any = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise Reject("malformed", f"not JSON ({exc})") from None
        if type(doc) is dict:
            records: list[Any] = [doc]
        elif type(doc) is list:
            records = doc
        elif type(doc) in (int, float, bool) or doc is None:
            records = [{"value": doc}]
        else:
            raise Reject("malformed", f"a JSON {type(doc).__name__}, not an object or array")
        start = len(out)
        try:
            if self._nested is not None and self._nested_numbers(records, received_us, out):
                return 0, ""
            out.truncate(start)
            return self._records(records, received_us, out, start)
        except Reject:
            out.truncate(start)
            raise

    def _nested_numbers(self, records: list[Any], received_us: int, out: Columns) -> bool:
        """The edge agent's shape (every binding ``<parent>.<name>``) decoded a record at a time
        instead of a value at a time: whether every value was a number. When one was not, the
        caller truncates ``out`` and decodes the message again by the general path, which
        counts and reports such values."""
        assert self._nested is not None
        parent, sids = self._nested
        layouts = self._layouts
        values_ext, sid_ext = out.value.extend, out.signal_id.extend
        ts_ext, quality_ext = out.ts.extend, out.quality.extend
        start = len(out)
        for record in records:
            ts, quality = _time_and_quality(record, received_us)
            values = record.get(parent)
            if type(values) is not dict:
                continue
            names = tuple(values)
            layout = layouts.get(names)
            if layout is None:
                keep = [name in sids for name in names]
                layout = ([sids[n] for n in names if n in sids], None if all(keep) else keep)
                if len(layouts) < _MAX_LAYOUTS:
                    layouts[names] = layout
            bound, mask = layout
            if mask is None:
                found = list(values.values())
            else:  # names not bound here are skipped, as the general path does
                found = [v for v, k in zip(values.values(), mask, strict=True) if k]
            values_ext(found)
            sid_ext(bound)
            ts_ext([ts] * len(found))
            quality_ext([quality] * len(found))
        fresh = out.value[start:]
        if not fresh:
            raise Reject("no_value", f"none of the fields {', '.join(self.names)} in the message")
        return {*map(type, fresh)} <= _NUMBERS

    def _records(
        self, records: list[Any], received_us: int, out: Columns, start: int
    ) -> tuple[int, str]:
        ts_append, sid_append = out.ts.append, out.signal_id.append
        value_append, quality_append = out.value.append, out.quality.append
        bad, first_bad, seen = 0, "", 0
        for record in records:
            ts, quality = _time_and_quality(record, received_us)
            if self._single is not None:
                key, sid = self._single
                pairs: Sequence[tuple[object, int]] = ((record.get(key, _MISSING), sid),)
            elif self._nested is not None:
                parent, sids = self._nested
                values = record.get(parent)
                if type(values) is not dict:
                    continue
                get = sids.get
                pairs = [(v, found) for k, v in values.items() if (found := get(k)) is not None]
            else:
                pairs = [(_walk(record, keys), sid) for keys, sid in self._fields]
            for value, sid in pairs:
                if value is _MISSING:
                    continue
                seen += 1
                t = type(value)
                if t is float or t is int or t is bool:
                    value_append(float(value))  # type: ignore[arg-type]
                    quality_append(quality)
                elif value is None:
                    value_append(math.nan)
                    quality_append(_BAD)
                else:
                    bad += 1
                    first_bad = first_bad or f"value {str(value)[:40]!r} is not a number"
                    continue
                ts_append(ts)
                sid_append(sid)
        if not seen:
            raise Reject("no_value", f"none of the fields {', '.join(self.names)} in the message")
        return bad, first_bad


def _walk(record: dict[str, Any], keys: tuple[str, ...]) -> object:
    value: object = record
    for key in keys:
        if type(value) is not dict:
            return _MISSING
        value = value.get(key, _MISSING)  # type: ignore[attr-defined]
        if value is _MISSING:
            return _MISSING
    return value
