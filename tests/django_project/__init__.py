"""A minimal Django project guarded by ``jwtgate.django``: served by gunicorn and uvicorn in
``tests/integration/test_django_server.py`` and driven in-process by ``tests/test_django.py``."""
