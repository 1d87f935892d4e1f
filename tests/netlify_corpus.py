"""The corpus jwtgate's path rules are compared on with Netlify's own engine.

Files: the ``_redirects`` and ``netlify.toml`` files in
``tests/netlify_engine/corpus`` (examples of Netlify's documentation, of its
blog and forum, the seeds of this project's users, and files written to pin
one behaviour each), the examples' own ``_redirects``, a grid of one-rule
files for Netlify's loop guard, plus rule tables generated from a small
grammar with a fixed seed. Requests: paths made from each file's rules (every rule matched
with and without its trailing slash, with an empty, a short and a deep splat,
a near miss, another case), query strings, and cookies: none, one per role
set, an expired one, a forged one and one that is not a JWT.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tools import node_with

ENGINE_DIR = Path(__file__).resolve().parent / "netlify_engine"
CORPUS_DIR = ENGINE_DIR / "corpus"
#: The examples' own rules are part of the corpus.
EXAMPLE_RULES = sorted((ENGINE_DIR.parents[1] / "examples").glob("*/_redirects"))
SECRET = "corpus-secret-for-local-comparisons-only"
ROLE_CLAIM = "app_metadata.authorization.roles"
QUERIES = ("", "a=1", "a=1&b=two%20words", "next=%2Fhome&x=", "q=%C3%A9t%C3%A9")


@dataclass
class CorpusFile:
    """One ``_redirects`` or ``netlify.toml`` and the requests to run on it."""

    name: str
    redirects: str | None = None
    toml: str | None = None
    cases: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "redirects": self.redirects,
            "toml": self.toml,
            "cases": self.cases,
        }


def engine_node() -> str:
    """``node``, with Netlify's engine and jsonwebtoken installed in tests/netlify_engine."""
    return node_with(
        ENGINE_DIR, "Netlify's engine is the npm netlify-redirector, GoTrue's signer jsonwebtoken"
    )


def run_engine(files: list[CorpusFile]) -> dict[str, Any]:
    """Every file and request through Netlify's parser and engine, in one Node process."""
    payload = {
        "secret": SECRET,
        "role_claim": ROLE_CLAIM,
        "files": [f.payload() for f in files],
    }
    done = subprocess.run(
        [engine_node(), str(ENGINE_DIR / "engine.mjs")],
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Netlify engine failed:\n{done.stderr.decode()[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- requests ------------------------------------------------------------------------

_VALUES = {"id": "42", "slug": "hello-world", "year": "2024", "lang": "fr", "month": "05"}


def _fill(pattern: str, splat: str, rng: random.Random) -> str:
    parts = []
    for segment in pattern[1:].split("/"):
        if segment == "*":
            if splat:
                parts.append(splat)
            continue
        if segment.startswith(":"):
            parts.append(_VALUES.get(segment[1:], f"v{rng.randint(1, 9)}"))
        else:
            parts.append(segment)
    return "/" + "/".join(parts)


def request_paths(patterns: list[str], rng: random.Random) -> list[str]:
    """Paths that match each pattern in the ways that matter, and paths that nearly do."""
    paths: set[str] = {"/", "/nothing-matches-this", "/index.html"}
    for pattern in patterns:
        if not pattern.startswith("/"):
            continue
        splats = (
            ["", "x", "deep/er/path", "with/trailing/", "sp ace/é"]
            if pattern.endswith("/*")
            else [""]
        )
        for splat in splats:
            path = _fill(pattern, splat, rng)
            paths.add(path)
            paths.add(path.rstrip("/") + "/" if path != "/" else path)
            if len(path) > 1 and path.endswith("/"):
                paths.add(path.rstrip("/"))
        base = _fill(pattern, "", rng)
        if base != "/":
            paths.add(base.upper())  # matching is case-sensitive
            first, _, rest = base[1:].partition("/")
            paths.add(f"/{first}x/{rest}".rstrip("/"))  # a near miss on the first segment
            paths.add(base + "/extra/segments")
    return sorted(paths)


def token_specs(roles: list[str]) -> list[dict[str, Any] | None]:
    """No cookie, one per role, none, all, expired, forged, not a JWT."""
    specs: list[dict[str, Any] | None] = [None]
    for role in roles:
        specs.append({"roles": [role], "expires_in": 3600, "forged": False})
    specs.append({"roles": [], "expires_in": 3600, "forged": False})
    everything = sorted(set(roles)) or ["admin"]
    specs.append({"roles": everything, "expires_in": 3600, "forged": False})
    specs.append({"roles": everything, "expires_in": -3600, "forged": False})
    specs.append({"roles": everything, "expires_in": 3600, "forged": True})
    specs.append({"raw": "not-a-jwt"})
    return specs


def add_cases(corpus_file: CorpusFile, patterns: list[str], roles: list[str], seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    tokens = token_specs(roles)
    for index, path in enumerate(request_paths(patterns, rng)):
        for number, token in enumerate(tokens):
            query = QUERIES[(index + number) % len(QUERIES)]
            corpus_file.cases.append({"path": path, "query": query, "token": token})


# --- the files -----------------------------------------------------------------------


def _patterns_and_roles(text: str, toml: bool) -> tuple[list[str], list[str]]:
    """The ``from`` paths and role names of a file, read roughly (only to make requests)."""
    patterns: list[str] = []
    roles: set[str] = set()
    if toml:
        import tomllib

        for table in tomllib.loads(text).get("redirects", []):
            origin = table.get("from", table.get("origin"))
            if isinstance(origin, str):
                patterns.append(origin)
            role = {k.lower(): v for k, v in table.get("conditions", {}).items()}.get("role")
            if isinstance(role, str):
                roles.update(role.split(","))
            elif isinstance(role, list):
                roles.update(role)
        return patterns, sorted(roles)
    for line in text.splitlines():
        fields = line.split("#")[0].split()
        if not fields:
            continue
        patterns.append(fields[0])
        for item in fields:
            if item.startswith(("Role=", "role=")):
                roles.update(item.split("=", 1)[1].split(","))
    return patterns, sorted(roles)


def handwritten() -> list[CorpusFile]:
    files = []
    for number, path in enumerate([*sorted(CORPUS_DIR.iterdir()), *EXAMPLE_RULES]):
        toml = path.name.endswith(".toml")
        text = path.read_text(encoding="utf-8")
        name = path.name if path.parent == CORPUS_DIR else f"example-{path.parent.name}._redirects"
        corpus_file = CorpusFile(name, toml=text) if toml else CorpusFile(name, text)
        patterns, roles = _patterns_and_roles(text, toml)
        add_cases(corpus_file, patterns, roles, seed=number)
        files.append(corpus_file)
    return files


_LITERALS = ["admin", "members", "docs", "api", "v1", "blog", "a.b", "shop", "café", "x-y"]
_ROLES = ["admin", "editor", "member"]
_STATUSES = [None, 200, 200, 301, 302, 303, 307, 308, 401, 403, 404]


def _generated_rule(rng: random.Random) -> tuple[str, str, list[str]]:
    """One _redirects line jwtgate supports, its from path and its roles."""
    names = rng.sample(sorted(_VALUES), k=3)
    segments: list[str] = []
    used: list[str] = []
    for _ in range(rng.randint(1, 3)):
        if segments and rng.random() < 0.3:
            name = names[len(used)]
            used.append(name)
            segments.append(":" + name)
        else:
            segments.append(rng.choice(_LITERALS))
    splat = rng.random() < 0.5
    origin = "/" + "/".join(segments) + ("/*" if splat else ("/" if rng.random() < 0.15 else ""))
    status = rng.choice(_STATUSES)
    force = rng.random() < 0.5
    roles = rng.sample(_ROLES, k=rng.randint(1, 2)) if rng.random() < 0.45 else []
    refs = [f":{name}" for name in used] + ([":splat"] if splat else [])
    rng.shuffle(refs)
    if splat and status == 200 and rng.random() < 0.3:
        to = None
    else:
        if rng.random() < 0.35:
            # A target inside the rule's own tree: where Netlify's loop guard acts.
            target = "/" + segments[0].lstrip(":") + rng.choice(["", "/v2", "/login", "x"])
        else:
            target = "/" + rng.choice(["dest", "pages", "login", "join", "v2", "home"])
        for ref in refs[: rng.randint(0, len(refs))]:
            target += "/" + ref
        if rng.random() < 0.2 and used:
            target += f"?{used[0]}=:{used[0]}"
        if status in (None, 301, 302, 303, 307, 308) and rng.random() < 0.2:
            target = "https://example.com" + target
        to = target
    fields = [origin]
    if to is not None:
        fields.append(to)
    if status is not None or to is None or roles:
        # (conditions must follow a status: Netlify reads the field after "to" as one)
        fields.append(f"{status or (200 if to is None else 301)}{'!' if force else ''}")
    if roles:
        fields.append("Role=" + ",".join(roles))
    return "  ".join(fields), origin, roles


def _as_toml(lines: list[str]) -> str:
    """The same rules as netlify.toml tables."""
    out = []
    for line in lines:
        fields = line.split()
        origin, rest = fields[0], fields[1:]
        table = [f'from = "{origin}"']
        if rest and rest[0].startswith(("/", "http")):
            table.append(f'to = "{rest.pop(0)}"')
        if rest and rest[0][0].isdigit():
            status = rest.pop(0)
            table.append(f"status = {status.rstrip('!')}")
            table.append(f"force = {'true' if status.endswith('!') else 'false'}")
        if rest:
            roles = rest[0].split("=", 1)[1].split(",")
            table.append("conditions = {Role = [" + ", ".join(f'"{r}"' for r in roles) + "]}")
        out.append("[[redirects]]\n" + "\n".join(table) + "\n")
    return "\n".join(out)


def generated(count: int, seed: int = 20240) -> list[CorpusFile]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    files = []
    for number in range(count):
        lines, patterns, roles = [], [], set()
        for _ in range(rng.randint(2, 9)):
            line, origin, line_roles = _generated_rule(rng)
            lines.append(line)
            patterns.append(origin)
            roles.update(line_roles)
        if rng.random() < 0.2:
            corpus_file = CorpusFile(f"generated-{number:03d}.netlify.toml", toml=_as_toml(lines))
        else:
            corpus_file = CorpusFile(f"generated-{number:03d}._redirects", "\n".join(lines) + "\n")
        add_cases(corpus_file, patterns, sorted(roles), seed=seed + number)
        files.append(corpus_file)
    return files


_GRID_FROMS = ["/a/*", "/*", "/a/:x/*", "/a", "/a/:x", "/a/b/*"]
_GRID_TOS = [
    "/a",
    "/a/",
    "/a/b",
    "/a/b/",
    "/a/:splat",
    "/a/b/:splat",
    "/:splat",
    "/a/:splat/z",
    "/ab",
    "/q",
    "/a/b?x=1",
    "/a/:x",
    "/a/:x/b",
]
_GRID_PATHS = [
    "/a", "/a/", "/a/b", "/a/b/", "/a/bc", "/a/b/c", "/ab", "/q", "/q/r",
    "/a/x", "/a/x/b", "/a/x/y", "/a/b/b", "/a/b/b/c", "/a//z", "/a/z",
]  # fmt: skip


def loop_grid() -> list[CorpusFile]:
    """One rule per file, every target shape against every path shape: the loop guard's grid."""
    files = []
    statuses = ["301", "302!", "401", "404!", "200", "200!", "403"]
    number = 0
    for origin in _GRID_FROMS:
        for to in _GRID_TOS:
            if (":splat" in to and not origin.endswith("*")) or (":x" in to and ":x" not in origin):
                continue
            status = statuses[number % len(statuses)]
            role = " Role=admin" if number % 3 == 0 else ""
            text = f"{origin}  {to}  {status}{role}\n/*  /fallback  302\n"
            corpus_file = CorpusFile(f"grid-{number:03d}._redirects", text)
            tokens = [None, {"roles": ["admin"], "expires_in": 3600, "forged": False}]
            for index, path in enumerate(_GRID_PATHS):
                for token in tokens:
                    query = QUERIES[index % len(QUERIES)]
                    corpus_file.cases.append({"path": path, "query": query, "token": token})
            files.append(corpus_file)
            number += 1
    return files


def corpus(generated_files: int = 60) -> list[CorpusFile]:
    return handwritten() + loop_grid() + generated(generated_files)


def cases(files: list[CorpusFile]) -> Iterator[tuple[CorpusFile, dict[str, Any]]]:
    for corpus_file in files:
        for case in corpus_file.cases:
            yield corpus_file, case
