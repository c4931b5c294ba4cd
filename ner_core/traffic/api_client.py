"""Talking to a running NER Workbench API from the workbench: where it is (:class:`ApiTarget`), what
it serves (:meth:`ApiClient.health`) and its fault injection (:meth:`ApiClient.set_fault`).

Every way a request can go wrong becomes one line a user can act on: nothing listening (how to
start the API), a refused key (how to get one), a server that is not ours, the fault endpoint
switched off (how to switch it on). The A/B page's live mode (:mod:`ner_core.traffic.live_traffic`)
sends its traffic with httpx too and reads answers through :func:`answer_json`.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass, field

import httpx

from ner_core.errors import ApiKeyRefusedError, ApiUnreachableError, ConfigError, FaultControlError, LiveTrafficError

DEFAULT_API_URL = "http://127.0.0.1:8000"
START_HINT = "start it with `make serve` or `.venv/bin/python -m ner_core serve` (--open-access serves without keys, locally)"
KEY_HINT = "create one with `.venv/bin/python -m ner_core api-key create NAME`, or start the server with --open-access"
FAULT_HINT = "restart the server with `.venv/bin/python -m ner_core serve --fault-api` (for tests and demos only)"
HEALTH_PATH = "/api/v1/health"
SYSTEM_PREFIX = "ner-workbench-api"
MAX_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ApiTarget:
    """A running API: its base URL, the key to send (empty: the server runs in open access) and how
    long to wait for an answer. The key never appears in ``repr`` or in any message."""

    url: str = DEFAULT_API_URL
    api_key: str = field(default="", repr=False)
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        url = (self.url or "").strip()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(f"API address {url!r} is not an http(s) address like {DEFAULT_API_URL}.")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
        except ValueError:
            raise ConfigError(f"API address {url!r} has a port that is not a number from 1 to 65535.") from None
        object.__setattr__(self, "url", url.rstrip("/"))
        key = (self.api_key or "").strip()
        if any(ord(c) < 33 or ord(c) > 126 for c in key):
            raise ConfigError("the API key has spaces or characters a key never has; paste it as printed by api-key create.")
        object.__setattr__(self, "api_key", key)
        if not isinstance(self.timeout_s, (int, float)) or not math.isfinite(self.timeout_s):
            raise ConfigError(f"the API timeout must be a number of seconds, got {self.timeout_s!r}.")
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise ConfigError(f"the API timeout must be more than 0 and at most {MAX_TIMEOUT_S:g} s, got {self.timeout_s!r}.")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def unreachable(target: ApiTarget, exc: Exception) -> ApiUnreachableError:
    """The error for a request that got no HTTP answer at all."""
    if isinstance(exc, httpx.TimeoutException):
        why = f"no answer within {target.timeout_s:g} s"
    elif isinstance(exc, httpx.ConnectError):
        why = "nothing accepts connections there"
    else:
        why = f"{exc.__class__.__name__}: {exc}"
    return ApiUnreachableError(f"cannot reach the API at {target.url} ({why}); {START_HINT}.")


def server_message(response: httpx.Response) -> str:
    """The API's own error message (``{"error": {"message"}}``), else the HTTP reason."""
    try:
        error = response.json().get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else f"HTTP {response.status_code} {response.reason_phrase}".strip()


def answer_json(response: httpx.Response, target: ApiTarget, what: str) -> dict:
    """The JSON body of a successful answer; a refused key, or anything that is not our API's JSON, raises."""
    if response.status_code in (401, 403):
        raise ApiKeyRefusedError(
            f"the API at {target.url} refused {'the key' if target.api_key else 'a request without a key'} "
            f"({server_message(response)}); {KEY_HINT}."
        )
    if response.status_code >= 400:
        raise LiveTrafficError(f"{what} at {target.url} failed: {server_message(response)}")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise LiveTrafficError(f"{target.url} answered {what} with something that is not the NER Workbench API's JSON.")
    return payload


class ApiClient:
    """A short-lived synchronous client of one API (the page opens one per action)."""

    def __init__(self, target: ApiTarget, *, transport: httpx.BaseTransport | None = None):
        self.target = target
        self._client = httpx.Client(base_url=target.url, headers=target.headers, timeout=target.timeout_s, transport=transport)

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:  # refused, reset, timed out, not HTTP at all
            raise unreachable(self.target, exc) from None

    def health(self) -> dict:
        """``GET /api/v1/health``, checked to come from our API (it carries the key check too)."""
        response = self._send("GET", HEALTH_PATH)
        if response.status_code == 404:
            raise LiveTrafficError(
                f"{self.target.url} has no {HEALTH_PATH}; it is not the NER Workbench API (check the address)."
            )
        payload = answer_json(response, self.target, "the health check")
        if not str(payload.get("system_version", "")).startswith(SYSTEM_PREFIX) or not isinstance(payload.get("models"), dict):
            raise LiveTrafficError(f"{self.target.url} answered the health check, but not as the NER Workbench API does.")
        return payload

    def set_fault(self, role: str, *, error_probability: float = 0.0, added_latency_ms: float = 0.0) -> dict:
        """Change one role's injected faults on the running server (both 0: off); needs ``serve --fault-api``."""
        body = {"error_probability": float(error_probability), "added_latency_ms": float(added_latency_ms)}
        response = self._send("PUT", f"/api/v1/faults/{urllib.parse.quote(role, safe='')}", json=body)
        if response.status_code == 404:
            raise FaultControlError(f"the API at {self.target.url} does not allow fault injection at run time; {FAULT_HINT}.")
        if response.status_code == 422:
            raise FaultControlError(f"the API refused the fault for {role}: {server_message(response)}")
        return answer_json(response, self.target, "the fault change")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def served_roles(health: dict) -> dict[str, dict]:
    """Role -> its entry of a health answer (model, label, version, status, breaker, fault, weight)."""
    return {role: entry for role, entry in (health.get("models") or {}).items() if isinstance(entry, dict)}


def planned_weights(health: dict) -> dict[str, float]:
    """The split the server routes ``auto`` requests by: loaded roles with a positive weight, as shares."""
    weights = {
        role: float(entry.get("weight") or 0.0)
        for role, entry in served_roles(health).items()
        if entry.get("status") == "loaded" and float(entry.get("weight") or 0.0) > 0
    }
    total = sum(weights.values())
    return {role: weight / total for role, weight in weights.items()} if total else {}
