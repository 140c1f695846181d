"""The request-log sink: receives the CloudEvents seldon-core 1.17.1's
executor posts for every logged request and keeps them in the model store,
where the drift CronJob (job.py) reads them.

Why a sink of our own: the executor only POSTs (it keeps nothing), and the
sinks upstream documents (a Knative broker, Elasticsearch) are not object
storage. The CronJob fetches ``<store>/<model>/requests/`` with seldon's
storage initializer (``rclone copy --max-age 1h``), so the sink writes there,
with the same rclone and the same RCLONE_CONFIG_* Secret the models use
(shipyard.serving.rclone, shipyard.serving.store).

What arrives (executor/logger/worker.go sendCloudEvent, cloudevents/sdk-go
v1.2.0 transport/http/codec_v1.go toHeaders): a POST in the HTTP binary
content mode. The attributes are headers, ``Ce-Specversion: 1.0``,
``Ce-Id``, ``Ce-Type`` (io.seldon.serving.inference.request, .response, or
io.seldon.serving.feedback), ``Ce-Source`` (``http://<pod>:<port>/``),
``Ce-Time``, and the extensions ``Ce-Modelid`` (the graph node),
``Ce-Requestid`` (the request's puid), ``Ce-Inferenceservicename`` (the
SeldonDeployment), ``Ce-Namespace``, ``Ce-Endpoint`` (the predictor) and
``Ce-Protocol`` (seldon or v2); ``Content-Type`` is the request's own (none
when the client sent none; application/protobuf for gRPC); the body is the
request exactly as the client sent it, decompressed. The executor sends no
predictor version: job.py reads that from Prometheus. The structured mode
(``Content-Type: application/cloudevents+json``, what a Knative broker may
forward) is read too.

What is kept: request events of this model's SeldonDeployment whose body
job.py can read (``instances``: a Seldon protocol ``data.ndarray`` or
``data.tensor``, or a V2 request with one input); each in the CloudEvents
JSON format, one per line, in batches of one predictor:

  <store>/<model>/requests/<predictor>/<YYYY-MM-DD>/<HHMMSS>-<sink>-<n>.jsonl

A batch is written when it holds --flush-instances instances or
--flush-bytes bytes, when its oldest event is --flush-seconds old, and on
SIGTERM or SIGINT (the server stops taking events first). Response and
feedback events (logger mode ``all``) are answered 200 and not kept.

Answers: 200 kept or skipped; 400 not a CloudEvent the executor sends, or a
body job.py would refuse (one such body would stop the whole hour's check),
or an event of another deployment or namespace; 413 a body over
--max-body-bytes; 415 a body that is not JSON (gRPC's protobuf); 503 while
the events waiting to be written (including batches whose upload failed and
is retried) exceed --max-pending-bytes: memory stays bounded, and the
executor only logs a refused event, it never retries. Every answer is
counted at GET /metrics; GET /healthz answers while the server runs.

Runs in the drift image (tools/shipyard/drift/Dockerfile: the rclone binary
and this package) as ``python -m shipyard.drift.sink``, or from a checkout
with the toolkit's venv (rclone from .venv-rclone). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping

from shipyard.drift.job import REQUEST_EVENT, BadInput, instances
from shipyard.errors import ShipyardError
from shipyard.serving.rclone import Rclone, rclone_for, remote_environment
from shipyard.serving.store import STORE_ENV, ModelStore, parse_store

RESPONSE_EVENT = "io.seldon.serving.inference.response"
FEEDBACK_EVENT = "io.seldon.serving.feedback"
KNOWN_TYPES = (REQUEST_EVENT, RESPONSE_EVENT, FEEDBACK_EVENT)
"""executor/logger/worker.go CEInferenceRequest, CEInferenceResponse, CEFeedback."""
CORE_HEADERS = ("specversion", "id", "type", "source", "time", "subject", "dataschema")
STRUCTURED = "application/cloudevents+json"
PREDICTOR_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$")
"""A predictor's name becomes a folder: no slashes, no dots alone."""
MiB = 1024 * 1024
DRAIN_BYTES = 64 * MiB
"""A body over --max-body-bytes up to this size is read (64 KiB at a time) and dropped."""


class Refused(Exception):
    """An event the sink does not keep: the HTTP status, a reason label for
    the metrics, and the message the executor's log shows."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


@dataclass
class Buffer:
    """The events of one predictor not yet written."""

    lines: list[bytes] = field(default_factory=list)
    instances: int = 0
    size: int = 0
    since: float = 0.0


@dataclass
class Batch:
    """One file's worth of events, written or waiting for a retry."""

    predictor: str
    data: bytes
    instances: int
    name: str


@dataclass
class Counters:
    received: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    upload_errors: int = 0


def _add(table: dict[str, int], key: str, n: int = 1) -> None:
    table[key] = table.get(key, 0) + n


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _json_media(media: str) -> bool:
    return media in ("", "application/json", "text/json") or media.endswith("+json")


def parse_event(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The event a POST carries, in the CloudEvents JSON format (attributes
    and extensions at the top, ``data`` the request body: still bytes in
    binary mode, parsed in structured mode). ``headers`` by lower-case name.
    Binary mode (executor/logger/worker.go) or structured mode. Raises Refused."""
    content_type = headers.get("content-type")
    if _media_type(content_type) == STRUCTURED:
        try:
            event = json.loads(body, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Refused(400, "not_json", f"a structured CloudEvent that is not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise Refused(400, "not_cloudevent", "a structured CloudEvent must be a JSON object")
        if "data_base64" in event and "data" not in event:
            try:
                raw = base64.b64decode(str(event.pop("data_base64")), validate=True)
            except ValueError:
                raise Refused(400, "not_json", "data_base64 is not base64") from None
            event["data"] = raw
        elif isinstance(event.get("data"), str) and _json_media(_media_type(event.get("datacontenttype"))):
            event["data"] = event["data"].encode("utf-8")
    else:
        # codec_v1.go toHeaders: every attribute and extension is a ce-<name> header
        event = {name[3:]: value for name, value in headers.items() if name.startswith("ce-") and len(name) > 3}
        if content_type:
            event["datacontenttype"] = content_type
        event["data"] = body  # parsed later, once the event is known to be kept
    for name in ("specversion", "id", "type", "source"):
        if not isinstance(event.get(name), str) or not event[name]:
            raise Refused(400, "not_cloudevent", f"no ce-{name}: not a CloudEvent (the executor sends ce-specversion, "
                                                 "ce-id, ce-type and ce-source with every event)")
    if event["specversion"] != "1.0":
        raise Refused(400, "not_cloudevent", f"ce-specversion {event['specversion']!r}: only 1.0 is read "
                                             "(what seldon-core 1.17.1's executor sends)")
    return event


def _json_body(raw: bytes, content_type: str | None) -> Any:
    media = _media_type(content_type)
    if not _json_media(media):
        raise Refused(415, "not_json", f"a {media} body: only JSON requests (REST, Seldon or V2 protocol) are read; "
                                       "gRPC requests are logged as protobuf")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, "not_json", f"the body is not JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (and not an instance a KS test can rank)."""
    raise ValueError(f"{name} is not a JSON number")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")[:40] or "sink"


class Sink:
    """Buffers kept events per predictor and writes them to the store in batches."""

    def __init__(self, store: ModelStore, model: str, *, deployment: str, namespace: str | None,
                 rclone: Rclone | None, spool: Path, flush_seconds: float, flush_instances: int,
                 flush_bytes: int, max_pending_bytes: int,
                 log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> None:
        self.store, self.model, self.deployment, self.namespace = store, model, deployment, namespace
        self.rclone, self.spool, self.log = rclone, spool, log
        self.flush_seconds, self.flush_instances = flush_seconds, flush_instances
        self.flush_bytes, self.max_pending_bytes = flush_bytes, max_pending_bytes
        self.counters = Counters()
        self.buffers: dict[str, Buffer] = {}
        self.failed: list[Batch] = []
        self.pending_bytes = 0
        self.pending_instances = 0
        self.name = f"{_slug(socket.gethostname())}-{secrets.token_hex(3)}"
        self.sequence = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sink-flush", daemon=True)

    # --- receiving ---------------------------------------------------------------------------

    def receive(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """The answer to one POST (``headers`` by lower-case name): (status, message). Never raises."""
        kind = "unknown"
        try:
            event = parse_event(headers, body)
            if event["type"] not in KNOWN_TYPES:
                raise Refused(400, "type", f"ce-type {event['type']!r} is none the executor sends "
                                           f"({', '.join(KNOWN_TYPES)})")
            kind = event["type"]
            if kind != REQUEST_EVENT:
                with self._lock:
                    _add(self.counters.received, kind)
                return 200, f"{kind}: not kept (the drift check reads requests only)\n"
            line, count, predictor = self._keepable(event)
        except Refused as exc:
            return self.refuse(exc, kind)
        with self._lock:
            _add(self.counters.received, kind)
            if self.pending_bytes + len(line) > self.max_pending_bytes:
                self.counters.dropped += 1
                return 503, (f"backlog full: {self.pending_bytes} bytes wait to be written to the store "
                             f"(--max-pending-bytes {self.max_pending_bytes}); event dropped\n")
            buffer = self.buffers.setdefault(predictor, Buffer())
            if not buffer.lines:
                buffer.since = time.monotonic()
            buffer.lines.append(line)
            buffer.instances += count
            buffer.size += len(line)
            self.pending_bytes += len(line)
            self.pending_instances += count
            full = buffer.instances >= self.flush_instances or buffer.size >= self.flush_bytes
        if full:
            self._wake.set()
        return 200, f"kept {count} instances of predictor {predictor}\n"

    def _keepable(self, event: dict[str, Any]) -> tuple[bytes, int, str]:
        deployment = event.get("inferenceservicename")
        if deployment != self.deployment:
            raise Refused(400, "deployment", f"ce-inferenceservicename {deployment!r}: this sink keeps the requests "
                                             f"of SeldonDeployment {self.deployment!r} only")
        if self.namespace and event.get("namespace") not in (None, self.namespace):
            raise Refused(400, "deployment", f"ce-namespace {event.get('namespace')!r}: this sink keeps the "
                                             f"requests of namespace {self.namespace!r} only")
        predictor = event.get("endpoint")
        if not isinstance(predictor, str) or not PREDICTOR_NAME.match(predictor):
            raise Refused(400, "not_cloudevent", f"ce-endpoint {predictor!r}: want the predictor's name")
        if isinstance(event.get("data"), bytes):
            event["data"] = _json_body(event["data"], event.get("datacontenttype"))
        if "data" not in event:
            raise Refused(400, "body", f"event {event['id']}: no data (the request body)")
        try:
            rows, _names = instances(event.get("data"), f"event {event['id']}")
        except BadInput as exc:
            raise Refused(400, "body", str(exc)) from None
        line = (json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
        return line, len(rows), predictor

    def refuse(self, exc: Refused, kind: str = "unknown") -> tuple[int, str]:
        """Count a refused event (received, by its type, and rejected, by reason) and answer it."""
        with self._lock:
            _add(self.counters.received, kind)
            _add(self.counters.rejected, exc.reason)
        self.log(f"refused ({exc.status} {exc.reason}): {exc}")
        return exc.status, f"{exc}\n"

    # --- writing ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        last_retry = time.monotonic()
        tick = max(0.05, min(1.0, self.flush_seconds / 4))
        while not self._stop.is_set():
            self._wake.wait(tick)
            self._wake.clear()
            if self._stop.is_set():
                break
            retry = time.monotonic() - last_retry >= self.flush_seconds
            if retry:
                last_retry = time.monotonic()
            self.flush(everything=False, retry=retry)

    def _take(self, everything: bool) -> list[Batch]:
        now = time.monotonic()
        taken = []
        with self._lock:
            for predictor, buffer in self.buffers.items():
                if not buffer.lines:
                    continue
                due = (everything or buffer.instances >= self.flush_instances or buffer.size >= self.flush_bytes
                       or now - buffer.since >= self.flush_seconds)
                if not due:
                    continue
                self.sequence += 1
                stamp = time.gmtime()
                name = (f"{predictor}/{time.strftime('%Y-%m-%d', stamp)}/"
                        f"{time.strftime('%H%M%S', stamp)}-{self.name}-{self.sequence:06d}.jsonl")
                taken.append(Batch(predictor, b"".join(buffer.lines), buffer.instances, name))
                self.buffers[predictor] = Buffer()
        return taken

    def flush(self, *, everything: bool = True, retry: bool = True) -> int:
        """Write the batches that are due (all with ``everything``), and the
        failed ones again with ``retry``; the number of batches still unwritten."""
        with self._write_lock:
            batches = self._take(everything)
            if retry:
                with self._lock:
                    batches, self.failed = self.failed + batches, []
            for batch in batches:
                try:
                    where = self._write(batch)
                except (ShipyardError, OSError) as exc:
                    with self._lock:
                        self.counters.upload_errors += 1
                        self.failed.append(batch)
                    self.log(f"cannot write {batch.instances} instances of {batch.predictor} "
                             f"({len(batch.data)} bytes); kept for a retry: {exc}")
                    continue
                with self._lock:
                    self.pending_bytes -= len(batch.data)
                    self.pending_instances -= batch.instances
                    _add(self.counters.written, batch.predictor, batch.instances)
                    _add(self.counters.batches, batch.predictor)
                self.log(f"wrote {batch.instances} instances of {batch.predictor} to {where}")
            with self._lock:
                return len(self.failed)

    def _write(self, batch: Batch) -> str:
        if not self.store.remote:
            target = self.store.local_root() / self.model / "requests" / batch.name
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(batch.data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            return str(target)
        assert self.rclone is not None
        uri = f"{self.store.uri}/{self.model}/requests/{batch.name}"
        self.spool.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.spool, prefix="batch-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(batch.data)
            self.rclone.upload(Path(tmp), uri)
        finally:
            os.unlink(tmp)
        return uri

    def close(self) -> int:
        """Stop the flusher and write everything; the number of events lost."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        self.flush(everything=True, retry=True)
        with self._lock:
            return sum(b.data.count(b"\n") for b in self.failed)

    # --- metrics ----------------------------------------------------------------------------

    def metrics(self) -> str:
        def labels(**pairs: str) -> str:
            def escape(value: str) -> str:
                return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
            return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs.items()) + "}" if pairs else ""

        with self._lock:
            c = self.counters
            families: list[tuple[str, str, str, list[tuple[str, float]]]] = [
                ("shipyard_drift_sink_events_received_total", "counter",
                 "CloudEvents received, by ce-type (unknown: not a CloudEvent of the executor).",
                 [(labels(type=k), v) for k, v in sorted(c.received.items())]),
                ("shipyard_drift_sink_events_rejected_total", "counter",
                 "Events refused, by reason (not_cloudevent, type, deployment, not_json, body, too_large; internal: a bug).",
                 [(labels(reason=k), v) for k, v in sorted(c.rejected.items())]),
                ("shipyard_drift_sink_events_dropped_total", "counter",
                 "Request events answered 503 because the backlog was full.", [("", c.dropped)]),
                ("shipyard_drift_sink_instances_written_total", "counter",
                 "Request instances written to the model store, by predictor.",
                 [(labels(predictor=k), v) for k, v in sorted(c.written.items())]),
                ("shipyard_drift_sink_batches_written_total", "counter",
                 "Batch files written to the model store, by predictor.",
                 [(labels(predictor=k), v) for k, v in sorted(c.batches.items())]),
                ("shipyard_drift_sink_write_errors_total", "counter",
                 "Batch writes that failed (the batch is kept and retried).", [("", c.upload_errors)]),
                ("shipyard_drift_sink_pending_bytes", "gauge",
                 "Bytes of kept events not yet written (buffered or waiting for a retry).",
                 [("", self.pending_bytes)]),
                ("shipyard_drift_sink_pending_instances", "gauge",
                 "Instances of kept events not yet written.", [("", self.pending_instances)]),
            ]
        lines = []
        for name, kind, help_text, samples in families:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            lines += [f"{name}{lbl} {int(value)}" for lbl, value in samples]
        return "\n".join(lines) + "\n"


def handler_for(sink: Sink, max_body_bytes: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "shipyard-drift-sink"
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            try:
                length = int(self.headers.get("Content-Length") or "")
            except ValueError:
                self.close_connection = True
                status, text = sink.refuse(Refused(411, "not_cloudevent", "no Content-Length"))
                self._answer(status, text)
                return
            if length < 0 or length > max_body_bytes:
                if 0 < length <= DRAIN_BYTES:  # read and drop it, so the connection stays usable
                    while length > 0:
                        length -= len(self.rfile.read(min(length, 65536)) or b"x" * length)
                else:
                    self.close_connection = True
                status, text = sink.refuse(Refused(413, "too_large", f"a body of {length} bytes: at most "
                                                                       f"{max_body_bytes} (--max-body-bytes)"),
)
                self._answer(status, text)
                return
            body = self.rfile.read(length)
            try:
                status, text = sink.receive({k.lower(): v for k, v in self.headers.items()}, body)
            except Exception as exc:  # a bug here must cost one event, never the server
                status, text = sink.refuse(Refused(500, "internal", f"{type(exc).__name__}: {exc}"))
            self._answer(status, text)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, sink.metrics(), "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                self._answer(200, "ok\n")
            else:
                self._answer(404, "POST CloudEvents to any path; GET /metrics, /healthz\n")

        def log_message(self, format: str, *args: Any) -> None:  # one line per request would drown the log
            pass

    return Handler


def _rclone(store: ModelStore, binary: str | None) -> Rclone | None:
    """rclone for a remote store: --rclone, $SHIPYARD_RCLONE, the one on PATH
    (the drift image), else .venv-rclone of this checkout."""
    if not store.remote:
        return None
    found = binary or os.environ.get("SHIPYARD_RCLONE") or shutil.which("rclone")
    if found:
        return Rclone(Path(found), remote_environment(store.scheme, None, writing=True), store.scheme)
    return rclone_for(store.uri, None, writing=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line (a function: the manifests' tests parse the Deployment's args with it)."""
    parser = argparse.ArgumentParser(prog="python -m shipyard.drift.sink", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=os.environ.get(STORE_ENV),
                        help=f"the model store, s3://bucket[/prefix], gs://... or a folder (default: ${STORE_ENV})")
    parser.add_argument("--model", required=True, help="the model: requests go to <store>/<model>/requests/")
    parser.add_argument("--deployment", help="the SeldonDeployment whose requests are kept (default: the model)")
    parser.add_argument("--namespace", help="refuse events of SeldonDeployments in other namespaces")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--flush-seconds", type=float, default=60.0, help="write a batch at this age (default 60)")
    parser.add_argument("--flush-instances", type=int, default=5000, help="... or this many instances (default 5000)")
    parser.add_argument("--flush-bytes", type=int, default=4 * MiB, help="... or this many bytes (default 4 MiB)")
    parser.add_argument("--max-pending-bytes", type=int, default=64 * MiB,
                        help="answer 503 beyond this many unwritten bytes (default 64 MiB)")
    parser.add_argument("--max-body-bytes", type=int, default=MiB, help="largest request body (default 1 MiB)")
    parser.add_argument("--rclone", help="the rclone binary (default: $SHIPYARD_RCLONE, PATH, .venv-rclone)")
    parser.add_argument("--spool", type=Path, default=Path(tempfile.gettempdir()) / "shipyard-sink",
                        help="folder for batch files being uploaded")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.store:
        parser.error(f"--store is required (or ${STORE_ENV})")
    for name in ("flush_seconds", "flush_instances", "flush_bytes", "max_pending_bytes", "max_body_bytes"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    try:
        store = parse_store(args.store, "--store")
        rclone = _rclone(store, args.rclone)
    except ShipyardError as exc:
        print(f"error: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return 2
    sink = Sink(store, args.model, deployment=args.deployment or args.model, namespace=args.namespace,
                rclone=rclone, spool=args.spool, flush_seconds=args.flush_seconds,
                flush_instances=args.flush_instances, flush_bytes=args.flush_bytes,
                max_pending_bytes=args.max_pending_bytes)
    try:
        server = ThreadingHTTPServer((args.host, args.port), handler_for(sink, args.max_body_bytes))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    server.daemon_threads = False  # server_close() waits for the requests in flight

    def stop(signum: int, _frame: object) -> None:
        sink.log(f"{signal.Signals(signum).name}: no more events; writing what is buffered")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sink.start()
    target = f"{store.uri}/{args.model}/requests/"
    sink.log(f"listening on {args.host}:{server.server_address[1]}; keeping requests of "
             f"{sink.deployment} in {target}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    lost = sink.close()
    if lost:
        sink.log(f"error: {lost} events could not be written to {target} and are lost")
        return 1
    sink.log("stopped; every kept event is written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
