"""The FastAPI application: :func:`create_app` builds it from a :class:`ServeConfig` and a store.

Start-up (FastAPI's lifespan) loads the served models and starts the registry poll and the log
writer; shutdown (uvicorn runs it on SIGTERM and SIGINT) finishes queued model calls and commits
every pending log row. :func:`app_from_env` is the factory uvicorn imports in each worker process
of ``serve --workers N``.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ner_core.serving.api import errors, routes
from ner_core.serving.api.middleware import BodyLimitAndArrivals
from ner_core.serving.config import CONFIG_ENV, ServeConfig
from ner_core.serving.dynamic_batching import ArrivingRequests
from ner_core.serving.gateway import Gateway
from ner_core.serving.rate_limit import RateLimiter
from ner_core.store.database import Store

logger = logging.getLogger("ner_core.serving")
# Failed key checks allowed per client address (token bucket): enough for a typo, not for guessing.
AUTH_FAILURES_PER_S = 2.0
AUTH_FAILURE_BURST = 10
DESCRIPTION = (
    "Named-entity recognition with the models the workbench trained: the registry's primary, speed and backup "
    "versions behind a weighted router, circuit breakers and dynamic batching. Send `Authorization: Bearer <key>` "
    "(keys from `python -m ner_core api-key create NAME`). Every number in a response is measured or read from the "
    'run\'s stored metrics. Errors are `{"error": {"code", "message"}}`.'
)


def create_app(
    settings: ServeConfig | None = None, *, store: Store | None = None, clock=time.monotonic, poll: bool = True
) -> FastAPI:
    """The API app. ``store`` defaults to ``NER_DATABASE_URL``; ``clock`` drives breakers and rate limits
    (tests pass their own); ``poll`` False leaves registry checks to explicit ``app.state.gateway.refresh()``."""
    settings = settings or ServeConfig()
    if store is None:
        from ner_core.settings import Settings

        store = Store(Settings.from_env().database_url)

    arriving = ArrivingRequests()  # shared by the middleware (counts arrivals) and the batchers (wait for them)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        gateway = Gateway(settings, store, clock=clock, arriving=arriving)
        app.state.gateway = gateway
        gateway.start(poll=poll)
        announce(settings, gateway)
        try:
            yield
        finally:
            gateway.close()
            logger.info("stopped; %d prediction-log rows written", gateway.log.rows_written)

    app = FastAPI(title="NER Workbench API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst, clock=clock)
    app.state.auth_failures = RateLimiter(AUTH_FAILURES_PER_S, AUTH_FAILURE_BURST, clock=clock, what="client address")
    errors.install(app)
    app.include_router(routes.router)
    app.state.in_flight = ArrivingRequests()
    app.add_middleware(
        BodyLimitAndArrivals, max_body_bytes=settings.max_body_bytes, arriving=arriving, in_flight=app.state.in_flight
    )
    return app


def announce(settings: ServeConfig, gateway: Gateway) -> None:
    """Say at start-up what is served and how: models, open access, batching, faults."""
    snapshot = gateway.snapshot
    served = ", ".join(
        f"{role} = {arm.info.label}" + ("" if arm.loaded else f" (FAILED: {arm.load_error})")
        for role, arm in snapshot.arms.items()
    )
    logger.warning("serving %s", served or "no model (train one and register it)")
    if snapshot.plan.note:
        logger.warning("%s", snapshot.plan.note)
    if settings.open_access:
        logger.warning("OPEN ACCESS: requests need no API key; use this on a trusted machine only.")
    elif len(gateway.keys) == 0:
        logger.warning("no API key exists yet: every request gets 401; create one with `python -m ner_core api-key create NAME`.")
    if gateway.faults:
        logger.warning("FAULT INJECTION on: %s", ", ".join(f"{role} {vars(fault)}" for role, fault in gateway.faults.items()))
    logger.warning(
        "dynamic batching %s", f"on (wait <= {settings.batch_wait_ms:g} ms for arriving requests)" if settings.batching else "off"
    )


def app_from_env() -> FastAPI:
    """The app of one worker process, configured by the ``NER_SERVE_CONFIG`` JSON that ``serve`` sets."""
    return create_app(ServeConfig.from_json(os.environ.get(CONFIG_ENV, "{}")))
