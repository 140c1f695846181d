"""What the scaffolding commands share: the name rules, the refusal to
overwrite, YAML scalars that stay strings, reading the objects a local
kustomization reaches without running kustomize, and the preview that
`--dry-run` prints."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.yaml_edit import read_or_none
from shipyard.load import load_documents, read_text
from shipyard.repo import Repository

# Kubernetes' DNS-1123 label: a cluster or model name becomes a folder, an
# object name and a label value, so it must be valid as all three.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def require_dns_label(what: str, name: str) -> None:
    """``name`` is a DNS-1123 label, or a usage error saying what one is."""
    if not DNS_LABEL.match(name):
        raise ShipyardError(
            f"{what} name {name!r} is not a DNS-1123 label",
            hint="use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit "
            "(it becomes a folder, an object name and a label value)",
            check=ids.USAGE)


def refuse_existing(repo: Repository, paths: list[Path], *, what: str) -> None:
    """Scaffolding only creates: any of ``paths`` already there (a file, a
    folder, a dangling symlink) stops the command before anything is
    written, naming what is in the way."""
    taken = [repo.rel(p) for p in paths if p.exists() or p.is_symlink()]
    if taken:
        raise ShipyardError(f"{what}: {', '.join(taken)} already exists; nothing was written",
                            hint="pick another name, or remove what is there first (scaffolding never overwrites)",
                            check=ids.USAGE)


def yaml_scalar(value: str, *, in_flow: bool = False) -> str:
    """``value`` as a YAML scalar that reads back as the same string: plain
    when it already does, JSON-quoted otherwise (a name like ``123`` or
    ``on`` would otherwise turn into a number or a boolean). ``in_flow``:
    it goes inside ``{...}`` or ``[...]``, where commas and brackets end it."""
    try:
        plain = bool(value) and yaml.safe_load(value) == value
    except yaml.YAMLError:
        plain = False
    plain = plain and value == value.strip() and "\n" not in value and ": " not in value and " #" not in value \
        and not (in_flow and any(c in value for c in "{}[],")) and value[0] not in "-?:#&*!|>'\"%@`[]{},"
    return value if plain else json.dumps(value)


def branch_slug(text: str) -> str:
    """A branch-name component from free text (a URL, a name)."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    slug = re.sub(r"\.{2,}", ".", slug)
    return slug.removesuffix(".lock")[:60].strip("-.") or "repository"


def _kustomization(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def _remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "git@", "gitlab.com/", "bitbucket.org/")) or "?ref=" in entry


def local_documents(repo: Repository, folder: Path) -> list[dict[str, Any]]:
    """Every object in the local files a kustomization reaches through its
    resources and components, depth first, without running kustomize:
    remote bases are skipped and patches are not applied. Enough to learn
    which namespaces an overlay creates and which charts its releases
    pin, without the network (the real build runs when the change is
    applied)."""
    found: list[dict[str, Any]] = []
    seen: set[Path] = set()

    def walk(path: Path) -> None:
        path = path.resolve()
        if path in seen or not path.is_relative_to(repo.root):
            return
        seen.add(path)
        if path.is_dir():
            file = _kustomization(path)
            if file is None:
                return
            rel = repo.rel(file)
            docs = load_documents(read_text(file, rel), rel)
            data = docs[0][0] if docs and isinstance(docs[0][0], dict) else {}
            for key in ("resources", "bases", "components"):
                entries = data.get(key)
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, str) and not _remote(entry):
                        walk(path / entry)
        elif path.is_file():
            rel = repo.rel(path)
            for body, _line in load_documents(read_text(path, rel), rel):
                if isinstance(body, dict):
                    found.append(body)

    walk(folder)
    return found


def what_changes(lines: list[str]) -> str:
    """The "## What changes" section: its bullet lines become the commit
    message body (lifecycle.pr_body.commit_body)."""
    return "\n".join(["## What changes", "", *lines])


def preview(repo: Repository, plan: Plan) -> str:
    """What `--dry-run` prints: every file the plan would write, a new file
    whole and a changed one as a unified diff, then the warnings. Nothing
    is written."""
    out: list[str] = [f"dry run: {plan.title}", ""]
    changed = 0
    for path, text in plan.files.items():
        rel = repo.rel(path)
        before = read_or_none(path)
        if before == text:
            continue
        changed += 1
        if before is None:
            out.append(f"=== {rel} (new file)")
            out.append(text.rstrip("\n"))
        else:
            out.append(f"=== {rel} (changed)")
            out.extend(line.rstrip("\n") for line in difflib.unified_diff(
                before.splitlines(keepends=True), text.splitlines(keepends=True), f"a/{rel}", f"b/{rel}"))
        out.append("")
    for warning in plan.warnings:
        out.append(f"warning: {warning}")
    out.append(f"{changed} file(s) would be written; nothing was written (--dry-run)" if changed
               else f"{plan.noop}: nothing would be written")
    return "\n".join(out) + "\n"


def preview_dict(repo: Repository, plan: Plan) -> dict[str, Any]:
    """`--dry-run --format json`: the plan's files with their full new text."""
    files = {repo.rel(p): t for p, t in plan.files.items() if read_or_none(p) != t}
    return {"action": plan.action, "title": plan.title, "branch": plan.branch, "files": files,
            "warnings": plan.warnings, "dry_run": True}
