"""Run the code of one documentation page, the way a reader would.

Used by ``tests/test_docs.py`` in a subprocess per page (a page may define an
``app`` module, set environment variables or start servers; none of that may
leak into another page or into the test process).

What a page may contain:

- ```` ```python ```` blocks: run in page order, all in one namespace, as if
  the reader pasted them into one script.
- A fenced block with a ``title="name"`` (any language, e.g.
  ```` ```python title="app.py" ```` or ```` ```text title="_redirects" ````):
  written to that file in the page's working directory before anything runs,
  and not run itself; the page's code imports or reads it.
- ``<!-- docs:setup`` … ``-->`` and ``<!-- docs:check`` … ``-->`` comments:
  Python the reader never sees (MkDocs renders no HTML comment), run at their
  place in the page: setup before the blocks that need it (a key server, a
  token), checks after them (the example really answers what the prose says).

Other blocks (shell sessions, output shown as text) are not run here.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
_TITLE = re.compile(r"""title=(?:"([^"]+)"|'([^']+)'|(\S+))""")
_HIDDEN = re.compile(r"^<!--\s*docs:(setup|check)\s*$")


@dataclass
class Chunk:
    """One piece of a page: code to run, or a file to write."""

    kind: str  # "run" or "file"
    line: int  # 1-based line of the first code line
    code: str
    title: str | None = None


def chunks(text: str) -> list[Chunk]:
    """The runnable pieces of a Markdown page, in order."""
    lines = text.splitlines()
    found: list[Chunk] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        hidden = _HIDDEN.match(line.strip())
        if hidden:
            start = i + 1
            end = start
            while end < len(lines) and lines[end].strip() != "-->":
                end += 1
            if end == len(lines):
                raise ValueError(f"line {i + 1}: <!-- docs:{hidden.group(1)} is never closed")
            found.append(Chunk("run", start + 1, "\n".join(lines[start:end])))
            i = end + 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group("fence")
            indent = len(fence.group("indent"))
            info = fence.group("info").strip()
            start = i + 1
            end = start
            while end < len(lines) and not lines[end].strip().startswith(marker):
                end += 1
            body = "\n".join(
                row[indent:] if row[:indent].isspace() else row for row in lines[start:end]
            )
            language = info.split()[0].lower() if info else ""
            title = _TITLE.search(info)
            if title:
                name = next(group for group in title.groups() if group)
                found.append(Chunk("file", start + 1, body + "\n", name))
            elif language in ("python", "py"):
                found.append(Chunk("run", start + 1, body))
            i = end + 1
            continue
        i += 1
    return found


def run(page: Path, workdir: Path) -> None:
    """Run ``page``'s code in ``workdir``, raising whatever the code raises."""
    text = page.read_text(encoding="utf-8")
    pieces = chunks(text)
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    for piece in pieces:
        if piece.kind == "file":
            target = workdir / piece.title  # type: ignore[operator]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(piece.code, encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for piece in pieces:
        if piece.kind != "run":
            continue
        # Blank lines in front make tracebacks name the page's own line numbers.
        source = "\n" * (piece.line - 1) + piece.code
        exec(compile(source, str(page), "exec"), namespace)  # noqa: S102


if __name__ == "__main__":
    run(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
