"""A minimal Django project guarded by ``jwtgate.django``: served by gunicorn and uvicorn in
``tests/integration/test_django_server.py``, driven in-process by ``tests/test_django.py`` and
the attack suite (``tests/security``)."""

from __future__ import annotations

import importlib
import os
from unittest import mock

#: The site secret the in-process tests sign with (servers get their own).
TEST_SECRET = "the-test-project-site-secret-of-40-bytes!"


def configure() -> None:
    """Configure Django in this process from the project's settings, once."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    with mock.patch.dict(os.environ, {"SITE_JWT_SECRET": TEST_SECRET}):
        project = importlib.import_module("tests.django_project.settings")
    settings.configure(**{k: v for k, v in vars(project).items() if k.isupper()})
    django.setup()
