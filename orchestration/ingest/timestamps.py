"""Client timestamps -> UTC, vectorised with Arrow.

Exports write local wall-clock time in the client's zone (KST unless the mapping says otherwise),
in the format of their MES or PLC software, sometimes with Korean 오전/오후 for AM/PM and sometimes
as separate date and time columns. All of that is parsed here, column at a time.

Local times that do not exist or occur twice (daylight-saving changes; never in KST) are resolved
the usual way: an ambiguous time is taken as the first occurrence, a time inside the spring-forward
gap as the moment the clocks changed.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from orchestration.ingest.bronze_schemas import UTC_TS

LOCAL_TS = pa.timestamp("us")
KOREAN_MERIDIEM = {"오전": "AM", "오후": "PM"}
ISO_FORMATS = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"}


def blank_to_null(values: pa.Array) -> pa.Array:
    """Empty or whitespace-only text becomes null (a missing cell)."""
    if pa.types.is_dictionary(values.type):  # judged once per distinct value; stays encoded
        blank = _blank(values.dictionary)
        if not pc.any(blank).as_py():
            return values
        indices = pc.if_else(pc.take(blank, values.indices), pa.scalar(None, values.indices.type), values.indices)
        return pa.DictionaryArray.from_arrays(indices, values.dictionary)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return values
    if values.null_count == len(values):
        return values
    blank = _blank(values)
    if not pc.any(blank).as_py():
        return values
    return pc.if_else(blank, pa.scalar(None, values.type), values)


def _blank(values: pa.Array) -> pa.Array:
    return pc.or_(pc.utf8_is_space(values), pc.equal(pc.utf8_length(values), pa.scalar(0, pa.int32())))


def join_date_time(date_values: pa.Array, time_values: pa.Array) -> pa.Array:
    """A date column and a time column as one local timestamp: native Excel cells are combined,
    text is joined with a space (the mapping's format then covers both parts)."""
    if pa.types.is_date(date_values.type) and pa.types.is_time(time_values.type):
        day = date_values.cast(pa.date32()).cast(LOCAL_TS)
        micros = time_values.cast(pa.time64("us")).cast(pa.int64()).cast(pa.duration("us"))
        return pc.add(day, micros)
    return pc.binary_join_element_wise(as_text(date_values), as_text(time_values), " ")


def as_text(values: pa.Array) -> pa.Array:
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_dictionary(values.type):
        return values.dictionary_decode()
    if pa.types.is_date(values.type):
        return pc.strftime(values.cast(LOCAL_TS), "%Y-%m-%d")
    if pa.types.is_time(values.type):
        return pc.strftime(pc.add(pa.nulls(len(values), pa.date32()).fill_null(dt.date(1970, 1, 1)).cast(LOCAL_TS),
                                  values.cast(pa.time64("us")).cast(pa.int64()).cast(pa.duration("us"))), "%H:%M:%S")
    if pa.types.is_timestamp(values.type):
        return pc.strftime(values, "%Y-%m-%d %H:%M:%S")
    return values.cast(pa.string())


def parse_local(values: pa.Array, fmt: str) -> pa.Array:
    """Text in `fmt` (or native timestamps) -> naive local timestamps; unparseable -> null.

    `%p` also reads Korean 오전/오후, and surrounding spaces are tolerated. Dictionary-encoded
    text is parsed once per distinct value."""
    if pa.types.is_dictionary(values.type):
        return pc.take(parse_local(values.dictionary, fmt), values.indices)
    if pa.types.is_timestamp(values.type):
        return values.cast(pa.timestamp("us", tz=values.type.tz)) if values.type.tz else values.cast(LOCAL_TS)
    if pa.types.is_date(values.type):
        return values.cast(pa.date32()).cast(LOCAL_TS)
    values = as_text(values)
    if "%p" in fmt:
        for korean, latin in KOREAN_MERIDIEM.items():
            values = pc.replace_substring(values, korean, latin)
    if fmt in ISO_FORMATS:  # Arrow's ISO-8601 cast is several times faster than strptime
        try:
            return values.cast(LOCAL_TS)
        except pa.ArrowInvalid:
            pass
    parsed = pc.strptime(values, format=fmt, unit="us", error_is_null=True)
    failed = pc.and_(pc.is_null(parsed), pc.is_valid(values))
    if pc.any(failed).as_py():  # second chance for the few cells with stray spaces
        retried = pc.strptime(pc.utf8_trim_whitespace(values), format=fmt, unit="us", error_is_null=True)
        parsed = pc.coalesce(parsed, retried)
    return parsed


def to_utc(local: pa.Array, timezone: str) -> pa.Array:
    """Naive local wall-clock timestamps in `timezone` -> UTC instants (values with an explicit
    offset, parsed with %z, are already instants)."""
    if local.type.tz is not None:
        return local.cast(UTC_TS)
    offset = _constant_offset(local, timezone)
    if offset is not None:  # the usual case (KST has no DST): one subtraction
        micros = pc.subtract(local.cast(pa.int64()), pa.scalar(offset, pa.int64()))
        return micros.cast(UTC_TS)
    return pc.assume_timezone(local, timezone, ambiguous="earliest", nonexistent="latest").cast(UTC_TS)


def _constant_offset(local: pa.Array, timezone: str) -> int | None:
    """The zone's UTC offset in microseconds when it is the same over the whole span of the data
    (checked every 12 hours: daylight-saving periods last months), else None."""
    bounds = pc.min_max(local).as_py()
    low, high = bounds["min"], bounds["max"]
    if low is None:
        return 0
    zone = ZoneInfo(timezone)
    step = dt.timedelta(hours=12)
    if (high - low) / step > 5000:
        return None
    offsets = set()
    moment = low
    while True:
        offsets.add(moment.replace(tzinfo=zone).utcoffset())
        offsets.add(moment.replace(tzinfo=zone, fold=1).utcoffset())
        if len(offsets) > 1:
            return None
        if moment >= high:
            break
        moment = min(moment + step, high)
    return int(offsets.pop() / dt.timedelta(microseconds=1))


def _distinct_if_repeated(values: pa.Array, sample: int = 10_000) -> pa.Array:
    """Text timestamps dictionary-encoded when they repeat (a long export writes each time once per
    tag), judged on a leading sample: strptime then runs once per distinct time, several times
    faster. Unique times (wide exports, lots) are left as they are."""
    if not pa.types.is_string(values.type) or len(values) < 2 * sample:
        return values
    if pc.count_distinct(values.slice(0, sample)).as_py() > sample // 2:
        return values
    return pc.dictionary_encode(values)


def parse_timestamps(columns: list[pa.Array], fmt: str, timezone: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """One timestamp from one column (or date + time columns).

    Returns (utc, missing, unparseable): the UTC instants (null where not parsed), a mask of rows
    whose cell is empty, and a mask of rows whose text does not parse."""
    if len(columns) == 1:
        # encoded first, so blanks are looked for once per distinct value too
        values = blank_to_null(_distinct_if_repeated(columns[0]))
        missing = pc.is_null(values)
    else:
        columns = [blank_to_null(c) for c in columns]
        missing = pc.or_(pc.is_null(columns[0]), pc.is_null(columns[1]))
        values = join_date_time(columns[0], columns[1])
    local = parse_local(values, fmt)
    unparseable = pc.and_(pc.is_null(local), pc.invert(missing))
    return to_utc(local, timezone), missing, unparseable
