"""Netlify's ``_redirects`` and ``netlify.toml`` redirect rules, read as ``jwtgate.rules.Rule``.

Only lines that matter to gating become rules: paths with splats and
placeholders, 200 rewrites within the app, 3xx redirects, 401/403/404
answers, ``Role=`` conditions, ``!`` (force). Every other line is refused
with its line number and the reason, rather than silently dropped or half
applied: proxies to another host, ``Country=``/``Language=`` conditions,
signed proxies, query-string conditions, rules for another domain, custom
headers. ``skip_unsupported=True`` skips such lines instead, except those
with a ``Role=`` condition: dropping a gate would fail open, so those are
always refused. Lines Netlify itself rejects are always refused.

The reading follows Netlify's parser (``@netlify/redirect-parser``), which
jwtgate's test suite runs on the same files: whitespace-separated fields,
``#`` comments, ``from [query] [to] [status[!]] [conditions]``, a missing
``to`` allowed for a ``/*`` path with a 2xx status (``to`` is then the path
with ``:splat``), 301 when no status is given, ``Role``/``role`` lists
separated by commas.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ..logs import logger
from ..rules import Rule

__all__ = ["RulesError", "redirect_rules", "rules_file", "toml_rules"]

_STATUS = re.compile(r"(\d+)(!?)\Z")
# Netlify's condition names, capitalised or not (and nothing else: "ROLE" is unknown).
_CONDITIONS = {
    "Role": "Role",
    "role": "Role",
    "Country": "Country",
    "country": "Country",
    "Language": "Language",
    "language": "Language",
}
_SIGNED_KEYS = ("Sign", "signed")


class RulesError(ConfigurationError):
    """A redirect rule that jwtgate cannot apply; names the file, the line and why.

    ``line`` is the 1-based line number (``None`` when unknown), ``unsupported``
    is True for a valid Netlify rule that has nothing to do with gating (what
    ``skip_unsupported=True`` skips), False for a rule Netlify rejects too or
    one that gates by role.
    """

    def __init__(self, message: str, *, line: int | None, unsupported: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.unsupported = unsupported


class _Refused(Exception):
    """Why one rule is refused, before the file and line are known."""

    def __init__(self, reason: str, *, unsupported: bool = False) -> None:
        super().__init__(reason)
        self.unsupported = unsupported


def redirect_rules(text: str, *, skip_unsupported: bool = False) -> list[Rule]:
    """The rules of a ``_redirects`` file, in order.

    Raises ``RulesError`` (a ``ConfigurationError``) naming the first line
    jwtgate cannot apply and why. ``skip_unsupported=True`` skips lines that
    don't gate (proxies, country or language conditions …), logging each.
    """
    if not isinstance(text, str):
        raise ConfigurationError("redirect_rules: give the file's text (a str)")
    rules: list[Rule] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        gates = _names_roles(line)
        try:
            rules.append(_line_rule(line, number))
        except _Refused as refused:
            _refuse(
                f"_redirects line {number}: {refused}\n    {line}",
                number,
                refused.unsupported and not gates,
                skip_unsupported,
            )
    return rules


def toml_rules(text: str, *, skip_unsupported: bool = False) -> list[Rule]:
    """The rules of a ``netlify.toml``'s ``[[redirects]]`` tables, in order.

    The file is read with ``tomllib`` (a ``TOMLDecodeError`` becomes a
    ``RulesError``); keys are those of Netlify's configuration (``from``,
    ``to``, ``status``, ``force``, ``conditions = {Role = [...]}``, and the
    older ``origin``/``destination``). Rules Netlify reads from ``_redirects``
    come first on Netlify: ``redirect_rules(a) + toml_rules(b)``.
    """
    if not isinstance(text, str):
        raise ConfigurationError("toml_rules: give the file's text (a str)")
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"netlify.toml: not valid TOML: {exc}", line=None) from None
    redirects = config.get("redirects", [])
    if not isinstance(redirects, list):
        raise RulesError("netlify.toml: redirects must be an array of tables", line=None)
    lines = _table_lines(text)
    rules: list[Rule] = []
    for index, table in enumerate(redirects):
        line = lines[index] if index < len(lines) else None
        where = f"netlify.toml [[redirects]] #{index + 1}" + (
            f" (line {line})" if line is not None else ""
        )
        if not isinstance(table, dict):
            raise RulesError(f"{where}: must be a table", line=line)
        gates = _table_roles(table)
        try:
            rules.append(_table_rule(table, line))
        except _Refused as refused:
            skippable = refused.unsupported and not gates
            _refuse(f"{where}: {refused}", line, skippable, skip_unsupported)
    return rules


def rules_file(path: str | os.PathLike[str], *, skip_unsupported: bool = False) -> list[Rule]:
    """The rules of a file: ``toml_rules`` for a name ending in ``.toml``, else ``redirect_rules``.

    A file that cannot be read raises ``ConfigurationError`` naming it.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {name}: {exc}") from None
    read = toml_rules if name.endswith(".toml") else redirect_rules
    try:
        return read(text, skip_unsupported=skip_unsupported)
    except RulesError as exc:
        raise RulesError(f"{name}: {exc}", line=exc.line, unsupported=exc.unsupported) from None


def _refuse(message: str, line: int | None, skippable: bool, skip: bool) -> None:
    if skippable and skip:
        logger.info("jwtgate: skipped %s", message.replace("\n   ", ":"))
        return
    if skippable:
        message += "\n(pass skip_unsupported=True to skip rules that don't gate)"
    raise RulesError(message, line=line, unsupported=skippable)


# --- _redirects ----------------------------------------------------------------------


def _line_rule(line: str, number: int) -> Rule:
    fields: list[str] = []
    for field in line.split():
        if field.startswith("#"):
            break  # a comment to the end of the line
        fields.append(field)
    origin, rest = fields[0], fields[1:]
    if not rest:
        raise _Refused("missing destination path/URL")
    status_field: str | None
    if _STATUS.match(rest[0]):
        # "from status[!] ...": a forward rule, its target is the path itself.
        query: list[str] = []
        to = None
        status_field, conditions = rest[0], rest[1:]
    else:
        at = next((i for i, field in enumerate(rest) if _is_target(field)), None)
        if at is None:
            raise _Refused('the destination path/URL must start with "/", "http:" or "https:"')
        query, to = rest[:at], rest[at]
        tail = rest[at + 1 :]
        status_field, conditions = (tail[0], tail[1:]) if tail else (None, [])
    status, force = _status(status_field)
    roles = _conditions(conditions)
    _check_from(origin)
    if query:
        raise _Refused("query-string conditions (key=value before the target)", unsupported=True)
    return _rule(origin, to, status, force, roles, number)


def _is_target(field: str) -> bool:
    return field.startswith(("/", "http://", "https://"))


def _status(field: str | None) -> tuple[int | None, bool]:
    if field is None:
        return None, False
    found = _STATUS.match(field)
    if found is None:
        raise _Refused(f"{field!r} is not a status code (e.g. 200, 301, 404!)")
    return int(found.group(1)), bool(found.group(2))


def _conditions(fields: list[str]) -> tuple[str, ...]:
    """The ``Role=`` roles; any other condition is refused (Netlify's are not for gating)."""
    seen: dict[str, str] = {}
    for field in fields:
        key, equals, value = field.partition("=")
        if not equals:
            raise _Refused(
                f"{field!r} is not a condition (key=value); "
                "list several roles without spaces: Role=admin,editor"
            )
        name = _CONDITIONS.get(key)
        if key in _SIGNED_KEYS:
            raise _Refused("signed proxy (Sign=): jwtgate does not proxy", unsupported=True)
        if name is None:
            raise _Refused(f"unknown condition {key}=", unsupported=True)
        if name in seen:
            raise _Refused(f"{name}= given twice")
        seen[name] = value
    roles = _role_condition(seen, "=")
    return () if roles is None else _role_list(roles.split(","))


def _role_condition(conditions: Mapping[str, Any], written: str) -> Any:
    """The ``Role`` condition's value, ``None`` without one; Country and Language refused.

    ``written`` follows a condition's name in messages: ``"="`` in ``_redirects``.
    """
    for name in ("Country", "Language"):
        if name in conditions:
            raise _Refused(
                f"{name}{written} condition: serving by {name.lower()} is not gating",
                unsupported=True,
            )
    return conditions.get("Role")


def _role_list(names: list[str]) -> tuple[str, ...]:
    roles = tuple(name.strip() for name in names)
    if not roles or not all(roles):
        raise _Refused("Role= lists an empty role name")
    for role in roles:
        if ":" in role:
            # The engine splits its role condition on ":", so such a rule never matches.
            raise _Refused(
                f"role {role!r}: Netlify's engine never matches a role name containing ':'"
            )
    return roles


def _names_roles(line: str) -> bool:
    """True when a ``_redirects`` line has a ``Role=`` condition (it gates)."""
    return any(
        field.partition("=")[0] in ("Role", "role") and "=" in field
        for field in line.split("#")[0].split()
    )


# --- netlify.toml --------------------------------------------------------------------

_TABLE_KEYS = {
    "from",
    "origin",
    "to",
    "destination",
    "status",
    "force",
    "conditions",
    "query",
    "params",
    "parameters",
    "headers",
    "signed",
    "signing",
    "sign",
}


def _table_rule(table: Mapping[str, Any], line: int | None) -> Rule:
    unknown = sorted(set(table) - _TABLE_KEYS)
    if unknown:
        raise _Refused(f"unknown key {unknown[0]!r}", unsupported=True)
    origin = table.get("from", table.get("origin"))
    if not isinstance(origin, str):
        raise _Refused('missing "from" (a path)')
    to = table.get("to", table.get("destination"))
    if to is not None and not isinstance(to, str):
        raise _Refused('"to" must be a path or a URL')
    status = table.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise _Refused(f"status {status!r} is not a status code")
    force = table.get("force", False)
    if not isinstance(force, bool):
        raise _Refused("force must be true or false")
    conditions = table.get("conditions", {})
    if not isinstance(conditions, dict):
        raise _Refused("conditions must be a table")
    roles = _table_conditions(conditions)
    for key in ("signed", "signing", "sign"):
        if table.get(key):
            raise _Refused("signed proxy: jwtgate does not proxy", unsupported=True)
    for key in ("query", "params", "parameters"):
        if table.get(key):
            raise _Refused("query-string conditions (query = {...})", unsupported=True)
    headers = table.get("headers", {})
    if not isinstance(headers, dict):
        raise _Refused('"headers" must be a table')
    if headers:
        raise _Refused(
            "custom headers: they go with proxies, which jwtgate does not do", unsupported=True
        )
    if to is None and not (origin.endswith("/*") and status is not None and 200 <= status < 300):
        raise _Refused('missing "to" (allowed only for a /* path with status 200)')
    _check_from(origin)
    return _rule(origin, to, status, force, roles, line)


def _table_conditions(conditions: Mapping[str, Any]) -> tuple[str, ...]:
    found: dict[str, Any] = {}
    for key, value in conditions.items():
        name = _CONDITIONS.get(key)
        if name is None:
            raise _Refused(f"unknown condition {key!r}", unsupported=True)
        if name in found:
            raise _Refused(f"{name} given twice")
        found[name] = value
    value = _role_condition(found, "")
    if value is None:
        return ()
    if isinstance(value, str):
        return _role_list(value.split(","))
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return _role_list(value)
    raise _Refused("Role must be a list of role names")


def _table_roles(table: Mapping[str, Any]) -> bool:
    conditions = table.get("conditions")
    return isinstance(conditions, dict) and any(key in ("Role", "role") for key in conditions)


def _table_lines(text: str) -> list[int]:
    """The line of each ``[[redirects]]`` header, in order (tomllib keeps no positions)."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r"\s*\[\[\s*redirects\s*\]\]", line)
    ]


# --- shared --------------------------------------------------------------------------


def _check_from(origin: str) -> None:
    if origin.startswith(("http://", "https://")):
        raise _Refused("a rule for another domain (from is a URL)", unsupported=True)
    if origin.startswith("/.netlify"):
        raise _Refused('"from" must not start with /.netlify')


def _rule(
    origin: str,
    to: str | None,
    status: int | None,
    force: bool,
    roles: tuple[str, ...],
    line: int | None,
) -> Rule:
    if to is None and (status is None or not 200 <= status < 300 or not origin.endswith("/*")):
        raise _Refused("missing destination (allowed only for a /* path with status 200)")
    if to is not None and to.startswith(("http://", "https://")) and status in (200, 401, 403, 404):
        raise _Refused(f"proxy to another host ({status} to a URL)", unsupported=True)
    try:
        return Rule(origin, to, status, force=force, roles=roles, line=line)
    except ConfigurationError as exc:
        # Netlify reads the rule; jwtgate does not apply it (see the message).
        raise _Refused(str(exc), unsupported=True) from None
