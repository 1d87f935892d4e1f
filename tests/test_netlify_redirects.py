"""jwtgate.netlify's _redirects and netlify.toml readers.

What Netlify's own parser makes of the same files is compared in
tests/integration/test_netlify_engine.py; these tests pin the reading and
every refusal message without Node.
"""

from __future__ import annotations

import logging

import pytest

from jwtgate import ConfigurationError
from jwtgate.netlify import RulesError, redirect_rules, toml_rules
from jwtgate.rules import Rule


def test_the_seed_rules_read_as_written():
    text = (
        "# Gate the admin and members trees\n"
        "/admin/*    /admin/:splat   200!  Role=admin\n"
        "/admin/*    /login          302\n"
        "\n"
        "/members/*  /members/:splat 200!  Role=member,admin   # members and admins\n"
        "/members/*  /join           401!\n"
    )
    assert redirect_rules(text) == [
        Rule("/admin/*", "/admin/:splat", 200, force=True, roles=["admin"]),
        Rule("/admin/*", "/login", 302),
        Rule("/members/*", "/members/:splat", 200, force=True, roles=["member", "admin"]),
        Rule("/members/*", "/join", 401, force=True),
    ]
    assert [rule.line for rule in redirect_rules(text)] == [2, 3, 5, 6]


def test_a_forward_rule_targets_its_own_path():
    (rule,) = redirect_rules("/admin/*  200!  Role=admin")
    assert (rule.to, rule.status, rule.force, rule.roles) == (
        "/admin/:splat",
        200,
        True,
        ("admin",),
    )


def test_tabs_carriage_returns_and_lowercase_role_are_read():
    (rule,) = redirect_rules("/a/*\t/b/:splat\t302\trole=x,y\r\n")
    assert (rule.to, rule.status, rule.roles) == ("/b/:splat", 302, ("x", "y"))


def test_no_status_is_301():
    (rule,) = redirect_rules("/old  /new")
    assert rule.status == 301


def test_a_redirect_to_another_site_is_a_redirect():
    (rule,) = redirect_rules("/cuties  https://www.petsofnetlify.com")
    assert (rule.to, rule.status) == ("https://www.petsofnetlify.com", 301)


def test_an_empty_file_has_no_rules():
    assert redirect_rules("") == []
    assert redirect_rules("# only comments\n\n   \n") == []


@pytest.mark.parametrize(
    ("line", "message", "unsupported"),
    [
        ("/lonely", "missing destination path/URL", False),
        ("/a  b  301", 'must start with "/", "http:" or "https:"', False),
        ("/a  /b  Role=admin", "'Role=admin' is not a status code", False),
        ("/a  /b  30x", "'30x' is not a status code", False),
        ("/x  200", "missing destination", False),
        ("/.netlify/functions/f  /g  302", "must not start with /.netlify", False),
        ("/a  /b  302  Role=x  Role=y", "Role= given twice", False),
        ("/a  /b  302  Role=", "an empty role name", False),
        ("/a  /b  302  Role=a,,b", "an empty role name", False),
        ("/a  /b  302  Role=plan:pro", "containing ':'", False),
        ("/a/*  200!  Role=admin, editor", "'editor' is not a condition", False),
        ("/api/*  https://api.example.com/:splat  200", "proxy to another host", True),
        ("/  /anz  302  Country=au,nz", "Country= condition", True),
        ("/  /fr  302  language=fr", "Language= condition", True),
        ("/store  id=:id  /blog/:id  301", "query-string conditions", True),
        ("https://a.example/*  https://b.example/:splat  301", "another domain", True),
        ("/api/*  https://x.example/:splat  200!  Sign=TOKEN", "signed proxy", True),
        ("/api/*  https://x.example/:splat  200!  signed=TOKEN", "signed proxy", True),
        ("/x  /y  302  Cookie=ab", "unknown condition Cookie=", True),
        ("/x  /y  302  ROLE=admin", "unknown condition ROLE=", True),
        ("/gone  /410.html  410", "jwtgate applies 200, 301", True),
        ("/star*  /stars  301", "only as the last segment", True),
    ],
)
def test_a_line_jwtgate_cannot_apply_is_refused_with_its_number_and_why(line, message, unsupported):
    with pytest.raises(RulesError, match=message) as raised:
        redirect_rules(f"/first  /one  301\n{line}\n")
    error = raised.value
    assert isinstance(error, ConfigurationError)
    assert error.line == 2
    assert str(error).startswith("_redirects line 2: ")
    assert line.strip() in str(error)
    assert error.unsupported is unsupported
    assert ("skip_unsupported=True" in str(error)) is unsupported


def test_skip_unsupported_skips_lines_that_do_not_gate_and_logs_them(caplog):
    text = "/api/*  https://api.example.com/:splat  200\n/admin/*  200!  Role=admin\n"
    with caplog.at_level(logging.INFO, logger="jwtgate"):
        rules = redirect_rules(text, skip_unsupported=True)
    assert rules == [Rule("/admin/*", status=200, roles=["admin"], force=True)]
    assert "skipped _redirects line 1: proxy to another host" in caplog.text


def test_skip_unsupported_never_drops_a_gate():
    with pytest.raises(RulesError, match="line 1: Country= condition"):
        redirect_rules("/admin/*  200!  Role=admin  Country=fr", skip_unsupported=True)


def test_text_is_required():
    with pytest.raises(ConfigurationError, match="redirect_rules: give the file's text"):
        redirect_rules(b"/a /b")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="toml_rules: give the file's text"):
        toml_rules(None)  # type: ignore[arg-type]


# --- netlify.toml --------------------------------------------------------------------

TOML = """\
[build]
publish = "public"

[[redirects]]
from = "/admin/*"
status = 200
force = true
conditions = {Role = ["admin"]}

[[redirects]]
  origin = "/admin/*"
  destination = "/"
  status = 302
  force = true
  headers = {}

[[redirects]]
from = "/staff/*"
to = "/staff/:splat"
status = 200
conditions = {role = "staff, admin"}
"""


def test_toml_redirects_read_as_netlify_reads_them():
    assert toml_rules(TOML) == [
        Rule("/admin/*", status=200, force=True, roles=["admin"]),
        Rule("/admin/*", "/", 302, force=True),
        Rule("/staff/*", "/staff/:splat", 200, roles=["staff", "admin"]),
    ]
    assert [rule.line for rule in toml_rules(TOML)] == [4, 10, 17]


def test_a_toml_file_without_redirects_has_no_rules():
    assert toml_rules('[build]\npublish = "public"\n') == []


@pytest.mark.parametrize(
    ("table", "message", "unsupported"),
    [
        ('to = "/x"', 'missing "from"', False),
        ('from = "/a"', 'missing "to"', False),
        ('from = "/a/*"\nstatus = 301', 'missing "to"', False),
        ('from = "/a"\nto = 5', '"to" must be a path', False),
        ('from = "/a"\nto = "/b"\nstatus = "301"', "is not a status code", False),
        ('from = "/a"\nto = "/b"\nstatus = true', "is not a status code", False),
        ('from = "/a"\nto = "/b"\nforce = "yes"', "force must be true or false", False),
        ('from = "/a"\nto = "/b"\nconditions = "Role=admin"', "conditions must be a table", False),
        ('from = "/a"\nto = "/b"\nconditions = {Role = [1]}', "Role must be a list", False),
        ('from = "/a"\nto = "/b"\nconditions = {Role = ["a"], role = ["b"]}', "given twice", False),
        ('from = "/a"\nto = "/b"\nheaders = "X"', '"headers" must be a table', False),
        ('from = "/a/*"\nto = "https://x.example/:splat"\nstatus = 200', "proxy", True),
        ('from = "/a"\nto = "/b"\nheaders = {X-From = "Netlify"}', "custom headers", True),
        ('from = "/a"\nto = "/b"\nquery = {id = ":id"}', "query-string conditions", True),
        ('from = "/a"\nto = "/b"\nsigned = "TOKEN"', "signed proxy", True),
        ('from = "/a"\nto = "/b"\nconditions = {Country = ["fr"]}', "Country condition", True),
        ('from = "/a"\nto = "/b"\nconditions = {Cookie = ["x"]}', "unknown condition", True),
        ('from = "/a"\nto = "/b"\nrate_limit = {window_limit = 5}', "unknown key", True),
    ],
)
def test_a_toml_redirect_jwtgate_cannot_apply_is_refused(table, message, unsupported):
    text = f'[[redirects]]\nfrom = "/x"\nto = "/y"\n\n[[redirects]]\n{table}\n'
    with pytest.raises(RulesError, match=message) as raised:
        toml_rules(text)
    assert str(raised.value).startswith("netlify.toml [[redirects]] #2 (line 5): ")
    assert raised.value.line == 5
    assert raised.value.unsupported is unsupported


def test_a_toml_gate_is_never_skipped():
    text = '[[redirects]]\nfrom = "/a"\nto = "/b"\nconditions = {Role = ["x"], Country = ["fr"]}\n'
    with pytest.raises(RulesError, match="Country condition"):
        toml_rules(text, skip_unsupported=True)
    skippable = text.replace('Role = ["x"], ', "")
    assert toml_rules(skippable, skip_unsupported=True) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[redirects]\nfrom = 1", "not valid TOML"),
        ('redirects = "/a /b"', "redirects must be an array of tables"),
        ("redirects = [1]", "must be a table"),
    ],
)
def test_a_broken_toml_file_is_refused(text, message):
    with pytest.raises(RulesError, match=message):
        toml_rules(text)


def test_an_inline_redirects_array_has_no_line_numbers():
    with pytest.raises(RulesError, match=r"^netlify.toml \[\[redirects\]\] #1: missing"):
        toml_rules('redirects = [{to = "/x"}]')
