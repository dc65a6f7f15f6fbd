"""What a column of a client's export probably is: a timestamp (and its format), a sensor (with
the unit written in its header and the standard tag its name suggests), a pass/fail label, a
run/stop status, an id (lot, batch, shot, serial), an equipment or line name.

Every answer says how sure it is, so the drafted mapping can mark what is a guess.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from orchestration import settings

KOREAN_MERIDIEM = {"오전": "AM", "오후": "PM"}
SHARE_TO_ACCEPT = 0.9  # of a column's non-empty sample values

DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y %m %d %H:%M:%S",
    "%Y-%m-%d %p %I:%M:%S", "%Y/%m/%d %p %I:%M:%S", "%Y.%m.%d %p %I:%M:%S", "%Y-%m-%d %p %I:%M",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M",
    "%m/%d/%Y %p %I:%M:%S", "%Y%m%d%H%M%S", "%Y%m%d %H%M%S", "%Y%m%d%H%M",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y %m %d", "%m/%d/%Y", "%m/%d/%y", "%d/%m/%Y", "%Y%m%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M", "%p %I:%M:%S", "%p %I:%M", "%H%M%S")

RESULT_LABELS = {"합격": "pass", "불합격": "fail", "적합": "pass", "부적합": "fail", "양품": "pass", "불량": "fail",
                 "양호": "pass", "ok": "pass", "ng": "fail", "pass": "pass", "fail": "fail", "y": "pass", "n": "fail",
                 "good": "pass", "bad": "fail", "p": "pass", "f": "fail", "0": "pass", "1": "fail"}
# the partner of each label, so a draft from a sample without a single failure still maps failures
RESULT_PAIRS = [("합격", "불합격"), ("적합", "부적합"), ("양품", "불량"), ("OK", "NG"), ("PASS", "FAIL"), ("Y", "N"),
                ("GOOD", "BAD"), ("P", "F"), ("0", "1")]
EVENT_LABELS = {"가동": "run", "운전": "run", "생산": "run", "run": "run", "running": "run", "start": "run",
                "정지": "stop", "비가동": "stop", "대기": "stop", "stop": "stop", "stopped": "stop", "idle": "stop",
                "알람": "alarm", "경보": "alarm", "이상": "alarm", "고장": "alarm", "alarm": "alarm", "fault": "alarm",
                "error": "alarm"}
EVENT_FAMILIES = [("가동", "정지", "알람"), ("RUN", "STOP", "ALARM")]

# header words, normalised (see `normalise`): first match wins, exact before contained
KEYWORDS: dict[str, tuple[str, ...]] = {
    "defect_quantity": ("불량수량", "불량량", "불량", "ngqty", "badqty", "scrapqty", "defectqty", "ng수량"),
    "quantity": ("생산수량", "생산량", "지시수량", "수량", "qty", "quantity", "투입량", "생산실적"),
    "lot": ("lot번호", "로트번호", "lotno", "lotid", "lot", "로트", "배치번호", "배치", "batch", "작업지시번호",
            "작업지시", "workorder", "지시번호"),
    "sequence": ("shot", "샷", "샷번호", "shotno", "serial", "serialno", "시리얼번호", "시리얼", "cycle", "사이클", "순번", "seq", "count", "카운트", "no"),
    # not mold/금형: a mould is tooling that moves between machines (KAMP's mold_name, mold_code)
    "equipment": ("설비코드", "설비id", "설비번호", "설비명", "설비", "장비", "호기", "machine", "tool", "equipid",
                  "equipment", "equip", "eqp", "기계"),
    "line": ("라인", "line", "bay", "공정"),
    "product": ("품목코드", "제품코드", "품번", "품목", "제품", "품명", "partnumber", "partno", "part", "device",
                "product"),
    "start": ("시작", "착수", "투입", "start", "trackin", "begin"),
    "end": ("종료", "완료", "end", "trackout", "finish"),
    "result": ("판정", "결과", "적합여부", "합격여부", "양불", "judge", "result", "verdict", "passorfail", "pass",
               "okng", "불량여부"),
    "defect_type": ("불량유형", "불량내용", "불량명", "불량코드", "부적합사유", "불량사유", "failreason", "defectcode",
                    "defecttype", "defect"),
    "characteristic": ("검사항목", "측정항목", "항목", "checkitem", "parameter", "item", "characteristic"),
    "measured_value": ("측정값", "측정치", "결과값", "실측값", "측정", "값", "measured", "value", "val"),
    "lower_spec": ("규격하한", "하한값", "하한", "lsl", "lowerlimit", "lower", "min"),
    "upper_spec": ("규격상한", "상한값", "상한", "usl", "upperlimit", "upper", "max"),
    "unit": ("단위", "unit", "uom"),
    "status": ("가동상태", "운전상태", "상태구분", "상태", "구분", "state", "status", "working", "가동"),
    "code": ("알람코드", "코드", "alarmcode", "code"),
    "message": ("메시지", "내용", "설명", "비고", "message", "description", "text", "remark"),
    "tag_name": ("태그명", "태그", "tagname", "tagid", "tag", "sensor", "센서명", "항목명"),
    "event_time": ("발생시각", "발생일시", "일시", "시각", "eventtime", "timestamp", "datetime", "ts", "time"),
    "inspected_at": ("검사일시", "검사시각", "검사시간", "측정일시", "측정시각", "insptime", "inspected", "measuredat",
                     "checked"),
}

# Tag words beyond the dictionary's own Korean and English names (normalised), first match wins:
# the drafter's aliases. The process names of KAMP's public per-shot die-casting tables are here as
# the project's hand mappings read them (clients/mappings/JC-DCS-03.yaml, tests/ingest/real_exports.py).
TAG_WORDS: dict[str, tuple[str, ...]] = {
    "ENERGY": ("전력량", "적산전력", "energy", "kwh"),
    # before TEMP/PRES/WEIGHT: "cycletime" is not a clock, "thickness" not a mass
    "CYCLE_TIME": ("사이클타임", "싸이클타임", "택트타임", "cycletime", "tacttime", "takttime"),
    "DURATION": ("유지시간", "보압시간", "냉각시간", "경화시간", "holdtime", "holdingtime", "coolingtime", "dwelltime",
                 "operationtime"),
    "THICKNESS": ("두께", "thickness"),
    "TEMP": ("온도", "유온", "수온", "temp", "temperature"),
    "HUMID": ("습도", "humid", "humidity", "rh"),
    "PRES": ("압력", "진공", "pressure", "press", "vacuum"),
    "VIB": ("진동", "vibration", "vib"),
    # an injection / plunger / conveyor moves in a line (m/s), a screw or spindle turns (rpm): the
    # specific words first, so a die caster's low/high section speed is not read as rotation
    "LIN_SPEED": ("사출속도", "선속도", "이송속도", "저속구간", "고속구간", "sectionspeed", "injectionspeed",
                  "plungerspeed", "shotspeed", "linespeed", "conveyorspeed", "velocity"),
    "SPEED": ("회전수", "회전속도", "교반속도", "회전", "rpm", "spindle", "speed"),
    "CURRENT": ("전류", "current", "amp"),
    "VOLT": ("전압", "voltage", "volt"),
    "FLOW": ("유량", "flow"),
    # KAMP: molten_volume is the melt poured per shot, physical_strength (형체력) sent as a ton figure;
    # both are read as mass (kg) by the hand mappings, and the draft marks the unit a GUESS
    "WEIGHT": ("중량", "무게", "용탕량", "주입량", "weight", "mass", "moltenvolume", "physicalstrength"),
    "PH": ("수소이온", "ph"),
    "TORQUE": ("토크", "torque"),
    "POWER": ("전력", "power"),
    "VISC": ("점도", "viscosity", "visc"),
}
# ISA-5.1 instrument letters as PLC historians name tags (TT-101, PT-201, ...)
ISA_LETTERS = {"T": "TEMP", "P": "PRES", "F": "FLOW", "I": "CURRENT", "E": "VOLT", "V": "VIB", "S": "SPEED",
               "W": "WEIGHT", "J": "POWER"}

UNIT_WORDS = {"℃": "degC", "°c": "degC", "c": "degC", "degc": "degC", "℉": "degF", "°f": "degF", "f": "degF",
              "degf": "degF", "k": "K", "kgf/cm2": "kgf/cm2", "kgf/cm²": "kgf/cm2", "kg/cm2": "kgf/cm2",
              "kgf/㎠": "kgf/cm2", "%": "pct", "%rh": "pct", "lpm": "L/min", "l/min": "L/min", "m3/h": "m3/h",
              "m³/h": "m3/h", "㎥/h": "m3/h", "cps": "cP", "kg": "kg", "㎏": "kg", "nm": "N.m"}


def normalise(header: str) -> str:
    """A header as compared with keywords: NFKC, lower case, the unit part and separators removed."""
    text = unicodedata.normalize("NFKC", header).lower()
    text = re.sub(r"[\(\[].*?[\)\]]", "", text)
    return re.sub(r"[\s_\-./#:]+", "", text)


def role_of(header: str, role: str) -> bool:
    name = normalise(header)
    words = KEYWORDS[role]
    return name in words or any(w in name for w in words if len(w) >= 2 and w not in ("no", "min", "max", "val"))


def first_role(header: str, roles: tuple[str, ...]) -> str | None:
    name = normalise(header)
    for role in roles:  # exact matches first, in the order given
        if name in KEYWORDS[role]:
            return role
    for role in roles:
        if role_of(header, role):
            return role
    return None


# ------------------------------------------------------------------ vocabulary (seeds)
@dataclass(frozen=True)
class Tag:
    code: str
    name_ko: str
    name_en: str
    quantity: str
    si_unit: str


@lru_cache(maxsize=4)
def tag_dictionary(seeds_dir: Path = settings.SEEDS_DIR) -> dict[str, Tag]:
    with open(Path(seeds_dir) / "tag_dictionary.csv", encoding="utf-8", newline="") as handle:
        return {r["tag_code"]: Tag(r["tag_code"], r["name_ko"], r["name_en"], r["quantity"], r["si_unit"])
                for r in csv.DictReader(handle)}


@lru_cache(maxsize=4)
def unit_quantities(seeds_dir: Path = settings.SEEDS_DIR) -> dict[str, str]:
    with open(Path(seeds_dir) / "unit_conversions.csv", encoding="utf-8", newline="") as handle:
        return {r["unit"]: r["quantity"] for r in csv.DictReader(handle)}


def unit_code(token: str) -> str | None:
    """A unit as written by a client (`℃`, `(F)`, `kgf/cm2`, `Kg`, `Lpm`) as a unit code of the seed."""
    text = unicodedata.normalize("NFKC", token).strip()
    if not text:
        return None
    units = unit_quantities()
    if text in units and text not in ("%", "℃", "℉", "°C", "°F", "%RH", "kgf/cm²"):
        return text
    lower = text.lower()
    if lower in UNIT_WORDS and UNIT_WORDS[lower] in units:
        return UNIT_WORDS[lower]
    by_lower = {u.lower(): u for u in units}
    return by_lower.get(lower)


def header_unit(header: str) -> tuple[str | None, str | None]:
    """(unit code, the text it came from) of a unit written in a header: `온도(℃)`, `Temp [F]`,
    `ChamberPress_Pa`, `Barrel Temp (F)`."""
    text = unicodedata.normalize("NFKC", header).strip()
    for pattern in (r"[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$", r"[_\s]([A-Za-z%°℃℉/0-9.²³]+)$"):
        match = re.search(pattern, text)
        if match:
            code = unit_code(match.group(1))
            if code:
                return code, match.group(1)
    return None, None


def tag_for_name(name: str) -> str | None:
    """The standard tag a sensor's name suggests, from the dictionary's names and common words."""
    tags = tag_dictionary()
    norm = normalise(name)
    for code, tag in tags.items():  # the dictionary's own names, exactly
        if norm in (normalise(tag.name_ko), normalise(tag.name_en), code.lower()):
            return code
    for code, words in TAG_WORDS.items():
        if code in tags and any(w in norm for w in words
                                if len(w) > 2 or not w.isascii() or w == norm or norm.endswith(w)):
            return code
    for code, tag in tags.items():  # the dictionary's names inside a longer name (살균온도)
        if len(tag.name_ko) >= 2 and normalise(tag.name_ko) in norm:
            return code
    match = re.match(r"^([A-Z])[A-Z]?[-_]?\d", name.strip())
    if match and ISA_LETTERS.get(match.group(1)) in tags:
        return ISA_LETTERS[match.group(1)]
    return None


def tags_of_quantity(quantity: str) -> list[str]:
    return [code for code, tag in tag_dictionary().items() if tag.quantity == quantity]


@dataclass
class SensorGuess:
    tag: str | None
    unit: str | None
    note: str
    sure: bool  # False: the draft marks it GUESS (or UNPLACED when tag or unit is missing)


def sensor_guess(name: str, unit_text: str | None = None) -> SensorGuess:
    """Tag and unit for a sensor column (wide) or a source tag (long); `unit_text` is a unit from
    the data (a unit column), else the header is read for one."""
    tags, units = tag_dictionary(), unit_quantities()
    unit, written = (unit_code(unit_text), unit_text) if unit_text else header_unit(name)
    tag = tag_for_name(name)
    if tag and unit:
        if units.get(unit) == tags[tag].quantity:
            return SensorGuess(tag, unit, f"unit {written!r} as written; tag from the name", True)
        fits = tags_of_quantity(units.get(unit, ""))
        if len(fits) == 1 and unit != "pct":
            return SensorGuess(fits[0], unit, f"the name suggests {tag}, but {written!r} measures "
                               f"{units[unit]}: took {fits[0]}", False)
        return SensorGuess(None, unit, f"the name suggests {tag}, but {written!r} measures {units.get(unit)}", False)
    if tag:
        return SensorGuess(tag, tags[tag].si_unit, f"no unit written: assumed {tags[tag].si_unit} "
                           f"({tags[tag].name_ko}); ask the client", False)
    if unit:
        fits = tags_of_quantity(units.get(unit, ""))
        if fits and unit not in ("pct", "%"):
            others = f"; or {', '.join(fits[1:])}" if len(fits) > 1 else ""
            return SensorGuess(fits[0], unit, f"tag from the unit {written!r} ({units[unit]}{others})", False)
        return SensorGuess(None, unit, f"unit {written!r} but no standard tag for this name", False)
    return SensorGuess(None, None, "no standard tag or unit recognised in the name", False)


# ------------------------------------------------------------------ values
def _strptime(value: str, fmt: str) -> datetime | None:
    text = value.strip()
    for word, english in KOREAN_MERIDIEM.items():
        text = text.replace(word, english)
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        return None
    dated = "%Y" in fmt or "%y" in fmt
    return parsed if not dated or 1990 <= parsed.year <= 2100 else None


@dataclass(frozen=True)
class TimeFormat:
    format: str
    locale: str | None
    share: float  # of the sample values it parses
    ambiguous: str | None = None  # another format that reads the same values differently


def time_format(values: list[str], formats: tuple[str, ...]) -> TimeFormat | None:
    """The format of `formats` that reads the most values (at least SHARE_TO_ACCEPT of them)."""
    values = [v for v in values if v.strip()][:400]
    if not values:
        return None
    korean = any(any(w in v for w in KOREAN_MERIDIEM) for v in values)
    best: list[tuple[float, str]] = []
    for fmt in formats:
        if korean != ("%p" in fmt) and not ("%p" in fmt and any("AM" in v or "PM" in v for v in values)):
            continue
        if fmt.replace("%", "").isalpha() and not _compact_cells(values, fmt):
            continue
        share = sum(_strptime(v, fmt) is not None for v in values) / len(values)
        if share >= SHARE_TO_ACCEPT:
            best.append((share, fmt))
    if not best:
        return None
    best.sort(key=lambda x: -x[0])
    share, fmt = best[0]
    other = next((f for s, f in best[1:] if s == share and _day_month_swapped(f, fmt)), None)
    return TimeFormat(fmt, "ko" if korean else None, share, other)


def _compact_cells(values: list[str], fmt: str) -> bool:
    """Compact formats (`%Y%m%d%H%M%S`, `%H%M%S`) only for all-digit cells of their exact width: a
    shot counter's 100, 101, ... are not 01:00:00, 01:00:01."""
    width = len(datetime(2000, 1, 1).strftime(fmt))
    return all(v.strip().isdigit() and len(v.strip()) == width for v in values)


def _day_month_swapped(a: str, b: str) -> bool:
    return a.replace("%d", "#").replace("%m", "%d").replace("#", "%m") == b


def is_numeric(values: list[str]) -> bool:
    values = [v for v in values if v.strip()]
    if not values:
        return False
    ok = 0
    for v in values:
        try:
            float(v.replace(",", ""))
            ok += 1
        except ValueError:
            pass
    return ok / len(values) >= SHARE_TO_ACCEPT


def result_map(values: list[str]) -> dict[str, str] | None:
    """Client labels -> pass/fail when the column's values are pass/fail labels; the partner of
    each seen label is added (a sample without failures still maps 불합격)."""
    seen = {v.strip() for v in values if v.strip()}
    if not seen or len(seen) > 4 or not all(v.lower() in RESULT_LABELS for v in seen):
        return None
    out: dict[str, str] = {}
    for value in sorted(seen):
        out[value] = RESULT_LABELS[value.lower()]
        for a, b in RESULT_PAIRS:
            for label, partner in ((a, b), (b, a)):
                if value.lower() == label.lower():
                    cased = partner.lower() if value.islower() else partner
                    out.setdefault(cased, RESULT_LABELS[partner.lower()])
    return out


def event_map(values: list[str]) -> dict[str, str] | None:
    seen = {v.strip() for v in values if v.strip()}
    if not seen or len(seen) > 8 or not all(v.lower() in EVENT_LABELS for v in seen):
        return None
    out = {v: EVENT_LABELS[v.lower()] for v in sorted(seen)}
    for family in EVENT_FAMILIES:
        if any(v.upper() == f.upper() for v in seen for f in family):
            for label in family:
                cased = label.lower() if all(v.islower() for v in seen) else label
                out.setdefault(cased, EVENT_LABELS[label.lower()])
    return out
