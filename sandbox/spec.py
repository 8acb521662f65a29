"""The Telegram Bot API spec as data: request validation and answer contract checks.

The spec file (PaulSonOfLars/telegram-bot-api-spec format) lists every method with its
parameters and return type and every object type with its fields. Requests are checked
leniently (as Telegram does: form values are strings, numbers may stand for strings);
answers are checked strictly so the sandbox never hands PTB something Telegram would not.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.errors import ApiError, bad_request

DEFAULT_SPEC_PATH = Path("/work/shared/telegram/bot-api-10.1.json")
SPEC_PATH_ENV = "SANDBOX_BOT_API_SPEC"

_INT_RE = re.compile(r"[+-]?\d+")
_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "True"})
_ARRAY = "Array of "
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_DISCRIMINATOR_RE = re.compile(r"(?:always|must be)\s+[\"“]?([a-z_]+)[\"”]?")
_MAX_DEPTH = 40


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, kept in memory."""

    field: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "upload": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class MethodSpec:
    name: str
    returns: tuple[str, ...]
    fields: tuple[FieldSpec, ...]

    @property
    def returns_boolean_only(self) -> bool:
        return all(r in ("Boolean", "True") for r in self.returns)

    def field(self, name: str) -> FieldSpec | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    subtypes: tuple[str, ...]
    # ("type", "chat") for BotCommandScopeChat: tells union members apart
    discriminator: tuple[str, str] | None


class _Invalid(Exception):
    def __init__(self, path: str, message: str, *, mismatch: bool = False) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.mismatch = mismatch  # wrong union member: least informative error

    @property
    def depth(self) -> float:
        if not self.path:
            return 0
        depth = 1 + self.path.count(".") + self.path.count("[")
        return depth - 0.5 if self.mismatch else depth


def _fields(raw: list[dict[str, Any]] | None) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(name=f["name"], types=tuple(f["types"]), required=bool(f["required"]))
        for f in raw or []
    )


def _discriminator(raw: Mapping[str, Any]) -> tuple[str, str] | None:
    if not raw.get("subtype_of"):
        return None
    for f in raw.get("fields") or []:
        if f["name"] in _DISCRIMINATOR_FIELDS and f["types"] == ["String"]:
            m = _DISCRIMINATOR_RE.search(f.get("description", ""))
            if m:
                return (f["name"], m.group(1))
    return None


_LOADED: dict[Path, BotApiSpec] = {}


class BotApiSpec:
    """Methods and types of one Bot API version."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", "?"))
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(
                name=name, returns=tuple(m.get("returns", [])), fields=_fields(m.get("fields"))
            )
            for name, m in data["methods"].items()
        }
        self.types: dict[str, TypeSpec] = {
            name: TypeSpec(
                name=name,
                fields=_fields(t.get("fields")),
                subtypes=tuple(t.get("subtypes") or ()),
                discriminator=_discriminator(t),
            )
            for name, t in data["types"].items()
        }
        # Telegram method names are case-insensitive
        self._by_lower = {name.lower(): name for name in self.methods}

    @classmethod
    def load(cls, path: Path | str | None = None) -> BotApiSpec:
        """Load (once per path) the spec; default: $SANDBOX_BOT_API_SPEC or the shared copy."""
        resolved = Path(path or os.environ.get(SPEC_PATH_ENV) or DEFAULT_SPEC_PATH).resolve()
        spec = _LOADED.get(resolved)
        if spec is None:
            # read once at import/startup, before the event loop serves anything
            spec = cls(json.loads(resolved.read_text(encoding="utf-8")))
            _LOADED[resolved] = spec
        return spec

    def method(self, name: str) -> MethodSpec | None:
        canonical = self._by_lower.get(name.lower())
        return self.methods[canonical] if canonical else None

    def update_types(self) -> list[str]:
        return [f.name for f in self.types["Update"].fields if f.name != "update_id"]

    # ---- requests -----------------------------------------------------------------------

    def parse_params(
        self,
        method: MethodSpec,
        raw: Mapping[str, Any],
        uploads: Mapping[str, UploadedFile] | None = None,
    ) -> dict[str, Any]:
        """Check `raw` request parameters against `method`; return them typed.

        Raises ApiError(400) like Telegram for a missing required parameter, a value of the
        wrong type or a JSON parameter that does not parse or does not fit its object type.
        Parameters the method does not know are ignored (Telegram ignores them too).
        """
        uploads = uploads or {}
        out: dict[str, Any] = {}
        for field in method.fields:
            value = raw.get(field.name)
            if value is None or value == "":
                if field.required:
                    raise _missing(method.name, field.name)
                continue
            out[field.name] = self._coerce(value, field, uploads)
        return out

    def _coerce(
        self, value: Any, field: FieldSpec, uploads: Mapping[str, UploadedFile]
    ) -> Any:
        errors: list[_Invalid] = []
        for expr in field.types:
            try:
                return self._coerce_one(value, expr, field.name, uploads)
            except _Invalid as exc:
                errors.append(exc)
        deepest = max(errors, key=lambda e: e.depth)
        if deepest.depth > 0:
            raise bad_request(f"can't parse {field.name}: {deepest}")
        if deepest.message.startswith("can't parse"):
            raise bad_request(deepest.message)
        shown = value if not isinstance(value, UploadedFile) else "<file>"
        raise bad_request(
            f'wrong type of parameter "{field.name}": expected {" or ".join(field.types)},'
            f" got {json.dumps(shown, ensure_ascii=False)[:60]}"
        )

    def _coerce_one(
        self, value: Any, expr: str, name: str, uploads: Mapping[str, UploadedFile]
    ) -> Any:
        if isinstance(value, UploadedFile):
            if expr == "InputFile":
                return value
            raise _Invalid("", f"a file is not {expr}")
        if expr == "InputFile":
            if isinstance(value, str) and value.startswith("attach://"):
                part = uploads.get(value.removeprefix("attach://"))
                if part is not None:
                    return part
            raise _Invalid("", "expected a file upload")
        if expr in _PRIMITIVES:
            return _primitive(value, expr, lenient=True)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise _Invalid("", f"can't parse {name} JSON object") from exc
        self._check(value, expr, "", strict=False, depth=0)
        return value

    # ---- answers ------------------------------------------------------------------------

    def check_result(self, method: MethodSpec, result: Any) -> list[str]:
        """Problems of `result` as the answer of `method` (empty list: it is fine)."""
        return self.check_value(result, method.returns)

    def check_value(self, value: Any, types: tuple[str, ...] | list[str]) -> list[str]:
        errors: list[_Invalid] = []
        for expr in types:
            try:
                self._check(value, expr, "", strict=True, depth=0)
                return []
            except _Invalid as exc:
                errors.append(exc)
        return [str(max(errors, key=lambda e: e.depth))] if errors else []

    # ---- shared structural check -------------------------------------------------------

    def _check(self, value: Any, expr: str, path: str, *, strict: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        if expr.startswith(_ARRAY):
            if not isinstance(value, list):
                raise _Invalid(path, f"expected {expr}")
            inner = expr[len(_ARRAY) :]
            for i, item in enumerate(value):
                self._check(item, inner, f"{path}[{i}]", strict=strict, depth=depth + 1)
            return
        if expr in _PRIMITIVES:
            try:
                _primitive(value, expr, lenient=not strict)
            except _Invalid as exc:
                raise _Invalid(path, exc.message) from None
            return
        if expr == "InputFile":
            if isinstance(value, str | UploadedFile):
                return
            raise _Invalid(path, "expected a file (attach://<name>)")
        spec = self.types.get(expr)
        if spec is None:
            return  # unknown to the spec file: nothing to hold it against
        if spec.subtypes:
            errors: list[_Invalid] = []
            for sub in spec.subtypes:
                try:
                    self._check(value, sub, path, strict=strict, depth=depth + 1)
                    return
                except _Invalid as exc:
                    errors.append(exc)
            raise max(errors, key=lambda e: e.depth)
        if not isinstance(value, dict):
            raise _Invalid(path, f"expected a JSON object ({expr})")
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            if value.get(key) != expected:
                raise _Invalid(_join(path, key), f'{expr} needs "{expected}"', mismatch=True)
        for f in spec.fields:
            if value.get(f.name) is None:
                if f.required:
                    raise _Invalid(_join(path, f.name), f"required field of {expr} is missing")
                continue
            sub_path = _join(path, f.name)  # only for present fields: a Message has ~100
            errors = []
            for alt in f.types:
                try:
                    self._check(value[f.name], alt, sub_path, strict=strict, depth=depth + 1)
                    break
                except _Invalid as exc:
                    errors.append(exc)
            else:
                raise max(errors, key=lambda e: e.depth)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _missing(method: str, name: str) -> ApiError:
    if name == "text" and method.lower() == "sendmessage":
        return bad_request("message text is empty")
    return bad_request(f"{name} is empty")


def _primitive(value: Any, expr: str, *, lenient: bool) -> Any:
    """Check/convert one primitive; `lenient` accepts what Telegram accepts in requests."""
    if expr == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if lenient and isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        raise _Invalid("", "expected Integer")
    if expr == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if lenient and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
        raise _Invalid("", "expected Float")
    if expr in ("Boolean", "True"):
        if isinstance(value, bool):
            return value
        if lenient and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if lenient and isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _Invalid("", "expected Boolean")
    # String
    if isinstance(value, str):
        return value
    if lenient and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("", "expected String")
