"""Extra claim requirements an ``Issuer`` can carry: exact values and predicates.

A provider's verifier often checks more than ``iss``, ``aud`` and the dates:
Keycloak's ``typ`` claim is ``"Bearer"`` for access tokens, Cognito's
``token_use`` names the token's kind, Firebase wants a non-empty ``sub``.
``Issuer(expected_claims={...})`` states such rules; a token that breaks one
is a 401 ``invalid_token`` naming the claim, never its value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigurationError, InvalidClaims
from .logs import logger

__all__ = ["VARIABLE", "ClaimRule", "ClaimRules", "check_claim_rules", "claim_rules"]

#: Marks (in its ``__dict__``) a refusal that application code decided, a predicate
#: or a ``claims_hook``: it may depend on anything, so the gate never remembers it.
VARIABLE = "jwtgate.variable"

#: An exact value (a string, number or boolean), or ``predicate(value) -> bool``
#: called with the claim's value, or ``None`` when the token lacks the claim.
ClaimRule = str | int | float | bool | Callable[[Any], bool]
#: Rules as the issuer keeps them: (claim, exact value or predicate) pairs.
ClaimRules = tuple[tuple[str, ClaimRule], ...]


def claim_rules(expected: Mapping[str, ClaimRule] | None) -> ClaimRules:
    """Validate ``expected_claims`` once, at configuration time."""
    if expected is None:
        return ()
    if not isinstance(expected, Mapping):
        raise ConfigurationError(
            "expected_claims: must map claim names to a value or a predicate, "
            'e.g. {"typ": "Bearer"}'
        )
    rules: list[tuple[str, ClaimRule]] = []
    for name, rule in expected.items():
        if not isinstance(name, str) or not name:
            raise ConfigurationError("expected_claims: claim names must be non-empty strings")
        if not callable(rule) and not isinstance(rule, str | int | float):
            raise ConfigurationError(
                f"expected_claims: {name!r} must be a string, number or boolean to match "
                "exactly, or a predicate taking the claim's value"
            )
        rules.append((name, rule))
    return tuple(rules)


def _matches(rule: ClaimRule, present: bool, value: Any) -> bool:
    if callable(rule):
        return rule(value if present else None) is True
    # The same JSON type and value: True never matches 1, nor "1" matches 1.
    return present and type(value) is type(rule) and value == rule


def check_claim_rules(rules: ClaimRules, claims: Mapping[str, Any]) -> None:
    """Raise ``InvalidClaims`` naming the first claim that breaks its rule."""
    for name, rule in rules:
        try:
            ok = _matches(rule, name in claims, claims.get(name))
        except Exception as exc:
            # A predicate that trips over a hostile value refuses the token; the
            # value itself never reaches the log.
            logger.debug("jwtgate: the rule for the %s claim raised %s", name, type(exc).__name__)
            ok = False
        if not ok:
            refusal = InvalidClaims(f"The token's {name} claim is not accepted")
            if callable(rule):
                refusal.__dict__[VARIABLE] = True
            raise refusal
