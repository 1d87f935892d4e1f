"""jwtgate.rules: rules, their decisions, and the answers the rules give themselves.

Netlify's own engine is compared on a large corpus in
tests/integration/test_netlify_engine.py; these tests pin each behaviour by
name, including where jwtgate differs from the engine on purpose (marked
"deliberate").
"""

from __future__ import annotations

import json

import pytest

from jwtgate import ConfigurationError, ExpiredToken, Forbidden, MissingToken
from jwtgate.rules import Decision, RoleRequired, Rule, RuleTable, answer, is_navigation

NOBODY: frozenset[str] = frozenset()
ADMIN = frozenset({"admin"})


def decide(rules, path, roles=NOBODY, query="", **options):
    return RuleTable(rules, **options).decide(path, frozenset(roles), query)


# --- building a rule -----------------------------------------------------------------


def test_a_rule_reads_like_a_redirects_line():
    rule = Rule("/admin/*", "/admin/:splat", 200, force=True, roles=["admin"], line=3)
    assert (rule.path, rule.to, rule.status, rule.force, rule.roles, rule.line) == (
        "/admin/*",
        "/admin/:splat",
        200,
        True,
        ("admin",),
        3,
    )
    assert rule.splat
    assert repr(rule) == (
        "Rule('/admin/*', to='/admin/:splat', status=200, force=True, roles=['admin'], line=3)"
    )


def test_status_defaults_to_301_with_a_target_as_on_netlify():
    assert Rule("/old", "/new").status == 301


def test_without_a_target_the_rule_lets_the_request_through():
    rule = Rule("/members/*", roles=["member"])
    assert (rule.status, rule.to) == (200, "/members/:splat")
    assert Rule("/dashboard", roles=["admin"]).to == "/dashboard"


def test_an_answer_may_go_without_a_page():
    rule = Rule("/private/*", status=403)
    assert (rule.status, rule.to) == (403, None)


def test_placeholders_are_named_in_order():
    assert Rule("/blog/:year/:slug", "/posts/:slug").placeholders == ("year", "slug")


def test_rules_are_equal_whatever_their_line():
    assert Rule("/a", "/b", line=1) == Rule("/a", "/b", line=9)
    assert hash(Rule("/a", "/b", line=1)) == hash(Rule("/a", "/b", line=9))
    assert Rule("/a", "/b") != Rule("/a", "/b", 301)  # Netlify compares what was written
    assert Rule("/a", "/b") != "/a /b"


@pytest.mark.parametrize(
    ("arguments", "options", "message"),
    [
        (("admin/*",), {}, "must be a string starting with /"),
        ((b"/admin",), {}, "must be a string starting with /"),
        (("/a b",), {}, "no spaces"),
        (("/a\\b",), {}, "backslashes"),
        (("/a?x=1",), {}, "no spaces"),
        (("/a#b",), {}, "no spaces"),
        (("/a/*/b", "/x"), {}, "only as the last segment"),
        (("/star*", "/x"), {}, "only as the last segment"),
        (("/blog-:year", "/x"), {}, "a whole segment"),
        (("/:a/:a", "/x"), {}, "used twice"),
        (("/:splat/x", "/x"), {}, "used twice"),
        (("/a", "/b", 418), {}, "jwtgate applies 200"),
        (("/a", "/b", True), {}, "jwtgate applies 200"),
        (("/a", "/b", "301"), {}, "jwtgate applies 200"),
        (("/a", None, 302), {}, "a redirect needs a target"),
        (("/a", "b"), {}, "must start with / or http"),
        (("/a", ""), {}, "must be a path or"),
        (("/a", "/b c"), {}, "no spaces"),
        (("/a/*", "https://api.example.com/:splat", 200), {}, "is a proxy"),
        (("/a", "https://example.com/denied", 401), {}, "is a proxy"),
        (("/a/:id", "/b/:idx"), {}, ":idx is not a placeholder"),
        (("/a/:id", "/b/:splat"), {}, "has :splat"),
        (("/x/:a/:ab", "/y/:ab"), {}, "would replace :a inside :ab"),
        (("/go/:host", "https://:host.example.com/"), {}, "the host of a URL"),
        (("/a", "/b"), {"roles": "admin"}, "a list of role names"),
        (("/a", "/b"), {"roles": ["a dmin"]}, "is not a role name"),
        (("/a", "/b"), {"roles": ["admin,editor"]}, "is not a role name"),
        (("/a", "/b"), {"roles": [""]}, "is not a role name"),
        (("/a", "/b"), {"force": 1}, "force: must be True or False"),
    ],
)
def test_a_rule_that_cannot_be_applied_is_refused_at_construction(arguments, options, message):
    with pytest.raises(ConfigurationError, match=message):
        Rule(*arguments, **options)


def test_a_port_in_a_redirect_url_is_not_a_placeholder():
    rule = Rule("/u/:user", "https://example.com:8443/people/:user", 302)
    assert decide([rule], "/u/ada").location == "https://example.com:8443/people/ada"


# --- deciding ------------------------------------------------------------------------

SEEDS = [
    Rule("/admin/*", "/admin/:splat", 200, force=True, roles=["admin"]),
    Rule("/admin/*", "/login", 302),
    Rule("/members/*", "/members/:splat", 200, force=True, roles=["member", "admin"]),
    Rule("/members/*", "/join", 401, force=True),
]


def test_the_first_rule_whose_path_and_roles_match_decides():
    decision = decide(SEEDS, "/admin/users", ADMIN)
    assert decision.rule is SEEDS[0]
    assert (decision.status, decision.location, decision.negative) == (200, None, False)


def test_a_rule_whose_roles_the_user_lacks_is_skipped():
    decision = decide(SEEDS, "/admin/users")
    assert decision.rule is SEEDS[1]
    assert (decision.status, decision.location) == (302, "/login")
    assert decision.negative
    assert decision.required_roles == ("admin",)


def test_any_one_of_the_rules_roles_will_do():
    assert decide(SEEDS, "/members/x", {"member"}).rule is SEEDS[2]
    assert decide(SEEDS, "/members/x", {"admin", "other"}).rule is SEEDS[2]
    assert decide(SEEDS, "/members/x", {"guest"}).rule is SEEDS[3]


def test_only_role_rules_matched_and_none_satisfied_is_netlifys_404():
    rules = [Rule("/secret/*", roles=["admin"]), Rule("/secret/*", roles=["ops", "admin"])]
    decision = decide(rules, "/secret/plans")
    assert decision == Decision(None, 404, None, True, ("admin", "ops"), "/secret/plans")


def test_a_path_no_rule_matches_is_left_alone():
    assert decide(SEEDS, "/public") is None
    assert decide(SEEDS, "/administration") is None


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/admin/*", "/admin", True),
        ("/admin/*", "/admin/", True),
        ("/admin/*", "/admin/a/b/c/", True),
        ("/admin/*", "/adminx", False),
        ("/about", "/about/", True),
        ("/about/", "/about", True),
        ("/about", "/About", False),  # case-sensitive, as Netlify's engine
        ("/a.b", "/axb", False),  # regular-expression characters are plain text
        ("/c++/*", "/c++/x", True),
        ("/(x)", "/(x)", True),
        ("/p/:id", "/p/1/2", False),  # a placeholder is one segment
        ("/p/:id", "/p/", False),  # and never empty
        ("/p/:id", "/p//1", True),  # after a placeholder path's first segment, "//" counts as "/"
        ("/p/:id/q", "/p/1//q", True),
        ("/p/:id/q", "/p/1///q", False),
        ("/p/q", "/p//q", False),  # ... only in a path with placeholders
        ("/:lang/docs", "//en/docs", False),
        ("/", "/", True),
        ("/", "/x", False),
        ("/*", "/", True),
        ("/*", "/anything/at/all", True),
    ],
)
def test_path_matching(pattern, path, matches):
    rule = Rule(pattern, "/target", 302)
    assert (decide([rule], path) is not None) is matches


def test_splats_and_placeholders_go_into_the_target():
    rules = [
        Rule("/news/:year/*", "/blog/:year/:splat", 301),
        Rule("/p/:a/:b", "/q/:b/:a?first=:a", 302),
    ]
    assert decide(rules, "/news/2024/05/hello").location == "/blog/2024/05/hello"
    assert decide(rules, "/news/2024").location == "/blog/2024/"
    assert decide(rules, "/p/1/2").location == "/q/2/1?first=1"


def test_the_query_string_is_kept_unless_the_target_has_its_own():
    rules = [Rule("/search", "/find", 302), Rule("/v2", "/find?engine=v2", 302)]
    assert decide(rules, "/search", query="q=a%20b&x=").location == "/find?q=a%20b&x="
    assert decide(rules, "/v2", query="q=1").location == "/find?engine=v2"
    assert decide([Rule("/e", "/find?", 302)], "/e", query="q=1").location == "/find?q=1"
    fragment = decide([Rule("/f", "/page#top", 302)], "/f", query="q=1")
    assert fragment.location == "/page?q=1#top"


def test_values_are_percent_encoded_in_the_target_and_decoded_for_the_app():
    decision = decide([Rule("/e/*", "/x/:splat", 200)], "/e/é ü?#\r\n", query="q=1")
    assert decision.location == "/x/%C3%A9%20%C3%BC%3F%23%0D%0A?q=1"
    assert decision.target_path == "/x/é ü?#\r\n"
    assert decision.target_query == "q=1"


def test_a_rules_own_escapes_are_kept():
    decision = decide([Rule("/a", "/caf%C3%A9/menü", 302)], "/a")
    assert decision.location == "/caf%C3%A9/men%C3%BC"


def test_deliberate_a_value_is_never_substituted_twice():
    # Netlify's engine replaces :a, then :splat in the result: /x/zz/zz.
    rule = Rule("/pp/:a/*", "/x/:a/:splat", 302)
    assert decide([rule], "/pp/:splat/zz").location == "/x/%3Asplat/zz"


def test_deliberate_a_splat_cannot_turn_a_path_into_another_host():
    # "/:splat" with "//evil.example" would be a scheme-relative URL to another host.
    decision = decide([Rule("/go/*", "/:splat", 302)], "/go//evil.example/x")
    assert decision.location == "/evil.example/x"


def test_a_newline_in_the_path_neither_ends_a_match_nor_stops_a_splat():
    assert decide(SEEDS, "/admin/\nusers").rule is SEEDS[1]
    assert decide([Rule("/admin", "/login", 302)], "/admin\n") is None


def test_a_rewrite_onto_itself_leaves_the_request_unchanged():
    decision = decide(SEEDS, "/admin", ADMIN)  # /admin/:splat would be /admin/
    assert (decision.status, decision.location, decision.target_path) == (200, None, None)
    rewrite = decide([Rule("/x/*", "/y/:splat", 200)], "/x/a", query="q=1")
    assert (rewrite.target_path, rewrite.target_query) == ("/y/a", "q=1")


def test_identical_rules_count_once_at_their_last_place():
    rules = [Rule("/admin/*", "/login", 302), Rule("/admin/*", roles=["admin"])]
    table = RuleTable([*rules, Rule("/admin/*", "/login", 302)])
    assert table.rules == (rules[1], rules[0])
    assert table.decide("/admin/x", ADMIN, "").rule == rules[1]
    assert len(table) == 2


def test_netlifys_loop_guard_leaves_the_target_of_a_splat_rule_alone():
    rules = [Rule("/*", roles=["authorized"]), Rule("/*", "/login", 302)]
    assert decide(rules, "/page").location == "/login"
    assert decide(rules, "/login") == Decision(None, 404, None, True, ("authorized",), "/login")
    assert decide(rules[1:], "/login/help") is None
    assert decide(rules[1:], "/logi").location == "/login"


def test_the_loop_guard_stops_the_search_even_for_a_role_rule_the_user_lacks():
    rules = [Rule("/a/*", "/a", 301, roles=["admin"]), Rule("/*", "/fallback", 302)]
    assert decide(rules, "/a/x") is None
    assert decide(rules, "/q").location == "/fallback"


def test_the_loop_guard_needs_the_target_to_match_the_rule_again():
    rule = Rule("/a/:x/*", "/a/:splat", 301)
    assert decide([rule], "/a/b").location == "/a/"  # "/a/" is not under /a/:x/*
    assert decide([rule], "/a/b/c") is None  # "/a/c" is


def test_the_loop_guard_spares_rewrites_and_urls():
    assert decide([Rule("/*", "/login", 200)], "/login").status == 200
    external = Rule("/u/*", "https://site.test/u/x", 302)
    assert decide([external], "/u/x").location == "https://site.test/u/x"


def test_exists_lets_the_apps_own_content_shadow_an_unforced_rule():
    seen = []

    def exists(path):
        seen.append(path)
        return path == "/app/static"

    rules = [Rule("/app/*", "/app/index.html", 200), Rule("/forced/*", "/f", 200, force=True)]
    assert decide(rules, "/app/static", exists=exists) is None
    assert decide(rules, "/app/route", exists=exists).target_path == "/app/index.html"
    assert decide(rules, "/forced/static", exists=lambda path: True).target_path == "/f"
    assert decide(rules, "/elsewhere", exists=exists) is None
    assert seen == ["/app/static", "/app/route"]  # asked only when an unforced rule matched


def test_exists_never_shadows_a_rule_reached_after_a_role_rule_failed():
    rules = [Rule("/admin/*", roles=["admin"], force=True), Rule("/admin/*", "/login", 302)]
    assert decide(rules, "/admin/x", exists=lambda path: True).location == "/login"


def test_personal_decisions_depend_on_who_asks():
    assert decide(SEEDS, "/admin/x", ADMIN).personal
    assert decide(SEEDS, "/admin/x").personal
    assert not decide([Rule("/old", "/new")], "/old").personal


@pytest.mark.parametrize(
    ("rules", "exists", "message"),
    [
        (Rule("/a", "/b"), None, "a list of jwtgate.rules.Rule"),
        ("/a /b", None, "a list of jwtgate.rules.Rule"),
        (["/a /b"], None, "is not a jwtgate.rules.Rule"),
        ([], "yes", "exists: a function"),
    ],
)
def test_a_table_of_anything_but_rules_is_refused(rules, exists, message):
    with pytest.raises(ConfigurationError, match=message):
        RuleTable(rules, exists=exists)


def test_a_table_tries_only_the_rules_that_can_match():
    rules = [Rule(f"/section{n}/*", f"/to{n}/:splat", 301) for n in range(100)]
    table = RuleTable([*rules, Rule("/:lang/about", "/about?lang=:lang", 302)])
    assert table._by_segment["section7"][0] == (7, 100)
    assert table.decide("/section7/x", NOBODY, "").location == "/to7/x"
    assert table.decide("/fr/about", NOBODY, "").location == "/about?lang=fr"
    assert table.decide("/nowhere/x", NOBODY, "") is None
    assert (
        repr(RuleTable(rules[:1]))
        == "RuleTable([Rule('/section0/*', to='/to0/:splat', status=301)])"
    )


# --- answering -----------------------------------------------------------------------


def test_a_redirect_answer_is_mounted_where_the_app_is():
    decision = decide(SEEDS, "/admin/x")
    status, headers, body = answer(
        decision, authenticated=False, error=None, navigation=True, prefix="/app ü"
    )
    assert status == 302
    assert dict(headers) == {
        "Location": "/app%20%C3%BC/login",
        "Content-Length": "0",
        "Cache-Control": "no-store",
    }
    assert body == b""


def test_a_redirect_to_a_url_is_left_as_written():
    decision = decide([Rule("/go", "https://example.com/x", 308)], "/go")
    status, headers, _ = answer(
        decision, authenticated=False, error=None, navigation=False, prefix="/app"
    )
    assert (status, dict(headers)["Location"]) == (308, "https://example.com/x")
    assert "Cache-Control" not in dict(headers)  # the same for everyone


def test_401_without_a_token_is_the_plain_challenge():
    status, headers, body = answer(
        decide(SEEDS, "/members/x"), authenticated=False, error=None, navigation=False
    )
    assert (status, dict(headers)["WWW-Authenticate"]) == (401, "Bearer")
    assert json.loads(body)["error"] == "missing_token"
    assert json.loads(body) == json.loads(MissingToken().body())


def test_401_with_a_refused_token_names_the_tokens_error():
    status, headers, body = answer(
        decide(SEEDS, "/members/x"), authenticated=False, error=ExpiredToken(), navigation=False
    )
    assert status == 401
    assert 'error="invalid_token"' in dict(headers)["WWW-Authenticate"]
    assert json.loads(body)["error_description"] == "The token has expired"


def test_401_for_a_signed_in_user_lacking_roles_names_the_roles():
    status, headers, body = answer(
        decide(SEEDS, "/members/x", {"guest"}), authenticated=True, error=None, navigation=False
    )
    assert status == 401
    challenge = dict(headers)["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="member admin"' in challenge
    assert json.loads(body)["error"] == "insufficient_scope"
    assert RoleRequired.code == 401


def test_403_is_insufficient_scope_naming_the_roles():
    rules = [Rule("/ops/*", roles=["ops"]), Rule("/ops/*", "/denied", 403)]
    status, headers, body = answer(
        decide(rules, "/ops/x"), authenticated=False, error=None, navigation=False
    )
    assert status == 403
    assert 'scope="ops"' in dict(headers)["WWW-Authenticate"]
    assert json.loads(body) == json.loads(Forbidden().body())


@pytest.mark.parametrize(("navigation", "kind"), [(True, "text/html"), (False, "application/json")])
def test_404_is_a_page_for_a_browser_and_json_for_an_api(navigation, kind):
    decision = decide([Rule("/s/*", roles=["admin"])], "/s/x")
    status, headers, body = answer(decision, authenticated=False, error=None, navigation=navigation)
    assert status == 404
    assert dict(headers)["Content-Type"].startswith(kind)
    assert dict(headers)["Cache-Control"] == "no-store"
    assert int(dict(headers)["Content-Length"]) == len(body)


def test_a_404_rule_for_everyone_may_be_cached():
    decision = decide([Rule("/gone/*", "/404.html", 404)], "/gone/x")
    _, headers, _ = answer(decision, authenticated=False, error=None, navigation=False)
    assert "Cache-Control" not in dict(headers)


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {"sec-fetch-mode": "navigate"}, True),
        ("GET", {"sec-fetch-mode": "cors", "accept": "text/html"}, False),
        ("POST", {"sec-fetch-mode": "navigate"}, False),
        ("HEAD", {"accept": "text/html"}, True),
        ("GET", {"accept": "text/html", "x-requested-with": "XMLHttpRequest"}, False),
        ("GET", {"accept": "application/json"}, False),
        ("GET", {"accept": "application/json, text/html;q=0.5"}, False),
        ("GET", {}, False),
    ],
)
def test_is_navigation(method, headers, expected):
    assert is_navigation(method, headers.get) is expected
