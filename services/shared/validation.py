"""Validate documents against the shared schemas with compiled validators.

fastjsonschema turns a schema into Python code once, at import; validating is
then a plain function call (a pydantic parser would cost far more at cold start).
"""

from collections.abc import Callable
from typing import Any

import fastjsonschema

from shared.http import FieldError, bad_request
from shared.schemas import JsonSchema

Validator = Callable[[Any], Any]


def compile_schema(schema: JsonSchema) -> Validator:
    """A validator that returns the document or raises a 400 `Problem`
    naming the offending field."""
    check = fastjsonschema.compile(schema)

    def validate(document: Any) -> Any:
        try:
            return check(document)
        except fastjsonschema.JsonSchemaValueException as error:
            raise bad_request(_describe(error), _field_error(error, schema)) from None

    return validate


def _field_name(path: list[str]) -> str:
    return ".".join(str(part) for part in path[1:])  # path[0] is "data"


def _field_error(error: fastjsonschema.JsonSchemaValueException, schema: JsonSchema) -> FieldError:
    path = tuple(str(part) for part in error.path[1:])
    if error.rule == "additionalProperties" and isinstance(error.value, dict):
        allowed = _properties_at(schema, error.path[1:])
        extra = sorted(str(k) for k in error.value if k not in allowed)
        return _named(path + tuple(extra[:1]), "not allowed")
    if error.rule == "required" and isinstance(error.value, dict):
        missing = [p for p in error.rule_definition if p not in error.value]
        return _named(path + tuple(missing[:1]), "required")
    return _named(path, _describe(error))


def _named(path: tuple[str, ...], detail: str) -> FieldError:
    return FieldError(".".join(path), detail, path)


def _properties_at(schema: JsonSchema, path: list[str]) -> set[str]:
    for part in path:
        schema = schema.get("properties", {}).get(part, {})
    return set(schema.get("properties", {}))


def _describe(error: fastjsonschema.JsonSchemaValueException) -> str:
    """fastjsonschema says 'data.number must be ...'; say '<number> must be ...'."""
    message = str(error.message)
    name = _field_name(error.path)
    prefix = ".".join(str(p) for p in error.path)
    if message.startswith(prefix):
        subject = f"'{name}'" if name else "the document"
        message = subject + message[len(prefix) :]
    return message[0].upper() + message[1:] + "."
