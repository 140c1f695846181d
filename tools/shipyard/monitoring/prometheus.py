"""A small client of Prometheus' HTTP API: one instant query, one number.

Canary analysis asks a handful of instant queries, so this is the standard
library's urllib against ``/api/v1/query`` (Prometheus
web/api/v1/api.go ``query``), not a client package. What can go wrong is
said plainly, under SY519, because each case has a different fix:

- Prometheus cannot be reached (wrong URL, no network, a timeout);
- it answered, but not as Prometheus' API does (a login page, a proxy);
- it refused the query (``errorType`` bad_data: not PromQL, or execution
  failed), with Prometheus' own message;
- the query selects several series where one number is needed.

An empty result is not an error here: ``query_number`` returns None and the
caller decides what no data means (no requests yet, or a query that
selects nothing).
"""

from __future__ import annotations

import json
import math
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from shipyard import ids
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.repo import Repository

QUERY_PATH = "/api/v1/query"
URL_VARIABLE = "SHIPYARD_PROMETHEUS_URL"
DEFAULT_TIMEOUT = 10.0
CHECK: Final = "SY519"


class PrometheusError(ShipyardError):
    """Prometheus could not answer a query (SY519)."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (or a scalar: no labels)."""

    labels: dict[str, str]
    value: float  # NaN as Prometheus writes it ("NaN"), +Inf/-Inf likewise


def prometheus_url(repo: Repository, given: str | None, environment: str | None = None) -> str:
    """Where the Prometheus of ``environment`` is: --prometheus-url, else
    $SHIPYARD_PROMETHEUS_URL, else shipyard.yaml prometheus.environments.<env>,
    else prometheus.url. The first two name one server for the whole run, as
    a person or a workflow that knows better says; the file keeps one per
    environment, because each environment's cluster usually runs its own."""
    for value, origin in ((given, "--prometheus-url"), (os.environ.get(URL_VARIABLE), URL_VARIABLE)):
        if value:
            if not value.startswith(("http://", "https://")):
                raise ShipyardError(f"{origin} must be an http:// or https:// URL, not {value!r}", check=ids.USAGE)
            return value
    settings = repo.settings
    configured = settings.prometheus_url_for(environment)
    known = repo.environments()
    for named, line in settings.prometheus_environments().items():
        if named not in known:
            raise ShipyardError(f"prometheus.environments names {named!r}, which is no environment",
                                file=settings.file, line=line,
                                hint=f"the environments are {', '.join(known) or 'none (no overlays/<env>/)'}",
                                check=ids.USAGE)
    if configured:
        return configured
    if settings.prometheus_environments():
        raise ShipyardError(f"shipyard.yaml names no Prometheus for {environment}",
                            file=settings.file, line=settings.line("prometheus"),
                            hint=f"add {environment}: URL under prometheus.environments, or a prometheus.url for "
                                 "every other environment", check=ids.USAGE)
    raise ShipyardError("canary analysis needs Prometheus, and none is named",
                        hint=f"pass --prometheus-url URL, set {URL_VARIABLE}, or write prometheus: {{url: ...}} "
                             "in shipyard.yaml", check=ids.USAGE)


def _error(message: str, hint: str) -> PrometheusError:
    return PrometheusError(message, hint=hint, check=CHECK)


def query(url: str, expr: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[Sample]:
    """The instant vector (or scalar) ``expr`` evaluates to now."""
    endpoint = url.rstrip("/") + QUERY_PATH
    body = urllib.parse.urlencode({"query": expr, "timeout": f"{max(1, int(timeout))}s"}).encode()
    request = urllib.request.Request(endpoint, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        answer = _json(raw)
        if isinstance(answer, dict) and answer.get("status") == "error":
            raise _error(f"Prometheus at {url} refused the query ({answer.get('errorType', exc.code)}): "
                         f"{answer.get('error', '')}\n  query: {expr}",
                         "fix the PromQL in model.yaml spec.analysis (docs/canary.md)") from None
        raise _error(f"{endpoint} answered HTTP {exc.code} {exc.reason}, not Prometheus' API",
                     "check the URL: it is the Prometheus server's base URL, such as http://prometheus:9090") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _error(f"cannot reach Prometheus at {url}: {reason}",
                     "check --prometheus-url, SHIPYARD_PROMETHEUS_URL or shipyard.yaml prometheus.url, and "
                     "that this machine can reach it") from None
    answer = _json(raw)
    if not isinstance(answer, dict) or answer.get("status") != "success" or not isinstance(answer.get("data"), dict):
        raise _error(f"{endpoint} did not answer like Prometheus' HTTP API: {raw[:120]!r}",
                     "check the URL: it is the Prometheus server's base URL, such as http://prometheus:9090")
    return _samples(answer["data"], expr)


def query_number(url: str, expr: str, *, timeout: float = DEFAULT_TIMEOUT) -> float | None:
    """The one number ``expr`` gives now; None when it gives no series or
    NaN (nothing to divide, no requests in a histogram's window)."""
    samples = query(url, expr, timeout=timeout)
    if not samples:
        return None
    if len(samples) > 1:
        shown = ", ".join(_series(s.labels) for s in samples[:3])
        raise _error(f"the query gives {len(samples)} series where one number is needed ({shown}, ...)\n  query: {expr}",
                     "aggregate it, e.g. sum(...) or sum by (le) (...) inside histogram_quantile")
    value = samples[0].value
    return None if math.isnan(value) else value


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _number(text: Any) -> float:
    try:
        return float(text)  # Prometheus writes "NaN", "+Inf", "-Inf", which float() reads
    except (TypeError, ValueError):
        raise _error(f"Prometheus answered a value that is not a number: {text!r}",
                     "this is a Prometheus-compatible server speaking another dialect; use Prometheus' API") from None


def _samples(data: dict[str, Any], expr: str) -> list[Sample]:
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Sample({}, _number(result[1]))]
    if kind == "vector" and isinstance(result, list):
        found = []
        for item in result:
            if not isinstance(item, dict) or not isinstance(item.get("value"), list) or len(item["value"]) != 2:
                raise _error("Prometheus answered a malformed vector", "use Prometheus' own API")
            found.append(Sample({str(k): str(v) for k, v in (item.get("metric") or {}).items()}, _number(item["value"][1])))
        return found
    raise _error(f"the query gives a {kind}, not a number\n  query: {expr}",
                 "write an instant query that gives one number (no range selector [..] at the top)")


def _series(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}"
