"""The REST API over HTTP (FastAPI): ``app.create_app`` builds it; ``routes`` holds the endpoints,
``schemas`` their bodies, ``errors`` the JSON error answers, ``middleware`` the body limit."""
