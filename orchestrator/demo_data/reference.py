"""Fixed vocabularies of the demo districts: names, subjects and codes with their state codes.

The codes are typical of a District Edition install, not any state's official list. A few carry
no state code on purpose: real districts keep local codes that the state does not map.
"""

from __future__ import annotations

from typing import NamedTuple

GRADES = ("KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")

FIRST_NAMES = (
    "Aaliyah", "Aiden", "Amara", "Andre", "Ava", "Benjamin", "Brooklyn", "Caleb", "Camila",
    "Carlos", "Chloe", "Daniel", "Destiny", "Diego", "Elena", "Elijah", "Emma", "Ethan",
    "Gabriel", "Grace", "Hannah", "Hiroshi", "Isabella", "Isaiah", "Jada", "James", "Jasmine",
    "Jayden", "Kai", "Kayla", "Layla", "Leah", "Liam", "Lucas", "Luna", "Malik", "Maria",
    "Mason", "Maya", "Mia", "Noah", "Nora", "Olivia", "Omar", "Priya", "Rosa", "Samuel",
    "Sofia", "Talia", "Tyler", "Valeria", "Wyatt", "Xavier", "Yusuf", "Zoe", "Nizhoni", "Ahiga",
    "Kaya", "Dakota", "Winona",
)
LAST_NAMES = (
    "Adams", "Allen", "Begay", "Brown", "Chavez", "Chen", "Clark", "Davis", "Diaz", "Evans",
    "Garcia", "Gonzalez", "Green", "Hall", "Harris", "Hernandez", "Hill", "Jackson", "Johnson",
    "Kim", "King", "Lee", "Lewis", "Lopez", "Martin", "Martinez", "Moore", "Nguyen", "Patel",
    "Perez", "Ramirez", "Reyes", "Rivera", "Robinson", "Rodriguez", "Sanchez", "Scott", "Smith",
    "Taylor", "Thomas", "Thompson", "Torres", "Tsosie", "Walker", "White", "Williams", "Wilson",
    "Wright", "Yazzie", "Young",
)
SCHOOL_NAMES = (
    "Lincoln", "Cedar Ridge", "Roosevelt", "Lakeview", "Desert Sky", "Maple Grove", "Riverside",
    "Sunset", "Pine Hills", "Valley View", "Hillcrest", "Jefferson", "Mountain View", "Oak Park",
    "Willow Creek", "Sage Canyon", "Red Mesa", "Eagle Rock", "Meadowbrook", "Silver Springs",
)
LEVEL_TITLES = {
    "elementary": "Elementary School",
    "middle": "Middle School",
    "high": "High School",
    "secondary": "Secondary School",
    "k12": "K-12 School",
}


class Subject(NamedTuple):
    code: str
    name: str
    state_prefix: str | None  # None: a local course the state does not map
    second_term: tuple[str, str] | None = None  # a subject split in two one-term courses


#: One subject per instructional period (5 to 7 are used); the fifth is split by term.
ELEMENTARY_SUBJECTS = (
    Subject("RDG", "Reading", "01"),
    Subject("MTH", "Math", "02"),
    Subject("WRT", "Writing", "01"),
    Subject("SCI", "Science", "03"),
    Subject("ART", "Art", "05", second_term=("MUS", "Music")),
    Subject("SOC", "Social Studies", "04"),
    Subject("INT", "Intervention", None),
)
SECONDARY_SUBJECTS = (
    Subject("ENG", "English", "01"),
    Subject("MTH", "Math", "02"),
    Subject("SCI", "Science", "03"),
    Subject("SOC", "Social Studies", "04"),
    Subject("HLT", "Health", "08", second_term=("PE", "Physical Education")),
    Subject("WLG", "World Language", "06"),
    Subject("ELV", "Elective", None),
)


class ExcuseCode(NamedTuple):
    code: str
    description: str
    status: str  # A absent, T tardy, E early release, P present
    excuse: str | None  # E excused, U unexcused, X exempt, None: not decided
    state_code: str | None


EXCUSE_CODES = (
    ExcuseCode("ABS", "Absent, reason not yet known", "A", None, "UA"),
    ExcuseCode("UNX", "Unexcused absence", "A", "U", "UA"),
    ExcuseCode("TRU", "Truant", "A", "U", "TR"),
    ExcuseCode("ILL", "Illness", "A", "E", "EA"),
    ExcuseCode("MED", "Medical or dental appointment", "A", "E", "EA"),
    ExcuseCode("FAM", "Family emergency", "A", "E", "EA"),
    ExcuseCode("REL", "Religious observance", "A", "E", "EA"),
    ExcuseCode("OSS", "Out-of-school suspension", "A", "E", "SU"),
    ExcuseCode("FLD", "Field trip or school activity", "A", "X", "SA"),
    ExcuseCode("HOM", "Homebound instruction", "P", "X", "HB"),
    ExcuseCode("TAR", "Tardy", "T", "U", "TU"),
    ExcuseCode("TEX", "Tardy, excused", "T", "E", "TE"),
    ExcuseCode("ERL", "Early release, excused", "E", "E", "EE"),
    ExcuseCode("ERU", "Early release, unexcused", "E", "U", "EU"),
    ExcuseCode("CNS", "Counselor or nurse visit", "P", None, None),
)
EXCUSES_BY_CODE = {c.code: c for c in EXCUSE_CODES}


class BehaviorCode(NamedTuple):
    code: str
    name: str
    state_code: str | None
    weight: float


BEHAVIOR_CODES = (
    BehaviorCode("DISR", "Disruptive behavior", "0501", 0.26),
    BehaviorCode("DEFY", "Defiance of authority", "0502", 0.18),
    BehaviorCode("FIGHT", "Fighting", "0301", 0.14),
    BehaviorCode("BULLY", "Bullying", "0401", 0.08),
    BehaviorCode("VAPE", "Tobacco or vaping", "0701", 0.08),
    BehaviorCode("THEFT", "Theft", "0801", 0.05),
    BehaviorCode("PHONE", "Cell phone violation", None, 0.12),
    BehaviorCode("TARDY", "Excessive tardiness", None, 0.09),
)


class ResolutionType(NamedTuple):
    code: str
    name: str
    state_code: str | None
    weight: float
    days: tuple[int, int]  # school days it lasts, from the day after the event (0: that day only)


RESOLUTION_TYPES = (
    ResolutionType("WARN", "Verbal warning", None, 0.18, (0, 0)),
    ResolutionType("CONF", "Parent conference", "10", 0.20, (0, 0)),
    ResolutionType("DET", "Detention", "20", 0.26, (1, 1)),
    ResolutionType("ISS", "In-school suspension", "30", 0.16, (1, 2)),
    ResolutionType("OSS", "Out-of-school suspension", "40", 0.17, (1, 5)),
    ResolutionType("ALT", "Alternative placement", "60", 0.03, (5, 10)),
    # On the books but rare enough that a demo year has none; an expulsion would end enrollment.
    ResolutionType("EXP", "Expulsion", "50", 0.0, (0, 0)),
)

AT_RISK_REASONS = (
    ("ACAD", "AR01"), ("ATTN", "AR02"), ("ECON", "AR03"), ("HMLS", "AR04"), ("ELL", "AR05"),
    ("LOCAL", None),
)
ADULT_ED_PROGRAMS = (("ABE", "AE01"), ("ESL", "AE02"), ("GED", "AE03"), ("HSE", "AE04"))
# The public record says nothing of ALPSS programs: neutral codes, no invented meaning.
ALPSS_PROGRAMS = (("ALP01", "01"), ("ALP02", "02"), ("ALP03", "03"))

ATTENDANCE_COMMENTS = (
    "Parent called", "Note from doctor", "Checked out by parent", "Bus late", None, None, None,
)
