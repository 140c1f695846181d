"""Helm: fetch a pinned chart and template it, with the real helm binary.

Charts are fetched once per (repository, name, version) into the cache and
templated from the local package. With a mirror, every chart repository URL
is answered by the mirror's loopback chart server: a mirror holds the pinned
versions of every chart the repository uses, under their upstream names.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from shipyard.errors import RenderError
from shipyard.render.binaries import Binaries
from shipyard.render.mirror import Mirror
from shipyard.render.run import run_tool


@dataclass(frozen=True)
class ChartRef:
    """A chart pin: where it comes from, which chart, which version, and the
    file and line that declared it (for errors and cross-checks)."""

    repo_url: str
    name: str
    version: str
    declared_in: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        return f"{self.repo_url.rstrip('/')}|{self.name}|{self.version}"


class Helm:
    """The helm binary, with its own throwaway configuration so the user's
    ~/.config/helm is never read or written."""

    def __init__(self, binaries: Binaries, cache_dir: Path, mirror: Mirror | None) -> None:
        self.binaries = binaries
        self.cache_dir = cache_dir
        self.mirror = mirror
        self._home = Path(tempfile.mkdtemp(prefix="shipyard-helm-"))
        # Removed when the Helm object goes (or at exit): one per command
        # otherwise piles up in /tmp, thousands in a test run.
        weakref.finalize(self, shutil.rmtree, str(self._home), True)
        self.env = {
            "HELM_CONFIG_HOME": str(self._home / "config"),
            "HELM_CACHE_HOME": str(self._home / "cache"),
            "HELM_DATA_HOME": str(self._home / "data"),
        }

    def chart_package(self, chart: ChartRef) -> Path:
        """The chart's .tgz in the local cache, pulled on first use."""
        if chart.repo_url.startswith("oci://"):
            raise RenderError(
                f"OCI chart repositories are not supported yet: {chart.repo_url}",
                file=chart.declared_in or None,
                line=chart.line or None,
                check="SY903",
            )
        if self.mirror:
            local = self.mirror.chart_package(chart.name, chart.version)
            if local is not None:
                return local
        import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
        digest = hashlib.sha256(chart.repo_url.rstrip("/").encode()).hexdigest()[:16]
        folder = self.cache_dir / "charts" / digest
        package = folder / f"{chart.name}-{chart.version}.tgz"
        if package.is_file():
            return package
        folder.mkdir(parents=True, exist_ok=True)
        url = self.mirror.chart_repo_url() if self.mirror else chart.repo_url
        where = f" (mirror of {chart.repo_url})" if self.mirror else ""
        if self.mirror:
            hint = (f"check the chart name and version; the mirror {self.mirror.root / 'charts'} must hold "
                    f"{chart.name}-{chart.version}.tgz and list it in index.yaml (`helm repo index` there)")
        else:
            hint = "check the chart name and version exist in that repository; air-gapped? set SHIPYARD_MIRROR to a mirror folder"
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            run_tool(
                [self.binaries.helm, "pull", chart.name, "--repo", url, "--version", chart.version, "--destination", tmp],
                what=f"helm pull {chart.name} {chart.version} from {url}{where}",
                file=chart.declared_in or None,
                line=chart.line or None,
                env=self.env,
                timeout=120,
                hint=hint,
            )
            pulled = list(Path(tmp).glob("*.tgz"))
            if len(pulled) != 1:
                raise RenderError(f"helm pull of {chart.name} {chart.version} produced no package", check="SY903")
            os.replace(pulled[0], package)
        return package

    def template(
        self,
        chart: ChartRef,
        *,
        release: str,
        namespace: str,
        values: list[dict[str, Any]],
        kube_version: str,
        include_crds: bool,
        api_versions: list[str] | None = None,
    ) -> str:
        """``helm template`` of the pinned chart with ``values`` layered in
        order, as the engine would install it into ``namespace``."""
        package = self.chart_package(chart)
        with tempfile.TemporaryDirectory(prefix="shipyard-values-") as tmp:
            cmd = [
                self.binaries.helm,
                "template",
                release,
                str(package),
                "--namespace",
                namespace,
                "--kube-version",
                kube_version,
            ]
            if include_crds:
                cmd.append("--include-crds")
            for api in api_versions or []:
                cmd += ["--api-versions", api]
            for index, layer in enumerate(values):
                path = Path(tmp) / f"values-{index}.yaml"
                path.write_text(yaml.safe_dump(layer, sort_keys=False), encoding="utf-8")
                cmd += ["--values", str(path)]
            try:
                return run_tool(
                    cmd,
                    what=f"helm template {release} ({chart.name} {chart.version})",
                    file=chart.declared_in or None,
                    line=chart.line or None,
                    env=self.env,
                    timeout=180,
                    hint="the chart refused these values: set what it asks for in the release's values "
                    "(HelmRelease spec.values or valuesFrom, Argo CD helm.valueFiles or valuesObject)",
                )
            except RenderError as exc:
                exc.message = _tidy_helm_message(exc.message)
                raise


def _tidy_helm_message(message: str) -> str:
    """helm's failure without its boilerplate ("Error: ", the advice to
    re-run with --debug, which does not apply to a wrapped call)."""
    message = re.sub(r"\s*Use --debug flag to render out invalid YAML\s*", "", message)
    return message.replace("failed: Error: ", "failed: ").strip()


SOURCE_COMMENT = re.compile(r"^# Source: (.+)$", re.MULTILINE)


_DOCUMENT_START = re.compile(r"^---\s*$", re.MULTILINE)


def sourced_documents(text: str, where_of: Callable[[str], str]) -> list[tuple[str, Any]]:
    """(template path, value) of every non-empty document of helm's output,
    read as one text: a chart's few hundred templates are then one large
    text for the loader's fast reader instead of as many small ones (most
    of the Python time of a repository's helm renders). Each document
    belongs to the piece (between ``---`` lines) it starts in, and that
    piece's ``# Source:`` comment names its template. When the whole text cannot be read, the pieces are read one
    by one, as ``where_of(template)``, so an error names its template."""
    from shipyard.errors import ShipyardError
    from shipyard.load import load_documents

    pieces: list[tuple[int, str, str]] = []  # (1-based first line, template, text)
    begin, line = 0, 1
    for match in [*_DOCUMENT_START.finditer(text), None]:
        stop = len(text) if match is None else match.start()
        doc = text[begin:stop]
        if doc.strip():
            found = SOURCE_COMMENT.search(doc)
            pieces.append((line, found.group(1).strip() if found else "", doc))
        if match is not None:
            begin = match.end()
            line = text.count("\n", 0, begin) + 1
    try:
        documents = load_documents(text, where_of(""))
    except ShipyardError:
        return [(template, body) for _line, template, doc in pieces
                for body, _l in load_documents(doc, where_of(template))]
    firsts = [first for first, _template, _doc in pieces]
    out: list[tuple[str, Any]] = []
    for body, first in documents:
        index = bisect.bisect_right(firsts, first) - 1
        out.append((pieces[index][1] if index >= 0 else "", body))
    return out


