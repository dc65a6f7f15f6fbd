"""What a plant of each industry looks like: equipment, normal sensor levels, inspections, labels.

All sensor levels are SI (the units of dbt_project/seeds/tag_dictionary.csv) and sit well inside
the tag dictionary's plausible range; the generator converts them into each client's own units.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Characteristic:
    """One quality characteristic measured on a lot, with its spec and the defect a failure means."""

    name_ko: str
    name_en: str
    unit: str
    target: float
    tolerance: float  # spec is target +/- tolerance
    sd: float  # process spread of a passing measurement
    defect_ko: str
    defect_en: str


@dataclass(frozen=True)
class IndustryProfile:
    equipment: tuple[tuple[str, str, str], ...]  # (id prefix, Korean name, English name) in process order
    levels: dict[str, tuple[float, float]]  # tag -> (normal SI level, noise sd in SI)
    characteristics: tuple[Characteristic, ...]
    products: tuple[str, ...]
    lot_quantity: tuple[int, int]
    alarms: tuple[tuple[str, str, str], ...]  # (code, Korean message, English message); the first is the hot-process alarm
    defect_rate: float = 0.02  # share of lots failing inspection in the baseline period (typical for the industry)


# Levels used when an industry has no specific entry for a tag (mid-scale, small noise).
DEFAULT_LEVELS: dict[str, tuple[float, float]] = {
    "TEMP": (60.0, 0.5),
    "PRES": (300.0, 3.0),
    "HUMID": (50.0, 1.2),
    "VIB": (2.0, 0.1),
    "SPEED": (1500.0, 12.0),
    "CURRENT": (20.0, 0.4),
    "VOLT": (380.0, 1.5),
    "FLOW": (100.0, 2.0),
    "WEIGHT": (25.0, 0.1),
    "PH": (7.0, 0.03),
    "TORQUE": (80.0, 1.5),
    "POWER": (15.0, 0.3),
    "ENERGY": (5000.0, 5.0),
    "VISC": (5000.0, 60.0),
}

PROFILES: dict[str, IndustryProfile] = {
    "cosmetics": IndustryProfile(
        equipment=(("MIX", "유화믹서", "Emulsifying mixer"), ("FIL", "충전기", "Filler"), ("CAP", "캡핑기", "Capper")),
        levels={"TEMP": (72.0, 0.5), "PRES": (150.0, 2.5), "VISC": (8500.0, 90.0), "SPEED": (1200.0, 10.0),
                "CURRENT": (12.0, 0.25), "PH": (6.2, 0.03), "HUMID": (45.0, 1.0)},
        characteristics=(
            Characteristic("점도", "VISCOSITY", "mPa.s", 8500, 1500, 300, "외관불량", "APPEARANCE"),
            Characteristic("pH", "PH", "pH", 6.2, 0.6, 0.12, "이물", "FOREIGN"),
            Characteristic("충전량", "FILL_WEIGHT", "g", 50.8, 0.8, 0.15, "충전량부족", "UNDERFILL"),
            Characteristic("기포수", "BUBBLES", "ea", 2.0, 2.0, 0.4, "기포", "BUBBLE"),
        ),
        products=("CRM-050", "LTN-200", "SRM-030"),
        lot_quantity=(2000, 6000),
        alarms=(("AL-101", "유화온도 상한 초과", "EMULSION TEMP HIGH"), ("AL-205", "충전 노즐 막힘", "NOZZLE CLOGGED"),
                ("AL-310", "교반모터 과부하", "AGITATOR OVERLOAD")),
        defect_rate=0.02,
    ),
    "food": IndustryProfile(
        equipment=(("STR", "살균기", "Steriliser"), ("FIL", "충전기", "Filler"), ("PKG", "포장기", "Packer")),
        levels={"TEMP": (92.0, 0.4), "FLOW": (60.0, 1.2), "PRES": (250.0, 2.5), "WEIGHT": (0.5, 0.0015),
                "HUMID": (75.0, 1.2)},
        characteristics=(
            Characteristic("중량", "WEIGHT", "g", 500, 10, 2, "중량불량", "WEIGHT"),
            Characteristic("중심온도", "CORE_TEMP", "degC", 85, 5, 1, "오염", "CONTAMINATION"),
            Characteristic("당도", "BRIX", "Brix", 12, 1.0, 0.2, "외관불량", "APPEARANCE"),
            Characteristic("밀봉강도", "SEAL_STRENGTH", "N", 40, 8, 1.5, "실링불량", "SEAL"),
        ),
        products=("AJ-1000", "AJ-0500", "TTK-300"),
        lot_quantity=(3000, 9000),
        alarms=(("AL-101", "살균온도 이탈", "STERILISER TEMP DEVIATION"), ("AL-204", "충전량 편차", "FILL DEVIATION"),
                ("AL-330", "포장필름 끊김", "FILM BREAK")),
        defect_rate=0.015,
    ),
    "battery": IndustryProfile(
        equipment=(("MIX", "믹서", "Mixer"), ("COT", "코터", "Coater"), ("CAL", "캘린더", "Calender")),
        levels={"TEMP": (85.0, 0.6), "PRES": (350.0, 3.5), "FLOW": (250.0, 3.0), "CURRENT": (45.0, 0.7),
                "VIB": (2.2, 0.1), "SPEED": (900.0, 8.0), "VISC": (6000.0, 70.0)},
        characteristics=(
            Characteristic("코팅두께", "COATING_THICKNESS", "um", 120, 4, 0.8, "치수불량", "DIM"),
            Characteristic("로딩량", "LOADING", "mg/cm2", 20, 0.6, 0.12, "치수불량", "DIMENSIONAL"),
            Characteristic("저항", "RESISTANCE", "mOhm", 1.8, 0.2, 0.04, "전기특성불량", "ELECTRICAL"),
            Characteristic("폭", "WIDTH", "mm", 300, 0.5, 0.1, "치수불량", "DIM"),
        ),
        products=("CA-NCM811", "CA-LFP01", "AN-GR02"),
        lot_quantity=(800, 2400),
        alarms=(("AL-101", "건조온도 상한", "DRYER TEMP HIGH"), ("AL-220", "슬러리 공급 압력 저하", "SLURRY PRESSURE LOW"),
                ("AL-315", "주행 장력 이상", "WEB TENSION FAULT")),
        defect_rate=0.03,
    ),
    "semiconductor": IndustryProfile(
        equipment=(("DEP", "증착장비", "Deposition tool"), ("ETC", "식각장비", "Etcher"), ("CLN", "세정장비", "Cleaner")),
        levels={"TEMP": (180.0, 0.4), "PRES": (0.013, 0.0003), "FLOW": (12.0, 0.15), "POWER": (1.5, 0.02),
                "VIB": (1.2, 0.06), "VOLT": (220.0, 1.0)},
        characteristics=(
            Characteristic("막두께", "FILM_THICKNESS", "nm", 500, 15, 3, "치수불량", "DIMENSION"),
            Characteristic("면저항", "SHEET_RESISTANCE", "ohm/sq", 45, 3, 0.6, "전기특성불량", "ELECTRICAL"),
            Characteristic("파티클", "PARTICLES", "ea", 10, 10, 2, "이물", "FM"),
            Characteristic("균일도", "UNIFORMITY", "pct", 2.5, 1.5, 0.3, "스크래치", "SCRATCH"),
        ),
        products=("PW-650V", "PW-1200V", "CR-RING"),
        lot_quantity=(25, 100),
        alarms=(("AL-101", "챔버온도 상한", "CHAMBER TEMP HIGH"), ("AL-240", "가스유량 편차", "GAS FLOW DEVIATION"),
                ("AL-388", "RF 반사파 이상", "RF REFLECTED POWER")),
        defect_rate=0.045,
    ),
    "auto_parts": IndustryProfile(
        equipment=(("DCM", "다이캐스팅기", "Die casting machine"), ("CNC", "CNC가공기", "CNC machine"),
                   ("WLD", "용접로봇", "Welding robot")),
        levels={"TEMP": (210.0, 1.2), "PRES": (700.0, 6.0), "SPEED": (3000.0, 20.0), "VIB": (3.5, 0.15),
                "POWER": (22.0, 0.35), "TORQUE": (120.0, 1.8), "CURRENT": (180.0, 2.5), "VOLT": (24.0, 0.25)},
        characteristics=(
            Characteristic("외경", "OUTER_DIAMETER", "mm", 42.0, 0.05, 0.01, "치수불량", "DIM"),
            Characteristic("경도", "HARDNESS", "HRC", 45, 3, 0.6, "크랙", "CRACK"),
            Characteristic("용접강도", "WELD_STRENGTH", "kN", 12, 2, 0.4, "용접불량", "WELDING"),
            Characteristic("기공률", "POROSITY", "pct", 1.0, 1.0, 0.2, "기포", "VOID"),
        ),
        products=("BRK-2210", "SFR-0415", "HSG-7730"),
        lot_quantity=(400, 1600),
        alarms=(("AL-101", "금형온도 상한", "MOLD TEMP HIGH"), ("AL-212", "유압 저하", "HYDRAULIC PRESSURE LOW"),
                ("AL-305", "주축 과부하", "SPINDLE OVERLOAD")),
        defect_rate=0.025,
    ),
}


# KSIC codes (dbt_project/seeds/industries.csv) -> the plant profile closest to it: the code
# itself, else its longest listed prefix (a class falls back to its group, then its division).
KSIC_PROFILES = {"10": "food", "11": "food", "20": "cosmetics", "21": "cosmetics", "26": "semiconductor",
                 "28": "battery", "22": "auto_parts", "24": "auto_parts", "25": "auto_parts", "29": "auto_parts",
                 "30": "auto_parts"}


def profile_for(industry: str) -> IndustryProfile:
    code = str(industry)
    if code in PROFILES:
        return PROFILES[code]
    for length in range(len(code), 1, -1):
        if code[:length] in KSIC_PROFILES:
            return PROFILES[KSIC_PROFILES[code[:length]]]
    return PROFILES["cosmetics"]


def level_for(profile: IndustryProfile, tag: str) -> tuple[float, float]:
    return profile.levels.get(tag, DEFAULT_LEVELS.get(tag, (100.0, 1.0)))
