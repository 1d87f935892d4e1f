"""jwtgate behind Starlette and FastAPI: the same routes as examples/flask_app, plus a websocket."""
