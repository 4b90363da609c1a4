"""JSON payloads of UNS topics: one or many points per message, decoded into growing columns.

A topic's bindings name the dotted paths of their values in a message, e.g. ``value`` for a signal
topic and ``values.spindle_temp`` for an equipment topic. A message is one record or an array of
records; a record is an object with an optional ``ts`` (epoch milliseconds, or ISO 8601 text), an
optional ``quality`` (``good``, ``uncertain``, ``bad``) and the values. A bare number or string is
a record of its own ``value``, received now. ``null`` is a BAD point without a value.

A value's JSON type follows its signal's type: a number (``true``/``false`` are 1 and 0) for
float, int and bool signals; for an enum the code, or the name of a value (mapped to its code
through the signal's ``values``: publishers that send names need no table); a string for a string
signal; a list of numbers for an array signal (``null`` elements are NaN; the writer checks the
length).

Records that only carry some of a topic's fields (publish on change) are fine. A message that is
not JSON, has a record that is not an object, a timestamp that cannot be read, or none of the
topic's fields, is rejected whole (``Reject`` with the reason); a value of the wrong JSON type is
dropped and counted, and the message's other values are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from smartfab.model.plant import Signal, ValueKind, value_kind
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    EventBatch,
    EventKind,
    PointBatch,
    Quality,
    TextBatch,
)


class Reject(Exception):
    """A message (or value) that yields no points, with the reason counted for it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TextColumns:
    """Points of string signals, as four growing columns."""

    __slots__ = ("quality", "signal_id", "text", "ts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.signal_id: list[int] = []
        self.text: list[str] = []
        self.quality: list[int] = []

    def add(self, ts: int, signal_id: int, text: str, quality: int) -> None:
        self.ts.append(ts)
        self.signal_id.append(signal_id)
        self.text.append(text)
        self.quality.append(quality)

    def batch(self) -> TextBatch:
        text = np.empty(len(self.text), object)  # np.array would split equal-length strings
        text[:] = self.text
        return TextBatch(np.array(self.ts, np.int64), np.array(self.signal_id, np.int32), text,
                         np.array(self.quality, np.uint8))  # fmt: skip


class ArrayColumns:
    """Points of array signals: the elements of every point in one flat list, and each point's
    number of them."""

    __slots__ = ("lengths", "quality", "signal_id", "ts", "values")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.signal_id: list[int] = []
        self.values: list[float | None] = []  # None: NaN
        self.lengths: list[int] = []
        self.quality: list[int] = []

    def add(self, ts: int, signal_id: int, values: Sequence[float | None], quality: int) -> None:
        self.ts.append(ts)
        self.signal_id.append(signal_id)
        self.values.extend(values)
        self.lengths.append(len(values))
        self.quality.append(quality)

    def batch(self) -> ArrayBatch:
        offsets = np.zeros(len(self.lengths) + 1, np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        return ArrayBatch(np.array(self.ts, np.int64), np.array(self.signal_id, np.int32),
                          np.array(self.values, np.float64), offsets,
                          np.array(self.quality, np.uint8))  # fmt: skip


Mark = tuple[int, int, int, int]  # how far each column had grown (see Columns.mark)


class Columns:
    """The points of the messages being gathered into one batch: numbers as four growing
    columns, texts and arrays in their own (``texts``, ``arrays``).

    Lists grow in amortised constant time and become arrays once per batch; decoders append
    through the bound ``append`` methods to keep the per-value cost low."""

    __slots__ = ("arrays", "quality", "signal_id", "texts", "ts", "value")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.signal_id: list[int] = []
        self.value: list[float] = []
        self.quality: list[int] = []
        self.texts = TextColumns()
        self.arrays = ArrayColumns()

    def __len__(self) -> int:
        """Points of every kind."""
        return len(self.ts) + len(self.texts.ts) + len(self.arrays.ts)

    def add_number(self, ts: int, signal_id: int, value: float, quality: int) -> None:
        self.ts.append(ts)
        self.signal_id.append(signal_id)
        self.value.append(value)
        self.quality.append(quality)

    def add_bad(self, kind: ValueKind, ts: int, signal_id: int) -> None:
        """A BAD point without a value: NaN, "" or no elements."""
        if kind == "text":
            self.texts.add(ts, signal_id, "", _BAD)
        elif kind == "array":
            self.arrays.add(ts, signal_id, (), _BAD)
        else:
            self.add_number(ts, signal_id, math.nan, _BAD)

    def mark(self) -> Mark:
        """Where the columns are now, for ``truncate``."""
        a = self.arrays
        return len(self.ts), len(self.texts.ts), len(a.ts), len(a.values)

    def truncate(self, mark: Mark) -> None:
        """Drop what a rejected message had appended since ``mark``."""
        numbers, texts, arrays, elements = mark
        for column in (self.ts, self.signal_id, self.value, self.quality):
            del column[numbers:]
        t = self.texts
        for text_column in (t.ts, t.signal_id, t.text, t.quality):
            del text_column[texts:]
        a = self.arrays
        for array_column in (a.ts, a.signal_id, a.lengths, a.quality):
            del array_column[arrays:]
        del a.values[elements:]

    def batch(self) -> PointBatch:
        """The numbers."""
        return PointBatch(
            np.array(self.ts, dtype=np.int64),
            np.array(self.signal_id, dtype=np.int32),
            np.array(self.value, dtype=np.float64),
            np.array(self.quality, dtype=np.uint8),
        )

    def batches(self) -> list[AnyPoints]:
        """A batch per kind of value that has points."""
        out: list[AnyPoints] = [self.batch()] if self.ts else []
        if self.texts.ts:
            out.append(self.texts.batch())
        if self.arrays.ts:
            out.append(self.arrays.batch())
        return out


# Plain ints, not the enum: NumPy turns a list of enum members into an array 10x slower.
_GOOD, _BAD = int(Quality.GOOD), int(Quality.BAD)
_QUALITY = {"good": _GOOD, "uncertain": int(Quality.UNCERTAIN), "bad": _BAD}
_MISSING = object()
_MAX_TS_MS = 9.2e15  # epoch ms whose µs still fit an int64 (also false for NaN and infinities)
_NUMBERS = {float, int, bool}  # what JSON numbers and booleans decode to
_ELEMENTS = {float, int, bool, type(None)}  # of an array value (null: NaN)
_MAX_LAYOUTS = 256  # value-name tuples remembered per topic


def json_values(points: AnyPoints) -> list[object]:
    """Each point's value as UNS JSON carries it: a number (NaN: null), a text, a list of numbers
    (NaN elements become null when serialised)."""
    if isinstance(points, PointBatch):
        return [None if v != v else v for v in points.value.tolist()]
    if isinstance(points, TextBatch):
        return list(points.text.tolist())
    return [points.row(i).tolist() for i in range(len(points))]


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


@dataclass(frozen=True, slots=True)
class SignalType:
    """What a bound signal that is not a plain number (float, int, bool) takes: a string, an
    array of numbers, or an enum's code or value name (``codes``: name -> code)."""

    data_type: str  # the plant file's type
    codes: Mapping[str, int] | None = None

    @property
    def kind(self) -> ValueKind:
        return value_kind(self.data_type)

    @classmethod
    def of(cls, signal: Signal) -> SignalType | None:
        """None for a plain number, which decoders take without a look-up."""
        if signal.type in ("float", "int", "bool"):
            return None
        codes = {name: code for code, name in (signal.values or {}).items()} or None
        return cls(signal.type, codes)

    def code(self, name: str) -> int | None:
        return None if self.codes is None else self.codes.get(name)

    def names(self) -> str:
        return ", ".join(self.codes or ())

    def take(self, value: object, sid: int, ts: int, quality: int, out: Columns) -> str | None:
        """Append the JSON ``value`` to ``out``; why not, when its type does not fit."""
        if value is None:
            out.add_bad(self.kind, ts, sid)
            return None
        t = type(value)
        if self.data_type == "string":
            if t is str:
                out.texts.add(ts, sid, value, quality)  # type: ignore[arg-type]
                return None
            return f"value {_show(value)} is not a string"
        if self.data_type == "array":
            if t is list and {*map(type, value)} <= _ELEMENTS:  # type: ignore[call-overload]
                out.arrays.add(ts, sid, value, quality)  # type: ignore[arg-type]
                return None
            return f"value {_show(value)} is not a list of numbers"
        if t is str:  # an enum's value name
            code = self.code(value)  # type: ignore[arg-type]
            if code is None:
                return f"value {_show(value)} is none of the enum's names ({self.names()})"
            value = code
        elif not (t is float or t is int or t is bool):
            return f"value {_show(value)} is not a number"
        out.add_number(ts, sid, float(value), quality)  # type: ignore[arg-type]
        return None


def _show(value: object) -> str:
    return repr(str(value)[:40])


# Per tuple of value names in a record of a topic: the signal ids of the bound names that are
# plain numbers, which names those are (None: all), and the (position, signal id, type) of the
# other bound names.
_Layout = tuple[list[int], list[bool] | None, list[tuple[int, int, SignalType]]]


class JsonTopic:
    """How the messages of one topic become points: ``fields`` pairs a dotted path with the
    signal id whose value it holds; ``types`` gives the signals that are not plain numbers
    their type."""

    __slots__ = ("_fields", "_layouts", "_nested", "_single", "_types", "names")

    def __init__(
        self, fields: Sequence[tuple[str, int]], types: Mapping[int, SignalType] | None = None
    ) -> None:
        self.names = tuple(f for f, _ in fields)
        self._fields = tuple((tuple(f.split(".")), sid) for f, sid in fields)
        # None when every bound signal is a plain number: their decoding looks nothing up.
        mine = {sid: types[sid] for _, sid in fields if types and sid in types}
        self._types = mine or None
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
        # Per tuple of value names seen in a record of this topic (an edge agent sends the same
        # few tuples over and over), see _Layout.
        self._layouts: dict[tuple[str, ...], _Layout] = {}

    def decode(self, payload: bytes, received_us: int, out: Columns) -> tuple[int, str]:
        """Append the message's points to ``out``; returns (number of values of the wrong JSON
        type, what the first of them was). Raises ``Reject`` for a message that yields nothing,
        leaving ``out`` as it was."""
        try:
            doc: Any = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise Reject("malformed", f"not JSON ({exc})") from None
        if type(doc) is dict:
            records: list[Any] = [doc]
        elif type(doc) is list:
            records = doc
        elif type(doc) in (int, float, bool, str) or doc is None:
            records = [{"value": doc}]
        else:
            raise Reject("malformed", f"a JSON {type(doc).__name__}, not an object or array")
        start = out.mark()
        try:
            if self._nested is not None:
                if self._nested_values(records, received_us, out):
                    return 0, ""
                out.truncate(start)
            return self._records(records, received_us, out)
        except Reject:
            out.truncate(start)
            raise

    def _layout(self, names: tuple[str, ...]) -> _Layout:
        assert self._nested is not None
        sids, types = self._nested[1], self._types or {}
        keep = [name in sids and sids[name] not in types for name in names]
        others = [
            (i, sids[name], types[sids[name]])
            for i, name in enumerate(names)
            if name in sids and sids[name] in types
        ]
        numbers = [sids[n] for n, k in zip(names, keep, strict=True) if k]
        return numbers, None if all(keep) else keep, others

    def _nested_values(self, records: list[Any], received_us: int, out: Columns) -> bool:
        """The edge agent's shape (every binding ``<parent>.<name>``) decoded a record at a time
        instead of a value at a time: whether every value had the right type. When one had
        not, the caller truncates ``out`` and decodes the message again by the general path,
        which counts and reports such values."""
        assert self._nested is not None
        parent = self._nested[0]
        layouts = self._layouts
        values_ext, sid_ext = out.value.extend, out.signal_id.extend
        ts_ext, quality_ext = out.ts.extend, out.quality.extend
        start = out.mark()
        for record in records:
            ts, quality = _time_and_quality(record, received_us)
            values = record.get(parent)
            if type(values) is not dict:
                continue
            names = tuple(values)
            layout = layouts.get(names)
            if layout is None:
                layout = self._layout(names)
                if len(layouts) < _MAX_LAYOUTS:
                    layouts[names] = layout
            bound, mask, others = layout
            if mask is None:
                found = list(values.values())
            else:  # names not bound here, or not plain numbers, are skipped
                found = [v for v, k in zip(values.values(), mask, strict=True) if k]
            values_ext(found)
            sid_ext(bound)
            ts_ext([ts] * len(found))
            quality_ext([quality] * len(found))
            if others:
                every = list(values.values())
                for i, sid, signal_type in others:
                    if signal_type.take(every[i], sid, ts, quality, out) is not None:
                        return False
        if out.mark() == start:
            raise Reject("no_value", f"none of the fields {', '.join(self.names)} in the message")
        return {*map(type, out.value[start[0] :])} <= _NUMBERS

    def _records(self, records: list[Any], received_us: int, out: Columns) -> tuple[int, str]:
        ts_append, sid_append = out.ts.append, out.signal_id.append
        value_append, quality_append = out.value.append, out.quality.append
        types = self._types
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
                if types is not None and sid in types:
                    problem = types[sid].take(value, sid, ts, quality, out)
                    if problem is not None:
                        bad += 1
                        first_bad = first_bad or problem
                    continue
                t = type(value)
                if t is float or t is int or t is bool:
                    value_append(float(value))  # type: ignore[arg-type]
                    quality_append(quality)
                elif value is None:
                    value_append(math.nan)
                    quality_append(_BAD)
                else:
                    bad += 1
                    first_bad = first_bad or f"value {_show(value)} is not a number"
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


# --- events --------------------------------------------------------------------------------------
# What an edge agent forwards besides points: its devices' outages (``gap`` events), on the site's
# events topic (``topics.uns_events_topic``), as an array of
# ``{"ts": ms, "equipment": str, "kind": str, "code": str, "value": number|null, "detail": str}``.
_EVENT_KINDS = frozenset(v for k, v in vars(EventKind).items() if k.isupper())
_EVENT_TEXTS = ("equipment", "kind", "code", "detail")


def json_events(events: EventBatch) -> bytes:
    """``events`` as an events message (NaN values become null)."""
    columns = zip(
        events.ts.tolist(), events.equipment.tolist(), events.kind.tolist(), events.code.tolist(),
        events.value.tolist(), events.detail.tolist(), strict=True,
    )  # fmt: skip
    return orjson.dumps([
        {"ts": ts / 1000, "equipment": eq, "kind": kind, "code": code,
         "value": None if value != value else value, "detail": detail}
        for ts, eq, kind, code, value, detail in columns
    ])  # fmt: skip


def decode_events(payload: bytes) -> EventBatch:
    """An events message as an ``EventBatch``; ``Reject`` ("malformed") for anything else, whole:
    events are records of what happened, so none of a broken message is half taken."""
    try:
        records = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Reject("malformed", f"events: not JSON ({exc})") from exc
    if type(records) is not list:
        raise Reject("malformed", "events: an array of event objects expected")
    columns: dict[str, list[Any]] = {k: [] for k in ("ts", "value", *_EVENT_TEXTS)}
    for i, record in enumerate(records):
        if type(record) is not dict:
            raise Reject("malformed", f"events[{i}]: a {type(record).__name__}, not an object")
        if record.get("ts") is None:
            raise Reject("malformed", f"events[{i}]: no ts")
        columns["ts"].append(timestamp_us(record["ts"], 0))
        for key in _EVENT_TEXTS:
            text = record.get(key, "")
            if not isinstance(text, str) or (key != "detail" and not text):
                raise Reject("malformed", f"events[{i}].{key}: {text!r} is not a non-empty text")
            columns[key].append(text)
        if record["kind"] not in _EVENT_KINDS:
            raise Reject("malformed", f"events[{i}].kind: {record['kind']!r} is no event kind")
        value = record.get("value")
        if value is not None and (type(value) not in (int, float) or not math.isfinite(value)):
            raise Reject("malformed", f"events[{i}].value: {value!r} is not a number or null")
        columns["value"].append(math.nan if value is None else float(value))
    return EventBatch.of(**columns) if records else EventBatch.empty()
