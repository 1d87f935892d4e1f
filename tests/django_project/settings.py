"""Settings of the test project: Django's own session, CSRF and auth middleware, plus jwtgate's.

``SITE_JWT_SECRET`` (the Netlify-style HS256 secret the tokens are signed
with) comes from the environment, as a deployed site's would.
``GATE_BEFORE_CSRF=1`` lists jwtgate's middleware before Django's CSRF
middleware instead of last, so both orders are served.
"""

from __future__ import annotations

import os

SECRET_KEY = "test-project-only-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "tests.django_project.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

_DJANGO = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
_GATE = "jwtgate.django.GateMiddleware"
MIDDLEWARE = [_GATE, *_DJANGO] if os.environ.get("GATE_BEFORE_CSRF") else [*_DJANGO, _GATE]

JWTGATE_NETLIFY_JWT_SECRET = os.environ["SITE_JWT_SECRET"]
