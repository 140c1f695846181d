"""Charts that fail to template, and mirrors that cannot serve what is pinned.

The chart is the corpus's needs-value (it `required`s image.tag), packaged
by the real helm into a chart repository that shipyard serves on loopback
exactly as it serves the upstream mirror.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

RELEASE = "apps/required-value-missing.yaml"


@pytest.fixture()
def mirror(chart_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHIPYARD_MIRROR", str(chart_mirror))
    return chart_mirror


def test_a_required_value_missing(corpus: Path, mirror: Path, shipyard) -> None:
    error = shipyard("validate", RELEASE).error
    assert (error["check"], error["file"], error["line"]) == ("SY903", RELEASE, 21)  # the chart pin's version line
    assert error["message"].startswith("helm template app-app (needs-value 0.1.0) failed: execution error at "
                                       "(needs-value/templates/configmap.yaml:6:44): image.tag is required")
    assert "--debug" not in error["message"]
    assert "refused these values" in error["hint"]


def test_the_same_release_with_the_value_renders(corpus: Path, mirror: Path, shipyard) -> None:
    """The failure above is the missing value, nothing else."""
    release = corpus / RELEASE
    release.write_text(release.read_text() + "      tag: \"1.0\"\n", encoding="utf-8")
    outcome = shipyard("validate", RELEASE, "--check", "SY103")
    assert outcome.code == 0, outcome.err


def test_a_version_the_mirror_does_not_hold(corpus: Path, mirror: Path, shipyard) -> None:
    error = shipyard("validate", "apps/version-not-in-mirror.yaml").error
    assert (error["check"], error["file"], error["line"]) == ("SY903", "apps/version-not-in-mirror.yaml", 21)
    assert 'chart "needs-value" version "9.9.9" not found' in error["message"]
    assert "(mirror of https://charts.example.com)" in error["message"]
    assert f"{mirror / 'charts'} must hold needs-value-9.9.9.tgz" in error["hint"]


@pytest.mark.parametrize("layout", ["missing", "empty folder", "a file"])
def test_a_mirror_pointing_at_nothing(corpus: Path, shipyard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      layout: str) -> None:
    target = tmp_path / "mirror"
    if layout == "empty folder":
        target.mkdir()
    elif layout == "a file":
        target.write_text("not a mirror\n", encoding="utf-8")
    monkeypatch.setenv("SHIPYARD_MIRROR", str(target))
    error = shipyard("validate", RELEASE).error
    assert error["check"] == "SY902"
    assert error["message"] == f"mirror {target} is not usable: it has neither charts/index.yaml nor git/"
    assert "SHIPYARD_MIRROR" in error["hint"]


def test_a_mirror_whose_packages_are_gone(corpus: Path, chart_mirror: Path, shipyard, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    """The index still lists the chart; the server answers 404 for it."""
    broken = tmp_path / "mirror"
    (broken / "charts").mkdir(parents=True)
    shutil.copy(chart_mirror / "charts" / "index.yaml", broken / "charts" / "index.yaml")
    monkeypatch.setenv("SHIPYARD_MIRROR", str(broken))
    error = shipyard("validate", RELEASE).error
    assert (error["check"], error["file"], error["line"]) == ("SY903", RELEASE, 21)
    assert "needs-value-0.1.0.tgz : 404 File not found" in error["message"]


def test_a_mirror_with_a_corrupt_index(corpus: Path, shipyard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "mirror"
    (broken / "charts").mkdir(parents=True)
    (broken / "charts" / "index.yaml").write_text("apiVersion: v1\nentries: [\n", encoding="utf-8")
    monkeypatch.setenv("SHIPYARD_MIRROR", str(broken))
    error = shipyard("validate", RELEASE).error
    assert (error["check"], error["file"], error["line"]) == ("SY903", RELEASE, 21)
    assert "is not a valid chart repository or cannot be reached" in error["message"]


def test_a_mirror_without_the_remote_base(corpus: Path, chart_mirror: Path, shipyard, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    """git/ is there but does not hold kubeflow/katib: the fetch fails on
    this machine, never reaching out to github.com."""
    partial = tmp_path / "mirror"
    shutil.copytree(chart_mirror, partial)
    (partial / "git").mkdir()
    monkeypatch.setenv("SHIPYARD_MIRROR", str(partial))
    bad_ref = corpus / "k" / "remote-bad-ref" / "kustomization.yaml"
    bad_ref.write_text(bad_ref.read_text().replace("v0.0.0-does-not-exist", "v0.19.0"), encoding="utf-8")
    error = shipyard("validate", "k/remote-bad-ref", "--no-cache").error
    assert (error["check"], error["file"], error["line"]) == ("SY903", "k/remote-bad-ref/kustomization.yaml", 4)
    assert "?ref=v0.19.0 could not be fetched: git fetch" in error["message"]
    assert "git/<owner>/<repo>.git" in error["hint"]
