"""Kustomizations checked before kustomize runs, and kustomize's failures explained.

kustomize reports a broken input as one long chain of nested errors that
names folders rather than files, never gives a line, and (built through the
wrapper kustomization that adds origin annotations) starts with frames the
user never wrote. The common mistakes are found here first, each with the
file and line of the entry at fault:

- a kustomization file that does not parse, or is empty or not a mapping;
- a local reference to a file or folder that does not exist, or to a folder
  without a kustomization file;
- a file outside its kustomization's folder (kustomize's default load
  restrictor refuses it; folders outside are allowed, and SY408 judges them);
- a cycle: a base that is, or contains, a kustomization on the path that
  led to it (kustomize's own rule; ``resources: [..]`` is one).

Whatever kustomize still refuses is cut down by ``explain`` to its innermost
cause, attributed to the kustomization file and entry it arose in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import RenderError, ShipyardError
from shipyard.files import line_of_entry
from shipyard.render.deps import is_remote, resolve
from shipyard.render.kustomize import kustomization_file

MAX_VISITS = 5_000
"""Kustomization folders visited before giving up the walk (kustomize then
judges the rest): a tree that shares bases is walked once per path to them."""

_FOLDER_FIELDS = ("resources", "bases", "components", "transformers", "generators", "validators")
_FILE_FIELDS = ("crds", "configurations", "patchesStrategicMerge")


@dataclass(frozen=True)
class _Ref:
    field: str  # "resources", "patches[].path", ...
    value: str
    may_be_folder: bool


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _refs(data: dict[str, Any]) -> list[_Ref]:
    """Local references of one kustomization, in the order written. Inline
    entries (a patch or a transformer written out as YAML) are not paths."""
    out: list[_Ref] = []
    for key in _FOLDER_FIELDS + _FILE_FIELDS:
        for item in _items(data.get(key)):
            if isinstance(item, str) and "\n" not in item and item.strip():
                out.append(_Ref(key, item.strip(), key in _FOLDER_FIELDS))
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in _items(data.get(key)):
            if isinstance(item, dict) and isinstance(item.get("path"), str) and item["path"].strip():
                out.append(_Ref(f"{key}[].path", item["path"].strip(), False))
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in _items(data.get(key)):
            if not isinstance(gen, dict):
                continue
            single = [gen["env"]] if isinstance(gen.get("env"), str) else []
            for field, entries in (("files", _items(gen.get("files"))), ("envs", _items(gen.get("envs")) + single)):
                for entry in entries:
                    if isinstance(entry, str) and entry.strip():
                        out.append(_Ref(f"{key}[].{field}", entry.split("=", 1)[-1].strip(), False))
    return [ref for ref in out if not is_remote(ref.value)]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read(kfile: Path, root: Path, label: str) -> dict[str, Any]:
    from shipyard.load import load_documents, read_text  # late: the loader is heavy to import

    rel = _rel(kfile, root)
    text = read_text(kfile, rel)
    docs = load_documents(text, rel)
    if not docs:
        raise RenderError(f"kustomize build {label}: the kustomization file is empty", file=rel, line=1,
                          hint="list its resources (or remove the folder and the references to it)", check="SY903")
    body, line = docs[0]
    if not isinstance(body, dict):
        raise RenderError(f"kustomize build {label}: a kustomization is a mapping (resources:, patches:, ...)",
                          file=rel, line=line, hint="see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/",
                          check="SY903")
    return body


def check_tree(path: Path, root: Path, *, label: str) -> None:
    """Raise a ShipyardError (file, line, what to do) for the first mistake
    in the kustomization at ``path`` or any local base it reaches."""
    root = root.resolve()
    visits = 0
    # (folder, chain of folders that led to it)
    pending: list[tuple[Path, tuple[Path, ...]]] = [(path.resolve(), ())]
    while pending:
        folder, chain = pending.pop()
        visits += 1
        if visits > MAX_VISITS:
            return
        kfile = kustomization_file(folder)
        if kfile is None:
            return  # the top folder is checked by kustomize.build; sub-folders before they are queued
        data = _read(kfile, root, label)
        here = chain + (folder,)
        rel = _rel(kfile, root)
        for ref in _refs(data):
            target = resolve(folder / ref.value)
            line = line_of_entry(kfile, ref.value)
            if target is None:
                raise RenderError(
                    f"kustomize build {label}: {ref.field} entry {ref.value!r} cannot be resolved "
                    "(a symlink that leads back to itself, or a character no path may hold)",
                    file=rel, line=line, check="SY401", hint="fix the path or the symlink it goes through",
                )
            if not target.exists():
                raise RenderError(
                    f"kustomize build {label}: {ref.field} entry {ref.value!r} does not exist",
                    file=rel, line=line, check="SY401",
                    hint="fix the path (relative to the kustomization's folder), or add what it names",
                )
            if target.is_dir():
                if not ref.may_be_folder:
                    raise RenderError(f"kustomize build {label}: {ref.field} entry {ref.value!r} is a folder, not a file",
                                      file=rel, line=line, check="SY903", hint="name the file inside it")
                loop = next((seen for seen in here if seen == target or seen.is_relative_to(target)), None)
                if loop is not None:
                    cycle = " -> ".join(_rel(p, root) for p in here[here.index(loop):]) + f" -> {_rel(target, root)}"
                    what = "is" if loop == target else "contains"
                    raise RenderError(
                        f"kustomize build {label}: {ref.field} entry {ref.value!r} {what} a kustomization already "
                        f"being built, a cycle ({cycle})",
                        file=rel, line=line, check="SY903",
                        hint="a base must not include (or be a parent folder of) a kustomization that uses it: "
                        "move the shared part into its own folder",
                    )
                if kustomization_file(target) is None:
                    raise RenderError(
                        f"kustomize build {label}: {ref.field} entry {ref.value!r} is a folder without a kustomization.yaml",
                        file=rel, line=line, check="SY401",
                        hint="add a kustomization.yaml there listing its files, or name the files themselves",
                    )
                pending.append((target, here))
            elif not target.is_relative_to(folder):
                raise RenderError(
                    f"kustomize build {label}: {ref.field} entry {ref.value!r} is a file outside the kustomization's "
                    f"folder ({_rel(folder, root)}/), which kustomize refuses to read",
                    file=rel, line=line, check="SY903",
                    hint="move the file into the folder, or reference the folder holding it (with its own kustomization.yaml)",
                )


# --------------------------------------------------------------------------
# kustomize's own failures.

_FRAME = re.compile(
    r"accumulating resources from '(?P<ref>[^']*)'"
    r"|(?P<kind>recursed accumulation of path|couldn't make target for path|recursed merging from path) '(?P<dir>[^']*)'"
)
_PATCH_KEYS = ("patches:", "patchesStrategicMerge:", "patchesJson6902:")
_UNKNOWN_FIELD = re.compile(r'unknown field "([^"]+)"')
_GIT = re.compile(r"failed to run '(?:\S*/)?(git [^']*)': (.*)", re.DOTALL)


def explain(error: ShipyardError, path: Path, root: Path, *, label: str, mirror: bool) -> ShipyardError:
    """``error`` from ``kustomize build`` reduced to its innermost cause, with
    the kustomization file (and entry line) where it arose."""
    if not isinstance(error, RenderError):
        return error
    if "accumulat" not in error.message and "couldn't make target" not in error.message:
        return error
    message = error.message
    root = root.resolve()
    current = path.resolve()
    ref: str | None = None
    end = 0
    for match in _FRAME.finditer(message):
        end = match.end()
        if match.group("ref") is not None:
            ref = match.group("ref")
        elif match.group("kind") == "recursed merging from path":
            pass  # the failure is in merging ``ref`` into ``current``
        else:
            current = Path(match.group("dir"))
            ref = None
    if end == 0:
        return error
    cause = message[end:].lstrip("': ").strip()
    hint = error.hint
    git = _GIT.search(cause)
    if ref is not None and is_remote(ref) and git:
        cause = f"remote base {ref} could not be fetched: {git.group(1)}: {' '.join(git.group(2).split())}"
        hint = ("the mirror (SHIPYARD_MIRROR) must hold that repository, with that tag, under git/<owner>/<repo>.git"
                if mirror else "remote bases need network access; air-gapped? set SHIPYARD_MIRROR to a mirror folder")
    cause = re.sub(r"\s*:\s*exit status (\d+)\s*$", r" (exit status \1)", cause.replace(str(root) + "/", ""))
    kfile = kustomization_file(current) if current.is_dir() else None
    file = _rel(kfile, root) if kfile else error.file
    line = line_of_entry(kfile, ref, last=True) if kfile and ref else None
    unknown = _UNKNOWN_FIELD.search(cause)
    if kfile and line is None and unknown:
        line = line_of_entry(kfile, unknown.group(1) + ":")
    if kfile and line is None and "patch" in cause:
        line = next(filter(None, (line_of_entry(kfile, key) for key in _PATCH_KEYS)), None)
    return RenderError(f"kustomize build {label} failed: {cause}", file=file, line=line, check=error.check,
                       hint=hint or "fix that kustomization; `kubectl kustomize` on its folder shows kustomize's full message")
