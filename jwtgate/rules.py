"""Path rules: gate whole path trees by role, the way Netlify's ``_redirects`` does.

A ``Rule`` says: for a request whose path matches ``path`` (and whose user
holds one of ``roles``, when the rule names any), let it through, rewrite it
to another path of the same app (status 200), redirect it (3xx), or answer
401/403/404 (serving the ``to`` page with that status to a browser).
A ``RuleTable`` holds rules in order and decides, once per request, which
one applies, with Netlify's semantics:

- rules are tried in order; the first whose path matches **and** whose roles
  the user has (or which names no roles) decides;
- a rule whose roles the user lacks is skipped; when the path matched only
  such rules, the answer is 404;
- ``*`` (only as the last segment, ``/admin/*``) matches the rest of the path,
  including nothing (``/admin``); ``:name`` matches one whole segment; both are
  substituted into ``to`` (``:splat`` for the ``*``); a trailing slash is
  optional on both sides; matching is case-sensitive;
- the request's query string is kept on a redirect or rewrite whose target
  has none of its own;
- identical rules count once, at their last position (as Netlify's parser
  merges them);
- a rule without ``force`` gives way to content the app serves itself at the
  requested path when the table is given ``exists=`` (Netlify's shadowing;
  never for a rule reached after a role rule failed).

This module is the framework-free core: ``jwtgate.wsgi`` and ``jwtgate.asgi``
apply its decisions (``GateMiddleware(app, gate, rules=...)``), and
``jwtgate.netlify`` builds rules from ``_redirects`` and ``netlify.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Final, NamedTuple
from urllib.parse import quote, unquote

from werkzeug.http import parse_accept_header

from .errors import AuthError, ConfigurationError, Forbidden, MissingToken

__all__ = [
    "ANSWER_STATUSES",
    "REDIRECT_STATUSES",
    "Answer",
    "Decision",
    "RoleRequired",
    "Rule",
    "RuleTable",
    "answer",
    "is_navigation",
    "rule_table",
]

#: Statuses a rule may redirect with.
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
#: Statuses a rule may answer with (the ``to`` page, served with that status, to a browser).
ANSWER_STATUSES: Final = frozenset({401, 403, 404})
_STATUSES: Final = frozenset({200}) | REDIRECT_STATUSES | ANSWER_STATUSES
#: Netlify's status when a rule gives none.
DEFAULT_STATUS: Final = 301

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PLACEHOLDER = re.compile(rf":({_NAME})\Z")
_REFERENCE = re.compile(rf":({_NAME})")
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)
# Characters a rule's own text may not contain: whitespace and controls would
# split a _redirects line or a header; a backslash is read as "/" by browsers.
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f\\]")
# What quote(value, safe="/") leaves as it is.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.~/-]*")


class RoleRequired(Forbidden):
    """A signed-in user lacks the roles a rule wants, and the rule answers 401.

    The challenge names the roles (``insufficient_scope``), as a 403 would.
    """

    code = 401


class Rule:
    """One path rule, as a ``_redirects`` line reads: ``path to status[!] Role=...``.

    ``to`` is a path of the app (a rewrite with 200, a redirect with 3xx, the
    page a browser gets with 401/403/404) or, for a redirect only, an absolute
    ``http(s)://`` URL. Without ``to`` the request goes through unchanged
    (status 200, the default then) or gets the bare 401/403/404. ``status``
    defaults to 301 when ``to`` is given, as on Netlify. ``roles``: the rule
    applies only to users holding at least one of them. ``force`` is ``!``:
    the rule applies even where the app has content of its own (see
    ``RuleTable(exists=...)``). ``line`` is where the rule came from, for
    messages.
    """

    __slots__ = (
        "_declared",
        "_encoded",
        "_identity",
        "_loop_prefix",
        "_names",
        "_template",
        "force",
        "line",
        "path",
        "roles",
        "splat",
        "status",
        "to",
    )

    def __init__(
        self,
        path: str,
        to: str | None = None,
        status: int | None = None,
        *,
        force: bool = False,
        roles: Iterable[str] = (),
        line: int | None = None,
    ) -> None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigurationError(f"path {path!r}: must be a string starting with /")
        if _FORBIDDEN.search(path) or "?" in path or "#" in path:
            raise ConfigurationError(
                f"path {path!r}: no spaces, control characters, backslashes, ? or #"
            )
        segments = path[1:].split("/")
        splat = segments[-1] == "*"
        names: list[str] = []
        for segment in segments[:-1] if splat else segments:
            if "*" in segment:
                raise ConfigurationError(f"path {path!r}: * is allowed only as the last segment")
            if ":" in segment:
                found = _PLACEHOLDER.match(segment)
                if found is None:
                    raise ConfigurationError(
                        f"path {path!r}: a placeholder is a whole segment, :name"
                    )
                name = found.group(1)
                if name == "splat" or name in names:
                    raise ConfigurationError(f"path {path!r}: placeholder :{name} used twice")
                names.append(name)
        if isinstance(force, bool) is False:
            raise ConfigurationError("force: must be True or False")
        role_names = _roles(roles)
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or status not in _STATUSES
        ):
            raise ConfigurationError(
                f"status {status!r}: jwtgate applies 200, 301, 302, 303, 307, 308, 401, 403, 404"
            )
        declared_status = status
        if to is None:
            if status is None:
                status = 200
            elif status in REDIRECT_STATUSES:
                raise ConfigurationError(f"status {status}: a redirect needs a target (to)")
            template: tuple[str | int, ...] | None = None
            if status == 200:
                to_text = _identity_target(segments, splat)
                template = _template(to_text, names, splat, path)
            else:
                to_text = None
        else:
            if not isinstance(to, str) or not to:
                raise ConfigurationError("to: must be a path or an http(s):// URL")
            if status is None:
                status = DEFAULT_STATUS
            absolute = _ABSOLUTE.match(to) is not None
            if not absolute and not to.startswith("/"):
                raise ConfigurationError(f"to {to!r}: must start with / or http(s)://")
            if _FORBIDDEN.search(to):
                raise ConfigurationError(f"to {to!r}: no spaces, control characters or backslashes")
            if absolute and status not in REDIRECT_STATUSES:
                raise ConfigurationError(
                    f"to {to!r}: another host with status {status} is a proxy, "
                    "which jwtgate does not do; only a redirect (3xx) may go to a URL"
                )
            template = _template(to, names, splat, path)
            to_text = to
        self.path = path
        self.to = to_text
        self.status: int = status
        self.force = force
        self.roles = role_names
        self.line = line
        self.splat = splat
        self._names = tuple(names)
        self._template = template
        # The target with its literal text already percent-encoded: built once, not per request.
        self._encoded = (
            None
            if template is None
            else tuple(_encode_literal(p) if isinstance(p, str) else p for p in template)
        )
        # A 200 onto the path itself ("/admin/* /admin/:splat 200!"): the request goes through.
        self._identity = status == 200 and to_text == _identity_target(segments, splat)
        self._loop_prefix = _loop_prefix(splat, status, to_text)
        # What makes two rules the same one, as Netlify's parser compares them.
        self._declared = (path, to_text, declared_status, force, role_names)

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names of the path's ``:name`` segments, in order."""
        return self._names

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self._declared == other._declared

    def __hash__(self) -> int:
        return hash(self._declared)

    def __repr__(self) -> str:
        parts = [repr(self.path)]
        if self.to is not None:
            parts.append(f"to={self.to!r}")
        parts.append(f"status={self.status}")
        if self.force:
            parts.append("force=True")
        if self.roles:
            parts.append(f"roles={list(self.roles)!r}")
        if self.line is not None:
            parts.append(f"line={self.line}")
        return f"Rule({', '.join(parts)})"


def _identity_target(segments: Sequence[str], splat: bool) -> str:
    """The target that sends a request matching these segments to itself."""
    return "/" + "/".join([*segments[:-1], ":splat"] if splat else segments)


def _loop_prefix(splat: bool, status: int, to: str | None) -> str | None:
    """Where a ``/*`` rule's own target lives, for Netlify's loop guard (see ``_loops``).

    The target up to its ``/:splat`` (the whole target without one), as
    written; ``None`` for a rewrite (200), a URL or an empty prefix, which the
    guard never applies to.
    """
    if not splat or status == 200 or to is None or _ABSOLUTE.match(to):
        return None
    cut = to.find("/:splat")
    if cut == -1:
        cut = to.find(":splat")
    prefix = to if cut == -1 else to[:cut]
    return prefix or None


def _roles(roles: Iterable[str]) -> tuple[str, ...]:
    if isinstance(roles, str):
        raise ConfigurationError('roles: a list of role names, e.g. roles=["admin"]')
    found = tuple(roles)
    for role in found:
        if not isinstance(role, str) or not role or _FORBIDDEN.search(role) or "," in role:
            raise ConfigurationError(
                f"roles: {role!r} is not a role name (non-empty, no spaces or commas)"
            )
    return found


def _template(to: str, names: Sequence[str], splat: bool, path: str) -> tuple[str | int, ...]:
    """``to`` as literal text and value slots (placeholder index; the splat is last).

    Netlify replaces each placeholder's ``:name`` as plain text; a name that is
    the start of another one (``:a`` and ``:ab``) would then be cut in two, so
    such pairs are refused rather than reproduced.
    """
    known = [*names, "splat"] if splat else list(names)
    start = 0
    if _ABSOLUTE.match(to):
        # The host is fixed: a placeholder there would let a request pick it.
        authority_end = to.find("/", to.index("//") + 2)
        authority = to if authority_end == -1 else to[:authority_end]
        if any(ref in known for ref in _REFERENCE.findall(authority)):
            raise ConfigurationError(f"to {to!r}: the host of a URL cannot hold a placeholder")
        start = len(authority)
    parts: list[str | int] = []
    literal = to[:start]
    position = start
    for found in _REFERENCE.finditer(to, start):
        name = found.group(1)
        if name not in known:
            raise ConfigurationError(
                f"to {to!r}: :{name} is not a placeholder of {path!r}"
                + ("" if splat else " (only a path ending in /* has :splat)")
            )
        for other in known:
            if other != name and name.startswith(other):
                raise ConfigurationError(
                    f"to {to!r}: Netlify would replace :{other} inside :{name}; rename one"
                )
        literal += to[position : found.start()]
        if literal:
            parts.append(literal)
            literal = ""
        parts.append(known.index(name))
        position = found.end()
    literal += to[position:]
    if literal:
        parts.append(literal)
    return tuple(parts)


class Decision(NamedTuple):
    """What the rules say about one request.

    ``rule`` is the rule that decided, ``None`` when only role rules matched
    and the user satisfied none (Netlify's 404). ``status`` is the rule's (404
    then). ``location`` is where the request goes, percent-encoded (a path of
    the app or, for a redirect, a URL; with the query string it keeps), or
    ``None`` when the request goes through unchanged or gets a bare answer.
    ``negative``: a role rule matched the path first and the user lacked its
    roles, ``required_roles``. ``path`` is the request's own path (decoded).
    """

    rule: Rule | None
    status: int
    location: str | None
    negative: bool
    required_roles: tuple[str, ...]
    path: str

    @property
    def personal(self) -> bool:
        """True when the outcome depends on who the user is: not for a shared cache."""
        return self.rule is None or self.negative or bool(self.rule.roles)

    @property
    def target_path(self) -> str | None:
        """The target's path, decoded (what the app sees as its path), for a path target."""
        if self.location is None or _ABSOLUTE.match(self.location):
            return None
        return unquote(self.location.partition("#")[0].partition("?")[0])

    @property
    def target_query(self) -> str:
        """The target's raw query string, without ``?`` (empty when it has none)."""
        if self.location is None:
            return ""
        return self.location.partition("#")[0].partition("?")[2]


# The value of a placeholder goes into a URL percent-encoded: a decoded "?" or
# "#" in a path segment must not start a query or fragment, nor CR/LF a header.
def _encode(value: str) -> str:
    return value if _PLAIN_VALUE.fullmatch(value) else quote(value, safe="/")


# A rule's own text keeps the escapes it was written with; only what cannot
# appear in a URL as is (non-ASCII) is encoded.
def _encode_literal(text: str) -> str:
    return quote(text, safe="/:?#[]@!$&'()*+,;=%~")


class RuleTable:
    """Rules in order, compiled once; ``decide`` is what a request costs.

    Every path pattern is compiled into a regular expression here, never per
    request, and rules are indexed by their first path segment so that a
    request only tries the rules that can match it. ``exists(path) -> bool``
    (optional) says whether the app serves ``path`` itself: then a matching
    rule without ``force`` gives way and the request goes through unchanged,
    as a file does on Netlify, unless a role rule failed for the path first.
    """

    __slots__ = ("_by_segment", "_exists", "_patterns", "_wildcards", "rules")

    def __init__(
        self, rules: Iterable[Rule], *, exists: Callable[[str], bool] | None = None
    ) -> None:
        if isinstance(rules, Rule | str):
            raise ConfigurationError("rules: a list of jwtgate.rules.Rule")
        given = list(rules)
        for rule in given:
            if not isinstance(rule, Rule):
                raise ConfigurationError(f"rules: {rule!r} is not a jwtgate.rules.Rule")
        if exists is not None and not callable(exists):
            raise ConfigurationError("exists: a function of a path returning True or False")
        # Netlify's parser keeps one of identical rules, the last one.
        last = {rule: index for index, rule in enumerate(given)}
        self.rules: tuple[Rule, ...] = tuple(
            rule for index, rule in enumerate(given) if last[rule] == index
        )
        self._exists = exists
        sources = [_pattern(rule.path) for rule in self.rules]
        self._patterns = [re.compile(source, re.DOTALL).fullmatch for source in sources]
        literal: dict[str, list[int]] = {}
        wildcards: list[int] = []
        for index, rule in enumerate(self.rules):
            first = _first_segment(rule.path)
            if first is None:
                wildcards.append(index)
            else:
                literal.setdefault(first, []).append(index)
        self._wildcards = _candidates(tuple(wildcards), sources)
        self._by_segment: dict[str, _Candidates] = {
            first: _candidates(tuple(sorted({*indexes, *wildcards})), sources)
            for first, indexes in literal.items()
        }

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"RuleTable({list(self.rules)!r})"

    def decide(self, path: str, roles: frozenset[str], query: str = "") -> Decision | None:
        """The decision for a request to ``path`` (decoded) by a user holding ``roles``.

        ``None`` when no rule matches: the request goes through untouched.
        ``query`` is the request's raw query string (without ``?``).
        """
        first = path[1:].partition("/")[0]
        candidates, any_match, starts = self._by_segment.get(first, self._wildcards)
        if any_match is None:
            return None
        matched = any_match(path)
        if matched is None:
            return None
        rules = self.rules
        patterns = self._patterns
        failed: list[str] = []
        for index in candidates[starts[matched.lastindex or 0] :]:
            found = patterns[index](path)
            if found is None:
                continue
            rule = rules[index]
            if rule._loop_prefix is not None and self._loops(index, found.groups(), path):
                break  # Netlify's engine stops here: no rule applies
            if rule.roles and roles.isdisjoint(rule.roles):
                failed.extend(role for role in rule.roles if role not in failed)
                continue
            if not failed and not rule.force and self._exists is not None and self._exists(path):
                return None  # shadowed by the app's own content
            return _decision(rule, found.groups(), path, query, tuple(failed))
        if failed:
            return Decision(None, 404, None, True, tuple(failed), path)
        return None

    def _loops(self, index: int, values: tuple[str | None, ...], path: str) -> bool:
        """Netlify's loop guard: a ``/*`` rule does not send a request to where it already is.

        Netlify's engine stops at a ``/*`` rule (other than a 200 rewrite) whose
        path matches when the request's path starts with the rule's target up
        to its ``/:splat`` and the target it would send the request to matches
        the rule's own path: no later rule applies (a 404 if a role rule failed
        before). ``/* /login 302`` leaves ``/login`` alone instead of
        redirecting it to itself. jwtgate reproduces the guard as the engine
        applies it, whatever the rule's roles, and checks it against the engine
        in the test suite.
        """
        rule = self.rules[index]
        prefix = rule._loop_prefix
        if prefix is None or not path.startswith(prefix) or rule._template is None:
            return False
        target = "".join(
            part if isinstance(part, str) else (values[part] or "") for part in rule._template
        )
        return self._patterns[index](target) is not None


def rule_table(rules: Iterable[Rule] | RuleTable) -> RuleTable:
    """``rules`` as a ``RuleTable`` (the adapters' ``rules=`` takes either)."""
    return rules if isinstance(rules, RuleTable) else RuleTable(rules)


def _first_segment(path: str) -> str | None:
    """The rule's literal first segment, ``None`` when it matches any (``/*``, ``/:x``)."""
    first = path[1:].partition("/")[0]
    if first.startswith(":") or (first == "*" and path.count("/") == 1):
        return None
    return first


# The rules a request's first segment may match, in order; one expression matching
# when any of them does; and, per group of that expression, where in the rules to
# start. Most requests match no rule and pay one C call; the others skip straight to
# the first rule that matches (an alternation tries its branches in order, and each
# branch is a group that closes last, so the match's lastindex names the branch).
_Candidates = tuple[tuple[int, ...], Callable[[str], re.Match[str] | None] | None, dict[int, int]]


def _candidates(indexes: tuple[int, ...], sources: Sequence[str]) -> _Candidates:
    if not indexes:
        return indexes, None, {}
    starts: dict[int, int] = {}
    branches = []
    group = 1
    for position, index in enumerate(indexes):
        starts[group] = position
        branches.append(f"({sources[index]})")
        group += 1 + re.compile(sources[index]).groups
    return indexes, re.compile("|".join(branches), re.DOTALL).fullmatch, starts


def _pattern(path: str) -> str:
    """The path's regular expression: literal text, ``[^/]+`` per placeholder, ``(.*)`` splat.

    As in Netlify's engine, in a path with placeholders any separator after
    the first may be doubled (``/orgs//acme/admin`` matches
    ``/orgs/:org/admin``); a path of literal segments matches only as written.
    It is used with ``fullmatch`` and DOTALL: a decoded path may hold a
    newline (``%0A``), which must neither end the match early nor stop a splat.
    """
    segments = path[1:].split("/")
    splat = segments[-1] == "*"
    if splat:
        segments = segments[:-1]
    elif len(segments) > 1 and segments[-1] == "":
        segments = segments[:-1]  # "/trail/": the trailing slash is optional anyway
    separator = "//?" if any(s.startswith(":") for s in segments) else "/"
    pattern = "".join(
        ("/" if index == 0 else separator)
        + ("([^/]+)" if segment.startswith(":") else re.escape(segment))
        for index, segment in enumerate(segments)
    )
    if splat:
        pattern += "(?:/(.*))?"
    elif pattern != "/":
        pattern += "/?"
    return pattern


def _decision(
    rule: Rule, values: tuple[str | None, ...], path: str, query: str, failed: tuple[str, ...]
) -> Decision:
    encoded = rule._encoded
    if encoded is None or rule._identity:  # a bare answer, or through unchanged
        return Decision(rule, rule.status, None, bool(failed), failed, path)
    location = "".join(
        part if isinstance(part, str) else _encode(values[part] or "") for part in encoded
    )
    if location.startswith("//"):
        # "/:splat" with a splat starting with "/" would name another host.
        location = "/" + location.lstrip("/")
    base, hash_mark, fragment = location.partition("#")
    if query and not _has_query(base):
        # The target has no query of its own: the request's is kept.
        base = base.partition("?")[0] + "?" + query
        location = base + hash_mark + fragment
    if rule.status == 200 and _same_request(location, path, query):
        return Decision(rule, 200, None, bool(failed), failed, path)  # onto itself: unchanged
    return Decision(rule, rule.status, location, bool(failed), failed, path)


def _same_request(location: str, path: str, query: str) -> bool:
    """True when a rewrite to ``location`` leaves the request as it is.

    Trailing slashes don't count, as they don't in matching: ``/admin/*`` onto
    ``/admin/:splat`` sends ``/admin`` on as ``/admin``, not ``/admin/``, which
    an app may not route.
    """
    target, _, target_query = location.partition("#")[0].partition("?")
    own = _encode(path)
    return target_query == query and (target.rstrip("/") or "/") == (own.rstrip("/") or "/")


def _has_query(url: str) -> bool:
    """True when the URL carries at least one query parameter (``/x?`` carries none)."""
    return any(url.partition("?")[2].split("&"))


def is_navigation(method: str, header: Callable[[str], str | None]) -> bool:
    """True for a browser loading a page (not fetch/XHR, not an API client).

    ``header(name)`` returns a request header's value (lowercase name) or
    ``None``. A GET or HEAD whose ``Sec-Fetch-Mode`` is ``navigate``; without
    that header, one with no ``X-Requested-With`` that prefers HTML to JSON.
    """
    if method not in ("GET", "HEAD"):
        return False
    mode = header("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    if header("x-requested-with"):
        return False
    accept = parse_accept_header(header("accept"))
    html = max((q for value, q in accept if value == "text/html"), default=0)
    return html > 0 and html >= accept["application/json"]


# --- the answers the rules give themselves ------------------------------------------------

#: A response as the adapters send it: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]

_NOT_FOUND_JSON: Final = b'{"error":"not_found","error_description":"Not Found"}'
_NOT_FOUND_HTML: Final = b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>\n"


def answer(
    decision: Decision,
    *,
    authenticated: bool,
    error: AuthError | None,
    navigation: bool,
    prefix: str = "",
) -> Answer:
    """The response for a decision the app does not see: a redirect, a refusal, a 404.

    ``prefix`` is where the app is mounted (``SCRIPT_NAME``, ``root_path``),
    put in front of a redirect to a path of the app. A 401 carries the refused
    token's own error when one was sent (an expired token says so), else the
    plain challenge, or ``insufficient_scope`` for a signed-in user lacking
    the roles; a 403 is ``insufficient_scope`` naming the roles.
    """
    status = decision.status
    personal = decision.personal
    if status in REDIRECT_STATUSES:
        location = decision.location or "/"
        if not _ABSOLUTE.match(location):
            location = quote(prefix, safe="/") + location
        headers = [("Location", location), ("Content-Length", "0")]
        if personal:
            headers.append(("Cache-Control", "no-store"))
        return status, headers, b""
    refusal: AuthError | None = None
    if status == 401:
        if authenticated:
            refusal = RoleRequired(roles=decision.required_roles)
        else:
            refusal = error if error is not None else MissingToken()
    elif status == 403:
        refusal = Forbidden(roles=decision.required_roles)
    if refusal is not None:
        body = refusal.body()
        length = ("Content-Length", str(len(body)))
        return refusal.status, [*refusal.response_headers(), length], body
    body = _NOT_FOUND_HTML if navigation else _NOT_FOUND_JSON
    kind = "text/html; charset=utf-8" if navigation else "application/json"
    headers = [("Content-Type", kind), ("Content-Length", str(len(body)))]
    if personal:
        headers.append(("Cache-Control", "no-store"))
    return 404, headers, body
