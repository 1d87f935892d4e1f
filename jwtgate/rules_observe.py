"""Path rules' decisions as an observer hears them: ``rule_decided(rule=..., decision=...)``.

Both labels come from bounded sets fixed when the rules are loaded, never
from the request: ``rule`` is where the rule was written, ``"line 12"`` of
its ``_redirects`` file or ``netlify.toml``, or, for a rule made in code,
its position in the table from 1, ``"rule 3"``; ``"none"`` when role rules
matched and the user held none of their roles (Netlify's 404, which no
single rule decided). ``decision`` is what happened: ``allow`` (through
unchanged), ``rewrite``, ``redirect``, ``unauthorized`` (401),
``forbidden`` (403) or ``not_found`` (404). A request's path (which may hold
ids) and its user never appear.

The rules appliers (``jwtgate.rules_wsgi``, ``rules_asgi``, ``rules_django``)
report only decisions, so a request that no rule matches costs nothing more,
and without an observer nothing is reported at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .rules import REDIRECT_STATUSES, Decision, Rule, RuleTable

if TYPE_CHECKING:
    from .observe import Reporter

__all__ = ["DECISIONS", "DecisionReport", "decision_kind", "decision_report", "rule_label"]

_KINDS: Final = {
    **dict.fromkeys(REDIRECT_STATUSES, "redirect"),
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
}
#: Every value ``decision`` takes.
DECISIONS: Final = frozenset({"allow", "rewrite", *_KINDS.values()})


def decision_kind(decision: Decision) -> str:
    """What ``decision`` does with the request, as the ``decision`` label says it."""
    if decision.status == 200:
        return "allow" if decision.location is None else "rewrite"
    return _KINDS[decision.status]


def rule_label(rule: Rule, position: int) -> str:
    """``"line N"`` for a rule read from a file, else ``"rule N"``, its ``position`` from 1."""
    return f"line {rule.line}" if rule.line is not None else f"rule {position}"


class DecisionReport:
    """Tells an observer each decision of one ``RuleTable``; labels worked out once."""

    __slots__ = ("_decided", "_labels")

    def __init__(self, reporter: Reporter, table: RuleTable) -> None:
        self._decided = reporter.observer.rule_decided
        # By identity: a decision carries the very Rule the table holds.
        self._labels = {
            id(rule): rule_label(rule, position) for position, rule in enumerate(table.rules, 1)
        }

    def __call__(self, decision: Decision) -> None:
        rule = decision.rule
        label = "none" if rule is None else self._labels.get(id(rule), "other")
        status = decision.status
        # decision_kind, inlined: this runs for every request a rule decides.
        if status == 200:
            kind = "allow" if decision.location is None else "rewrite"
        else:
            kind = _KINDS[status]
        self._decided(rule=label, decision=kind)


def decision_report(reporter: Reporter | None, table: RuleTable) -> DecisionReport | None:
    """A ``DecisionReport`` for ``table`` when the gate has an observer, else ``None``."""
    return None if reporter is None else DecisionReport(reporter, table)
