"""Air-gapped rendering: a mirror folder stands in for upstream.

A mirror is laid out like ``../shared/mirror``: ``charts/`` is a Helm chart
repository (index.yaml + packages) and ``git/<owner>/<repo>.git`` are bare
repositories. Charts are served by a real HTTP server on loopback, so helm
talks to a chart repository exactly as it would upstream; git reaches the
bare repositories through ``url.<mirror>.insteadOf``, so kustomize's remote
bases keep their upstream URLs in the manifests.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    import http.server

MIRROR_ENV = "SHIPYARD_MIRROR"


def _quiet_handler() -> type[http.server.SimpleHTTPRequestHandler]:
    """The chart server's request handler, which logs nothing. Built when a
    server starts: http.server (with http.client and email) is a tenth of
    the start-up of a check that never serves a chart."""
    import http.server

    class _QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from stdlib
            return

    return _QuietHandler


@dataclass
class Mirror:
    """A mirror folder, and (while started) its loopback chart server."""

    root: Path
    _server: http.server.ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _packages: dict[tuple[str, str], Path] | None = field(default=None, repr=False)

    @classmethod
    def from_setting(cls, value: str | None, *, base: Path | None = None) -> "Mirror | None":
        """The mirror named by SHIPYARD_MIRROR or the repository setting, checked."""
        value = os.environ.get(MIRROR_ENV) or value
        if not value:
            return None
        root = Path(value)
        if not root.is_absolute():
            root = (base or Path.cwd()) / root
        root = root.resolve()
        if not (root / "charts" / "index.yaml").is_file() and not (root / "git").is_dir():
            raise ShipyardError(
                f"mirror {root} is not usable: it has neither charts/index.yaml nor git/",
                hint=f"point {MIRROR_ENV} at a folder laid out like the upstream mirror (charts/, git/, crds/)",
                check="SY902",
            )
        return cls(root=root)

    @property
    def fingerprint(self) -> str:
        index = self.root / "charts" / "index.yaml"
        stamp = index.stat().st_mtime_ns if index.is_file() else 0
        return f"mirror={self.root}@{stamp}"

    def chart_package(self, name: str, version: str) -> Path | None:
        """The mirror's own package of chart ``name`` at exactly ``version``
        (charts/index.yaml lists it under a relative URL, and the file is
        there), or None: helm then pulls it from the loopback server, which
        also resolves version ranges. Reading the file where it lies is what
        that pull would copy, without starting helm."""
        with self._lock:
            if self._packages is None:
                self._packages = self._read_packages()
            return self._packages.get((name, version))

    def _read_packages(self) -> dict[tuple[str, str], Path]:
        from shipyard.errors import ShipyardError as _Error
        from shipyard.load import load_documents, read_text

        charts = self.root / "charts"
        index = charts / "index.yaml"
        found: dict[tuple[str, str], Path] = {}
        try:
            docs = load_documents(read_text(index, str(index)), str(index)) if index.is_file() else []
        except _Error:
            return found
        entries = docs[0][0].get("entries") if docs and isinstance(docs[0][0], dict) else None
        for name, versions in (entries.items() if isinstance(entries, dict) else []):
            for entry in versions if isinstance(versions, list) else []:
                urls = entry.get("urls") if isinstance(entry, dict) else None
                if not (isinstance(urls, list) and urls and isinstance(urls[0], str)) or "://" in urls[0]:
                    continue
                package = (charts / urls[0]).resolve()
                if package.is_file() and package.is_relative_to(charts.resolve()):
                    found[(str(name), str(entry.get("version")))] = package
        return found

    def chart_repo_url(self) -> str:
        """The loopback URL of the mirror's chart repository, starting the
        server on first use (any free port: index.yaml has relative URLs)."""
        with self._lock:
            if self._server is None:
                charts = self.root / "charts"
                if not (charts / "index.yaml").is_file():
                    raise ShipyardError(
                        f"mirror {self.root} has no charts/index.yaml",
                        hint="run `helm repo index charts/` in the mirror",
                        check="SY902",
                    )
                import http.server

                handler = functools.partial(_quiet_handler(), directory=str(charts))
                self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                # shutdown() waits for the loop's next poll: half a second by
                # default, paid at the end of every command that rendered a chart.
                self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                                name="chart-mirror", daemon=True)
                self._thread.start()
            host, port = self._server.server_address[:2]
            assert isinstance(host, str)  # an AF_INET socket's name: (str, int)
            return f"http://{host}:{port}/"

    def git_env(self) -> dict[str, str]:
        """Environment variables that send https://github.com/ to the mirror's
        bare repositories, leaving the user's git configuration untouched."""
        git = self.root / "git"
        if not git.is_dir():
            return {}
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.file://{git}/.insteadOf",
            "GIT_CONFIG_VALUE_0": "https://github.com/",
            "GIT_TERMINAL_PROMPT": "0",
        }

    def crds_dir(self) -> Path | None:
        path = self.root / "crds"
        return path if path.is_dir() else None

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
