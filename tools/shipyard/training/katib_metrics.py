"""What Katib's metrics collector reads from a trial's output.

A Katib trial reports its objective only through what its primary
container prints (StdOut collector) or writes (File collector); a line the
collector does not parse leaves the trial without an objective value, and
the Experiment optimises nothing. This module is Katib v0.19.0's parser,
so the training code's output can be proven to reach Katib offline:

- ``parse_text`` follows pkg/metricscollector/v1beta1/file-metricscollector/
  file-metricscollector.go ``parseLogsInTextFormat``: a line is looked at
  only when it contains one of the metric names; a leading RFC 3339
  timestamp (up to the first space) is the metric's time; every match of
  every filter whose first group, trimmed, is exactly a metric name is an
  observation of the second group, trimmed. With no filter the default one
  applies (pkg/metricscollector/v1beta1/common/const.go ``DefaultFilter``).
- ``parse_json`` follows ``parseLogsInJsonFormat``: one JSON object a line;
  only string values count (``jsonObj[m].(string)``).
- ``observation`` follows ``newObservationLog``: without a value of the
  objective (the first metric) the trial reports "unavailable".
- ``for_experiment`` reads what cmd/metricscollector/v1beta1/
  file-metricscollector/main.go is started with for an Experiment: the
  metric names (objective first, then additionalMetricNames), the filters of
  metricsCollectorSpec.source.filter.metricsFormat, and the file format
  (TEXT for StdOut, whose collector reads the primary container's stdout
  and stderr, redirected into one file: ``1>file 2>&1`` in
  pkg/webhook/v1beta1/pod/utils.go ``wrapWorkerContainer``).

Go's regexp (RE2) and Python's re differ where it matters here in two ways
``go_pattern`` bridges: ``\\w``, ``\\d`` and ``\\s`` are ASCII classes in Go
(re.ASCII), and Go's ``\\s`` is ``[\\t\\n\\f\\r ]`` (no vertical tab).
A value that does not parse as a number (the default filter's value group
also matches the empty string, as in ``loss=nan``) is reported by Katib as
it was read; ``Observed.numeric`` says whether it is a usable number
(Go's strconv.ParseFloat syntax).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

from shipyard.shapes import as_dict, as_list

DEFAULT_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
UNAVAILABLE = "unavailable"  # consts.UnavailableMetricValue
ZERO_TIME = "0001-01-01T00:00:00Z"  # time.Time{}.UTC().Format(time.RFC3339)
TEXT, JSON = "TEXT", "JSON"
_GO_SPACE = r"[\t\n\f\r ]"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
# strconv.ParseFloat's decimal syntax, and the words it accepts.
_GO_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.IGNORECASE)


@dataclass(frozen=True)
class MetricLog:
    """One observation: a metric's value as read, and its timestamp."""

    name: str
    value: str
    timestamp: str = ZERO_TIME

    @property
    def numeric(self) -> bool:
        """Whether the value is a number Katib can compare (ParseFloat syntax)."""
        return bool(_GO_FLOAT.match(self.value))


@dataclass(frozen=True)
class CollectorSetup:
    """What the collector is started with for one Experiment."""

    metrics: tuple[str, ...]  # the objective first
    filters: tuple[str, ...] = ()
    file_format: str = TEXT
    kind: str = "StdOut"


@dataclass
class Observation:
    """The observation log a trial reports."""

    logs: list[MetricLog] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [log.value for log in self.logs if log.name == name]

    @property
    def objective_available(self) -> bool:
        return bool(self.logs) and self.logs[0].value != UNAVAILABLE


class MetricsFormatError(ValueError):
    """A filter that does not compile, or output that is not the format's."""


def go_pattern(pattern: str) -> re.Pattern[str]:
    """A Go (RE2) pattern as Python's re reads it: ASCII classes, and Go's
    ``\\s`` outside character classes."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            out.append(_GO_SPACE if pair == r"\s" and not in_class else pair)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as exc:
        raise MetricsFormatError(f"filter {pattern!r} does not compile: {exc}") from None


def _timestamp(line: str) -> str:
    head, sep, _rest = line.partition(" ")
    return head if sep and _RFC3339.match(head) else ZERO_TIME


def parse_text(text: str, metrics: Iterable[str], filters: Iterable[str] = ()) -> Observation:
    """parseLogsInTextFormat, then newObservationLog."""
    names = list(metrics)
    patterns = [go_pattern(f) for f in (list(filters) or [DEFAULT_FILTER])]
    logs: list[MetricLog] = []
    for line in text.split("\n"):
        if not any(name in line for name in names):
            continue
        stamp = _timestamp(line)
        for pattern in patterns:
            for match in pattern.finditer(line):
                if pattern.groups < 2:
                    continue
                name = (match.group(1) or "").strip()
                value = (match.group(2) or "").strip()
                if name in names:
                    logs.append(MetricLog(name, value, stamp))
    return observation(logs, names)


def parse_json(text: str, metrics: Iterable[str]) -> Observation:
    """parseLogsInJsonFormat, then newObservationLog; a line that is not a
    JSON object fails the whole file, as upstream."""
    names = list(metrics)
    logs: list[MetricLog] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise MetricsFormatError(f"line {number}: not a JSON object: {exc}") from None
        if not isinstance(record, dict):
            raise MetricsFormatError(f"line {number}: not a JSON object")
        stamp = _json_timestamp(record.get("timestamp"))
        for name in names:
            value = record.get(name)
            if isinstance(value, str):
                logs.append(MetricLog(name, value, stamp))
    return observation(logs, names)


def _json_timestamp(value: Any) -> str:
    if isinstance(value, str):
        return value if value and _RFC3339.match(value) else ZERO_TIME
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # FormatFloat(v, 'f', -1, 64), then the digits after the point read as nanoseconds, as upstream does
        seconds, _, fraction = format(Decimal(repr(float(value))), "f").partition(".")
        nanos = int(fraction) if fraction.isdigit() else 0
        stamp = datetime.fromtimestamp(int(seconds), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{stamp}.{nanos:09d}".rstrip("0").rstrip(".") + "Z"
    return ZERO_TIME


def observation(logs: list[MetricLog], metrics: list[str]) -> Observation:
    """newObservationLog: without the objective, one "unavailable" entry."""
    if not metrics or not any(log.name == metrics[0] for log in logs):
        return Observation([MetricLog(metrics[0] if metrics else "", UNAVAILABLE)])
    return Observation(logs)


def for_experiment(experiment: dict[str, Any]) -> CollectorSetup:
    """The collector's setup for an Experiment body (after Katib's defaults:
    StdOut when no collector is set, TEXT for a File collector without a
    format)."""
    spec = as_dict(experiment.get("spec"))
    objective = as_dict(spec.get("objective"))
    name = objective.get("objectiveMetricName")
    if not isinstance(name, str) or not name:
        raise MetricsFormatError("the Experiment names no spec.objective.objectiveMetricName")
    extra = [m for m in as_list(objective.get("additionalMetricNames")) if isinstance(m, str)]
    mc = as_dict(spec.get("metricsCollectorSpec"))
    source = as_dict(mc.get("source"))
    kind = str(as_dict(mc.get("collector")).get("kind") or "StdOut")
    if kind not in ("StdOut", "File"):
        raise MetricsFormatError(f"collector kind {kind!r} does not read the trial's text output")
    file_format = str(as_dict(source.get("fileSystemPath")).get("format") or TEXT) if kind == "File" else TEXT
    filters = tuple(str(f) for f in as_list(as_dict(source.get("filter")).get("metricsFormat")))
    return CollectorSetup((name, *extra), filters, file_format, kind)


def collect(setup: CollectorSetup, output: str) -> Observation:
    """What the collector reports for ``output`` (the metrics file's text)."""
    if setup.file_format == JSON:
        return parse_json(output, setup.metrics)
    if setup.file_format != TEXT:
        raise MetricsFormatError(f"format must be {TEXT} or {JSON}, not {setup.file_format!r}")
    return parse_text(output, setup.metrics, setup.filters)
