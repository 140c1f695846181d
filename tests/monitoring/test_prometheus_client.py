"""shipyard.monitoring.prometheus against a real Prometheus (Debian's 2.42
server) on loopback, scraping itself: a number, no data, several series,
a refused query, an unreachable server, a server that is not Prometheus."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from shipyard.monitoring.prometheus import PrometheusError, query, query_number
from shipyard.serving.server import free_port


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus server is not installed (tools/install.py installs it with promtool)")
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    (folder / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s}\n"
        f"scrape_configs:\n- job_name: self\n  static_configs:\n  - targets: ['127.0.0.1:{port}']\n")
    with (folder / "log").open("wb") as log:
        proc = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _has_scraped(url):
            assert proc.poll() is None, (folder / "log").read_text()
            assert time.monotonic() < deadline, "Prometheus did not scrape itself within 30 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _has_scraped(url: str) -> bool:
    try:
        return query_number(url, 'up{job="self"}') == 1.0
    except PrometheusError:
        return False


def test_one_number(prometheus: str) -> None:
    assert query_number(prometheus, 'sum(up{job="self"})') == 1.0
    assert query_number(prometheus, "scalar(vector(2.5))") == 2.5
    labels = query(prometheus, 'up{job="self"}')[0].labels
    assert labels["job"] == "self" and labels["__name__"] == "up"


def test_no_data_is_none_not_an_error(prometheus: str) -> None:
    assert query_number(prometheus, 'up{job="nobody"}') is None
    assert query_number(prometheus, "vector(0) / vector(0)") is None  # NaN: nothing to divide


def test_several_series_where_one_number_is_needed(prometheus: str) -> None:
    with pytest.raises(PrometheusError) as raised:
        query_number(prometheus, '{job="self", __name__=~"up|scrape_duration_seconds"}')
    assert raised.value.check == "SY519"
    assert "series where one number is needed" in raised.value.message and "sum(" in str(raised.value.hint)


def test_a_refused_query_carries_prometheus_own_message(prometheus: str) -> None:
    with pytest.raises(PrometheusError) as raised:
        query_number(prometheus, "sum(rate(up[5m])")
    assert "refused the query (bad_data)" in raised.value.message
    assert "unclosed left parenthesis" in raised.value.message
    with pytest.raises(PrometheusError, match="gives a matrix, not a number"):
        query_number(prometheus, "up[1m]")


def test_unreachable_is_said_plainly() -> None:
    with pytest.raises(PrometheusError) as raised:
        query_number(f"http://127.0.0.1:{free_port()}", "up")
    assert raised.value.message.startswith("cannot reach Prometheus at http://127.0.0.1:")
    assert "--prometheus-url" in str(raised.value.hint)


def test_a_server_that_is_not_prometheus(tmp_path: Path) -> None:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = b"<html>please log in</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(PrometheusError, match="did not answer like Prometheus' HTTP API"):
            query_number(f"http://127.0.0.1:{server.server_address[1]}", "up")
    finally:
        server.shutdown()
        server.server_close()
