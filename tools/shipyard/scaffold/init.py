"""init: make a fork point at itself. The repository URL and branch are
written wherever an engine reads them: shipyard.yaml (`repository.url`,
`repository.branch`), every Argo CD Application source on this repository
(`repoURL`, `targetRevision`; the `ref: values` sources of base/*/argocd
included), every AppProject's `sourceRepos`, and every Flux GitRepository
(`url`, `ref.branch`). One plan, so the fork's first pull request holds all
of it and `validate` (SY404) agrees with itself afterwards.

Files are edited with ruamel.yaml in round-trip mode, one YAML document at
a time: comments, key order and quoting stay, and a document nothing
changes in is kept byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap

from shipyard import git, ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan, Rendered
from shipyard.lifecycle.yaml_edit import dump_round_trip, load_round_trip
from shipyard.load import load_documents, read_text
from shipyard.render.engine import same_repo
from shipyard.repo import CONFIG_FILE, ENGINES, Repository
from shipyard.scaffold.common import branch_slug, what_changes

# The folders whose YAML the engines read (docs/layout.md). tests/ and
# benchmarks/ hold fixture repositories with URLs of their own.
MANIFEST_FOLDERS = ("clusters", "base", "overlays", "models")
ARGO_GROUP = "argoproj.io"
FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io"
# A document separator line, optionally followed by a comment.
_SEPARATOR = re.compile(r"^(---[ \t]*(?:#[^\n]*)?(?:\n|\Z))", re.MULTILINE)


def require_repo_url(url: str) -> None:
    """A URL both engines can clone: https://, http:// or ssh://. Flux's
    GitRepository accepts only these schemes (scp-like `git@host:path`
    fails its schema), and a URL carrying a password would put the
    credential in git."""
    if not url or any(c.isspace() for c in url):
        raise ShipyardError(f"--repo-url {url!r} is not a URL", hint="for example https://github.com/acme/shipyard.git",
                            check=ids.USAGE)
    if re.match(r"^[\w.-]+@[\w.-]+:", url):
        user, _, rest = url.partition("@")
        host, _, path = rest.partition(":")
        raise ShipyardError(f"--repo-url {url!r} is scp-like; Flux's GitRepository accepts only http(s):// and ssh:// URLs",
                            hint=f"write it as ssh://{user}@{host}/{path.lstrip('/')}", check=ids.USAGE)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http", "ssh") or not parts.hostname or parts.path.strip("/") == "":
        raise ShipyardError(f"--repo-url {url!r} is not an https://, http:// or ssh:// URL of a repository",
                            hint="for example https://github.com/acme/shipyard.git or ssh://git@github.com/acme/shipyard.git",
                            check=ids.USAGE)
    if parts.password:
        raise ShipyardError("--repo-url carries a password: it would be committed to every manifest",
                            hint="drop the credential from the URL; give Argo CD and Flux repository credentials "
                            "as Secrets (docs/security.md)", check=ids.USAGE)


@dataclass
class _Edits:
    """What retargeting found in one file: the changes made, for the pull
    request, and what was left alone and why."""

    made: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


class _Retarget:
    """The rewrite of one document: sources on this repository (its old URL
    or, when a fork was half edited by hand, the new one) get the new URL;
    their branch moves when it is the old branch, and stays (with a
    warning) when it is a tag or another branch."""

    def __init__(self, old_urls: list[str], new_url: str, old_branch: str, new_branch: str) -> None:
        self.old_urls, self.new_url = old_urls, new_url
        self.old_branch, self.new_branch = old_branch, new_branch

    def ours(self, url: Any) -> bool:
        return isinstance(url, str) and any(same_repo(url, u) for u in (self.new_url, *self.old_urls))

    def _url(self, node: Any, key: str | int, what: str, edits: _Edits) -> None:
        if node[key] != self.new_url:
            edits.made.append(what)
            node[key] = self.new_url

    def _branch(self, node: Any, key: str, what: str, edits: _Edits) -> None:
        value = node.get(key)
        if value is None or value == self.new_branch:
            return
        if value == self.old_branch:
            edits.made.append(what)
            node[key] = self.new_branch
        else:
            edits.left.append(f"{what} is {value!r}, not the branch {self.old_branch!r}: left as it is")

    def document(self, data: Any, edits: _Edits) -> None:
        if not isinstance(data, dict):
            return
        group = str(data.get("apiVersion", "")).partition("/")[0]
        kind = data.get("kind")
        name = str((data.get("metadata") or {}).get("name", "?")) if isinstance(data.get("metadata"), dict) else "?"
        spec = data.get("spec")
        if not isinstance(spec, dict):
            return
        if group == ARGO_GROUP and kind == "Application":
            sources: list[tuple[Any, str]] = []
            if isinstance(spec.get("source"), dict):
                sources.append((spec["source"], "spec.source"))
            if isinstance(spec.get("sources"), list):
                sources += [(s, f"spec.sources[{i}]") for i, s in enumerate(spec["sources"]) if isinstance(s, dict)]
            for source, where in sources:
                if source.get("chart") or not self.ours(source.get("repoURL")):
                    continue
                self._url(source, "repoURL", f"Application {name} {where}.repoURL", edits)
                self._branch(source, "targetRevision", f"Application {name} {where}.targetRevision", edits)
        elif group == ARGO_GROUP and kind == "AppProject":
            repos = spec.get("sourceRepos")
            for index, value in enumerate(repos if isinstance(repos, list) else []):
                if self.ours(value):
                    self._url(repos, index, f"AppProject {name} spec.sourceRepos[{index}]", edits)
        elif group == FLUX_SOURCE_GROUP and kind == "GitRepository" and self.ours(spec.get("url")):
            self._url(spec, "url", f"GitRepository {name} spec.url", edits)
            ref = spec.get("ref")
            if isinstance(ref, dict):
                self._branch(ref, "branch", f"GitRepository {name} spec.ref.branch", edits)
                pinned = [k for k in ("tag", "semver", "name", "commit") if k in ref]
                if pinned:
                    edits.left.append(f"GitRepository {name} spec.ref pins {pinned[0]} {ref[pinned[0]]!r}: left as it is")


def _retarget_text(text: str, rel: str, retarget: _Retarget, edits: _Edits) -> str:
    """``text`` with every document retargeted; documents without a change
    keep their exact text."""
    parts = _SEPARATOR.split(text)  # [doc, separator, doc, separator, doc, ...]
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 1 or not part.strip():
            out.append(part)
            continue
        before = len(edits.made)
        rt, data = load_round_trip(part, rel)
        retarget.document(data, edits)
        out.append(dump_round_trip(rt, data) if len(edits.made) > before else part)
    return "".join(out)


def _manifest_files(repo: Repository, needles: list[str]) -> list[Path]:
    """The YAML files under the manifest folders that mention either URL
    (without its .git): the only ones that can need an edit."""
    found = []
    for folder in MANIFEST_FOLDERS:
        base = repo.root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in (".yaml", ".yml") or not path.is_file() or any(p.startswith(".") for p in path.relative_to(repo.root).parts):
                continue
            text = read_text(path, repo.rel(path))
            if any(n in text for n in needles):
                found.append(path)
    return found


def _flux_source_urls(repo: Repository) -> list[str]:
    """The URL of every GitRepository flux-system/shipyard: that object
    always names this repository (docs/manifests.md), so its URL is an
    old URL of this repository even where shipyard.yaml was edited first."""
    found: list[str] = []
    for path in sorted((repo.root / "clusters").glob("*/flux/*.y*ml")):
        for body, _line in load_documents(read_text(path, repo.rel(path)), repo.rel(path)):
            meta = body.get("metadata") if isinstance(body, dict) else None
            spec = body.get("spec") if isinstance(body, dict) else None
            if isinstance(meta, dict) and isinstance(spec, dict) and body.get("kind") == "GitRepository" \
                    and str(body.get("apiVersion", "")).startswith(FLUX_SOURCE_GROUP + "/") \
                    and meta.get("name") == "shipyard" and meta.get("namespace") == "flux-system" \
                    and isinstance(spec.get("url"), str):
                found.append(spec["url"])
    return found


def _norm(url: str) -> str:
    url = url.strip().rstrip("/")
    return url.removesuffix(".git")


def _settings_text(repo: Repository, url: str, branch: str, edits: _Edits) -> tuple[Path, str] | None:
    path = repo.root / CONFIG_FILE
    rel = CONFIG_FILE
    text = read_text(path, rel)
    rt, data = load_round_trip(text, rel)
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise ShipyardError("expected a mapping of settings", file=rel, line=1, check=ids.USAGE)
    section = data.get("repository")
    if not isinstance(section, dict):
        section = CommentedMap()
        data["repository"] = section
    if section.get("url") != url:
        edits.made.append("repository.url")
        section["url"] = url
    written = section.get("branch")
    # An absent branch means the default; it is written only when it changes.
    if written != branch and not (written is None and branch == repo.settings.target_branch):
        edits.made.append("repository.branch")
        section["branch"] = branch
    return (path, dump_round_trip(rt, data)) if edits.made else None


def entry_points(repo: Repository) -> list[Path]:
    """Every cluster entry point folder that kustomize can build."""
    base = repo.root / "clusters"
    if not base.is_dir():
        return []
    return [folder for cluster in sorted(base.iterdir()) for engine in ENGINES
            if ((folder := cluster / engine) / "kustomization.yaml").is_file()]


def _verify(url: str) -> Any:
    """After the edit, every rendered GitRepository and Application source
    on a repository (not a chart) must name the new URL: a patch or a file
    the edit could not reach would leave a cluster syncing from the old
    repository, so the change stops and is undone instead."""

    def verify(repo: Repository, rendered: Rendered) -> None:
        for folder, objects in rendered.items():
            for obj in objects:
                group = str(obj.get("apiVersion", "")).partition("/")[0]
                spec: dict[str, Any] = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
                name = (obj.get("metadata") or {}).get("name")
                urls: list[str] = []
                if group == FLUX_SOURCE_GROUP and obj.get("kind") == "GitRepository":
                    urls = [str(spec.get("url", ""))]
                elif group == ARGO_GROUP and obj.get("kind") == "Application":
                    sources: list[Any] = spec["sources"] if isinstance(spec.get("sources"), list) else [spec.get("source")]
                    urls = [str(s.get("repoURL", "")) for s in sources if isinstance(s, dict) and not s.get("chart")]
                for found in urls:
                    if found and not same_repo(found, url):
                        raise ShipyardError(
                            f"{repo.rel(folder)} still renders {obj.get('kind')} {name} on {found} after the edit; "
                            "nothing was changed",
                            hint="a patch or a file outside clusters/, base/, overlays/ and models/ sets it: "
                            "point it at the new URL by hand, commit that, and run init again",
                            check=ids.USAGE)

    return verify


def plan_init(repo: Repository, url: str, branch: str | None = None) -> Plan:
    """The change that points a fork at ``url`` (and ``branch``, default the
    branch shipyard.yaml names) everywhere an engine reads it. Running it
    again when everything already agrees writes nothing."""
    url = url.strip()
    require_repo_url(url)
    old_url, old_branch = repo.repository_url, repo.settings.target_branch
    branch = (branch or old_branch).strip()
    if not branch or not git.valid_branch_name(repo.root, branch):
        raise ShipyardError(f"--branch {branch!r} is not a valid branch name", hint="for example main", check=ids.USAGE)
    old_urls = list(dict.fromkeys(u for u in [old_url, *_flux_source_urls(repo)] if u and not same_repo(u, url)))
    retarget = _Retarget(old_urls, url, old_branch, branch)
    files: dict[Path, str] = {}
    summary: list[str] = []
    left: list[str] = []
    settings_edits = _Edits()
    settings = _settings_text(repo, url, branch, settings_edits)
    if settings is not None:
        files[settings[0]] = settings[1]
        summary.append(f"- `{CONFIG_FILE}`: " + ", ".join(settings_edits.made))
    needles = [n for n in {_norm(u) for u in (*old_urls, url)} if n]
    for path in _manifest_files(repo, needles):
        rel = repo.rel(path)
        text = path.read_text(encoding="utf-8")
        edits = _Edits()
        new = _retarget_text(text, rel, retarget, edits)
        left += [f"{rel}: {note}" for note in edits.left]
        if new != text:
            files[path] = new
            summary.append(f"- `{rel}`: " + ", ".join(edits.made))
        for old in old_urls:
            at = [str(i + 1) for i, line in enumerate(new.splitlines()) if _norm(old) in line.replace(url, "")]
            if at:
                left.append(f"{rel} still mentions {old} (line {', '.join(at)}), "
                            "outside any field init edits: check it by hand")
    before = ", ".join(f"`{u}`" for u in old_urls) or "`(none)`"
    lines = [f"- Repository: {before} → `{url}`" if old_urls else f"- Repository: `{url}`",
             f"- Branch: `{old_branch}` → `{branch}`" if old_branch != branch else f"- Branch: `{branch}`",
             (f"- {len(files)} file(s): the Argo CD Applications and AppProjects on this repository, "
              "the Flux GitRepositories and shipyard.yaml")]
    sections = [what_changes(lines), "## Edits\n\n" + ("\n".join(summary) or "- none")]
    return Plan(action="init", model="", title=f"Point the repository at {url} ({branch})",
                branch=f"init/{branch_slug(urlsplit(url).netloc + urlsplit(url).path.removesuffix('.git'))}",
                files=files, sections=sections, render=entry_points(repo), verify=_verify(url), warnings=left,
                noop=f"the repository already points at {url} ({branch})")
