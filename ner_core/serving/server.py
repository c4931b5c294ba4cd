"""Running the API: :func:`run` for ``python -m ner_core serve`` (blocks until SIGTERM or Ctrl+C), and
:class:`BackgroundServer` for a test, a benchmark or a page that needs a real server in-process.

Shutdown is uvicorn's graceful one: on SIGTERM/SIGINT it stops accepting connections, lets
requests in flight finish, then runs the app's lifespan shutdown, which commits every pending
prediction-log row (:meth:`ner_core.serving.gateway.Gateway.close`) before the process exits.

Using the API from Python (the Registry page and the A/B page's live mode do this)::

    from ner_core.serving.config import ServeConfig
    from ner_core.serving.server import BackgroundServer

    with BackgroundServer(ServeConfig(port=0, open_access=True)) as server:   # port 0: a free port
        httpx.post(f"{server.url}/api/v1/predict", json={"text": "Anna visited Oslo."})
        server.gateway.refresh()        # pick up a registry change now instead of at the next poll
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time

from ner_core.errors import ServerStartError
from ner_core.serving.config import CONFIG_ENV, ServeConfig
from ner_core.store.database import Store

START_TIMEOUT_S = 180.0


def _check_port(host: str, port: int) -> None:
    """Fail with one line before loading any model when the address cannot be bound."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerStartError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or stop what uses it."
            ) from None


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("ner_core").setLevel(logging.INFO)


def run(config: ServeConfig) -> int:
    """Serve until SIGTERM or Ctrl+C; exit status 0 after a graceful shutdown."""
    import uvicorn

    _check_port(config.host, config.port)
    _configure_logging()
    # uvicorn handles SIGTERM itself and re-raises it once shut down; this handler turns that last
    # signal into a normal exit, so a service manager sees status 0 after a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    options = dict(host=config.host, port=config.port, log_level="info", access_log=False, timeout_graceful_shutdown=30)
    if config.workers > 1:
        os.environ[CONFIG_ENV] = config.to_json()
        uvicorn.run("ner_core.serving.api.app:app_from_env", factory=True, workers=config.workers, **options)
    else:
        from ner_core.serving.api.app import create_app

        uvicorn.run(create_app(config), **options)
    return 0


class BackgroundServer:
    """A real uvicorn server on a thread of this process (no signal handling; :meth:`stop` shuts it down)."""

    def __init__(self, config: ServeConfig, *, store: Store | None = None, poll: bool = True):
        import uvicorn

        from ner_core.serving.api.app import create_app

        _check_port(config.host, config.port)
        self.config = config
        self.app = create_app(config, store=store, poll=poll)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host=config.host, port=config.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="ner-api-server", daemon=True)
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def gateway(self):
        return self.app.state.gateway

    def start(self, timeout_s: float = START_TIMEOUT_S) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServerStartError("the API server stopped during start-up; its log says why.")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"the API server did not start within {timeout_s:g} s.")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout_s: float = 60.0) -> None:
        """Graceful shutdown: in-flight requests finish and pending log rows are committed."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
