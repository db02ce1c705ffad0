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

# Years 1000-2999: any day the app can hold, with room for date arithmetic on both sides.
ISO_DATE_PATTERN: Final = r"^[12][0-9]{3}-[0-9]{2}-[0-9]{2}$"
# ISO-8601 date-time with a mandatory offset or Z; the calendar is checked in code.
ISO_DATETIME_PATTERN: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
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
    "properties": {"date": {"type": "string", "pattern": ISO_DATE_PATTERN}}
    | STATS_SCHEMA["properties"],
    "required": ["date", *STATS_SCHEMA["required"]],
}

DAILY_STATS_RESPONSE_SCHEMA: Final[JsonSchema] = {
    "type": "object",
    "properties": {
        "from": {"type": "string", "pattern": ISO_DATE_PATTERN},
        "to": {"type": "string", "pattern": ISO_DATE_PATTERN},
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
        "date": {"type": "string", "pattern": ISO_DATE_PATTERN},
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
