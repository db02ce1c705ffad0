"""The request schemas: the single source of truth for validation.

The function validates with them (compiled by fastjsonschema), the CDK app turns
them into API Gateway request models, and the OpenAPI document embeds them. API
Gateway models speak JSON Schema draft 4 only, so these stay inside that subset:
no `const`, no `if/then`, boolean `exclusiveMinimum`, and `additionalProperties: false`.
"""

from typing import Any, Final

JsonSchema = dict[str, Any]

NUMBER_MIN: Final = 1
NUMBER_MAX: Final = 10
MAX_BODY_BYTES: Final = 4096
MAX_RANGE_DAYS: Final = 366
DEFAULT_RANGE_DAYS: Final = 7


def _calendar_date(year: str, leap_year: str) -> str:
    """YYYY-MM-DD of a real Gregorian day, as a regex (plain ECMA-262 and Python
    syntax: groups and alternatives only, as API Gateway's draft-4 validator and
    OpenAPI tools read it): 31-, 30-day months, February 1-28, and the 29th of
    February in the years `leap_year` matches."""
    days_31 = "(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    days_30 = "(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    february = "02-(0[1-9]|1[0-9]|2[0-8])"
    return f"({year}-({days_31}|{days_30}|{february})|{leap_year}-02-29)"


# Leap years end in 04, 08, ..., 96 (not 00); or are centuries divisible by 400.
_LEAP_IN_CENTURY = "(0[48]|[2468][048]|[13579][26])"
# Days: years 1000-2999, any day the app can hold, with room for date arithmetic.
ISO_DATE_PATTERN: Final = (
    "^" + _calendar_date("[12][0-9]{3}", f"([12][0-9]{_LEAP_IN_CENTURY}|(1[26]|2[048])00)") + "$"
)
# A client's clock: ISO-8601 date-time with seconds and fraction optional and a
# mandatory Z or offset, as Python's datetime.fromisoformat reads it; years 0001-9999.
_ANY_YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_ANY_LEAP_YEAR = f"([0-9]{{2}}{_LEAP_IN_CENTURY}|{_LEAP_IN_CENTURY}00)"
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?"
_OFFSET = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
ISO_DATETIME_PATTERN: Final = (
    "^" + _calendar_date(_ANY_YEAR, _ANY_LEAP_YEAR) + "T" + _TIME + _OFFSET + "$"
)
# A day in an answer: a range may start before the first day a request may name
# (`to=1000-01-01` answers from 0999-12-26), so answers admit any real day.
ANY_DATE_PATTERN: Final = "^" + _calendar_date(_ANY_YEAR, _ANY_LEAP_YEAR) + "$"
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9_.:-]{16,128}$"

SUBMISSION_SCHEMA: Final[JsonSchema] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Submission",
    "description": "A number picked by a person.",
    "type": "object",
    "properties": {
        "number": {
            "description": "The picked number.",
            "type": "integer",
            "minimum": NUMBER_MIN,
            "maximum": NUMBER_MAX,
        },
        "timestamp": {
            "description": "The client's clock (ISO-8601 with offset); kept, never trusted.",
            "type": "string",
            "maxLength": 40,
            "pattern": ISO_DATETIME_PATTERN,
        },
        "location": {
            "description": "Approximate location, coarsened to 0.1 degree before storage.",
            "type": ["object", "null"],
            "properties": {
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            },
            "required": ["latitude", "longitude"],
            "additionalProperties": False,
        },
    },
    "required": ["number"],
    "additionalProperties": False,
}

DAILY_STATS_QUERY_SCHEMA: Final[JsonSchema] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "DailyStatsQuery",
    "description": "Query string of GET /api/daily-stats (dates are UTC days).",
    "type": "object",
    "properties": {
        "from": {"type": "string", "pattern": ISO_DATE_PATTERN, "maxLength": 10},
        "to": {"type": "string", "pattern": ISO_DATE_PATTERN, "maxLength": 10},
    },
    "additionalProperties": False,
}

_HISTOGRAM_SCHEMA: Final[JsonSchema] = {
    "type": "object",
    "properties": {
        str(n): {"type": "integer", "minimum": 0} for n in range(NUMBER_MIN, NUMBER_MAX + 1)
    },
    "required": [str(n) for n in range(NUMBER_MIN, NUMBER_MAX + 1)],
    "additionalProperties": False,
}

_NULLABLE_NUMBER: Final[JsonSchema] = {"type": ["number", "null"]}

STATS_SCHEMA: Final[JsonSchema] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "sum": {"type": "integer", "minimum": 0},
        "mean": _NULLABLE_NUMBER,
        "min": {"type": ["integer", "null"]},
        "max": {"type": ["integer", "null"]},
        "mode": {"type": ["integer", "null"]},
        "median": _NULLABLE_NUMBER,
        "histogram": _HISTOGRAM_SCHEMA,
    },
    "required": ["count", "sum", "mean", "min", "max", "mode", "median", "histogram"],
    "additionalProperties": False,
}

DAY_STATS_SCHEMA: Final[JsonSchema] = {
    **STATS_SCHEMA,
    "properties": {"date": {"type": "string", "pattern": ANY_DATE_PATTERN}}
    | STATS_SCHEMA["properties"],
    "required": ["date", *STATS_SCHEMA["required"]],
}

DAILY_STATS_RESPONSE_SCHEMA: Final[JsonSchema] = {
    "type": "object",
    "properties": {
        "from": {"type": "string", "pattern": ANY_DATE_PATTERN},
        "to": {"type": "string", "pattern": ANY_DATE_PATTERN},
        "days": {"type": "array", "items": DAY_STATS_SCHEMA},
        "total": STATS_SCHEMA,
    },
    "required": ["from", "to", "days", "total"],
    "additionalProperties": False,
}

SUBMISSION_RESPONSE_SCHEMA: Final[JsonSchema] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "date": {"type": "string", "pattern": ANY_DATE_PATTERN},
        "number": {"type": "integer", "minimum": NUMBER_MIN, "maximum": NUMBER_MAX},
    },
    "required": ["id", "date", "number"],
    "additionalProperties": False,
}

PROBLEM_SCHEMA: Final[JsonSchema] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "pointer": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
    "required": ["title", "status"],
}
