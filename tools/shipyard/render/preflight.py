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
from typing import Any, Callable

from shipyard.errors import RenderError, ShipyardError
from shipyard.findings import Finding
from shipyard.files import line_of_entry
from shipyard.objects import JsonPath
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
    checked: set[Path] = set()  # input files read already (bases shared by several paths)
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
        refs = _refs(data)
        for ref in refs:
            target = resolve(folder / ref.value)
            if target is None:
                raise RenderError(
                    f"kustomize build {label}: {ref.field} entry {ref.value!r} cannot be resolved "
                    "(a symlink that leads back to itself, or a character no path may hold)",
                    file=rel, line=line_of_entry(kfile, ref.value), check="SY401", hint="fix the path or the symlink it goes through",
                )
            if not target.exists():
                raise RenderError(
                    f"kustomize build {label}: {ref.field} entry {ref.value!r} does not exist",
                    file=rel, line=line_of_entry(kfile, ref.value), check="SY401",
                    hint="fix the path (relative to the kustomization's folder), or add what it names",
                )
            if target.is_dir():
                if not ref.may_be_folder:
                    raise RenderError(f"kustomize build {label}: {ref.field} entry {ref.value!r} is a folder, not a file",
                                      file=rel, line=line_of_entry(kfile, ref.value), check="SY903", hint="name the file inside it")
                loop = next((seen for seen in here if seen == target or seen.is_relative_to(target)), None)
                if loop is not None:
                    cycle = " -> ".join(_rel(p, root) for p in here[here.index(loop):]) + f" -> {_rel(target, root)}"
                    what = "is" if loop == target else "contains"
                    raise RenderError(
                        f"kustomize build {label}: {ref.field} entry {ref.value!r} {what} a kustomization already "
                        f"being built, a cycle ({cycle})",
                        file=rel, line=line_of_entry(kfile, ref.value), check="SY903",
                        hint="a base must not include (or be a parent folder of) a kustomization that uses it: "
                        "move the shared part into its own folder",
                    )
                if kustomization_file(target) is None:
                    raise RenderError(
                        f"kustomize build {label}: {ref.field} entry {ref.value!r} is a folder without a kustomization.yaml",
                        file=rel, line=line_of_entry(kfile, ref.value), check="SY401",
                        hint="add a kustomization.yaml there listing its files, or name the files themselves",
                    )
                pending.append((target, here))
            elif not target.is_relative_to(folder):
                raise RenderError(
                    f"kustomize build {label}: {ref.field} entry {ref.value!r} is a file outside the kustomization's "
                    f"folder ({_rel(folder, root)}/), which kustomize refuses to read",
                    file=rel, line=line_of_entry(kfile, ref.value), check="SY903",
                    hint="move the file into the folder, or reference the folder holding it (with its own kustomization.yaml)",
                )
        check_inputs(kfile, folder, data, root, refs, checked, label=label)


# --------------------------------------------------------------------------
# Every input kustomize reads, through the bounded loader first.
#
# kustomize parses YAML without limits: an alias bomb in a resource or an
# inline patch took 10 GB in 45 s. So every local file it will read, and
# every YAML text written inline in a kustomization, is read here by the
# loader first, which refuses what it cannot bound (aliases, nesting, files
# over its size limit, integers Python cannot convert; SY911 or SY910 with
# the file and line). Generator files are data, not YAML: kustomize copies
# them into a ConfigMap or Secret as they are, so only their type and size
# are checked (a named pipe would block kustomize, a huge file fill memory).

_RAW_FIELDS = ("configMapGenerator[].files", "configMapGenerator[].envs", "secretGenerator[].files",
               "secretGenerator[].envs")
# Files kustomize v5.7.1 refuses to load when a key repeats (yaml.v3: "mapping
# key already defined"; measured with kubectl kustomize). Patches are not
# among them: kustomize keeps one of the values there (duplicate_keys below).
_REFUSES_DUPLICATES = ("resources", "configurations", "transformers", "generators", "validators")
_INLINE_FIELDS = ("patchesStrategicMerge", "transformers", "generators", "validators")
_BLOCK_SCALAR = re.compile(r"[|>][1-9+-]*[ \t]*(?:#.*)?$")


def check_inputs(kfile: Path, folder: Path, data: dict[str, Any], root: Path, refs: list[_Ref],
                 checked: set[Path], *, label: str = "") -> None:
    """Raise the loader's error for the first input of this kustomization
    that the loader refuses: a local file it names (``refs``, already
    checked to exist and to stay in its folder, plus ``openapi.path`` and
    helm values files), or an inline patch or transformer. Folders are
    kustomizations of their own, walked by ``check_tree``. ``checked``
    holds the files read already, so shared bases cost one read.

    A repeated key in a file kustomize refuses for it (a resource, a
    transformer configuration) is raised as SY103 at that file and line:
    kustomize's own message names neither (it blames the kustomization
    being built, at a line of its own making)."""
    files = [(ref.field, ref.value) for ref in refs] + _more_files(data)
    for field, value in files:
        target = resolve(folder / value)
        if target is None or target in checked or not _names_a_file(target):
            continue  # check_tree reports what cannot be resolved; folders are walked
        checked.add(target)
        rel = _rel(target, root)
        duplicate = _check_input_file(target, rel, raw=field in _RAW_FIELDS)
        if duplicate is not None and field in _REFUSES_DUPLICATES:
            from shipyard.load import format_path

            key_path, line, first = duplicate
            build = f"kustomize build {label}: " if label else ""
            raise RenderError(
                f"{build}duplicate key {format_path(key_path)} (first at line {first}) in {rel}, named in {field} of "
                f"{_rel(kfile, root)}: kustomize refuses to load a file with a repeated key",
                file=rel, line=line, check="SY103", hint="remove one of the two keys")
    for field_path, text in _inline_texts(data):
        _check_inline(kfile, _rel(kfile, root), field_path, text)


def _names_a_file(path: Path) -> bool:
    """Whether ``path`` is anything but a folder (a named pipe or a device
    included, which the loader refuses by name); False when it cannot be
    looked at, or does not exist: check_tree and kustomize report that."""
    try:
        return path.exists() and not path.is_dir()
    except (OSError, ValueError):
        return False


def _more_files(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Local YAML files kustomize reads that ``_refs`` does not list (they
    are never folders): the OpenAPI schema and helm values files."""
    out: list[tuple[str, str]] = []
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str) and openapi["path"].strip():
        out.append(("openapi.path", openapi["path"].strip()))
    for chart in _items(data.get("helmCharts")):
        if isinstance(chart, dict):
            values = [chart.get("valuesFile")] + _items(chart.get("additionalValuesFiles"))
            out += [("helmCharts[].valuesFile", v.strip()) for v in values if isinstance(v, str) and v.strip()]
    return [(field, value) for field, value in out if not is_remote(value)]


def _check_input_file(file: Path, rel: str, *, raw: bool) -> tuple[JsonPath, int, int] | None:
    """A file kustomize reads: within the loader's limits, and (unless it is
    generator data) YAML the loader accepts. Returns its first repeated
    key (path, line, line of the first one), if any."""
    from shipyard.load import _documents, file_size, read_text  # late: the loader is heavy to import

    if raw:
        file_size(file, rel)
        return None
    for document in _documents(read_text(file, rel), rel):
        if document.duplicates:
            return document.duplicates[0]
    return None


def _inline_texts(data: dict[str, Any]) -> list[tuple[JsonPath, str]]:
    """YAML written inline in a kustomization, with the path of its field:
    ``patches[].patch``, ``patchesJson6902[].patch``, and entries of
    ``patchesStrategicMerge`` or the plugin lists that are YAML rather than
    a path (several lines)."""
    out: list[tuple[JsonPath, str]] = []
    for key in ("patches", "patchesJson6902"):
        for index, item in enumerate(_items(data.get(key))):
            if isinstance(item, dict) and isinstance(item.get("patch"), str):
                out.append(((key, index, "patch"), item["patch"]))
    for key in _INLINE_FIELDS:
        for index, item in enumerate(_items(data.get(key))):
            if isinstance(item, str) and "\n" in item.strip():
                out.append(((key, index), item))
    return out


def _check_inline(kfile: Path, rel: str, field_path: JsonPath, text: str) -> None:
    """The loader's verdict on one inline text, placed in the kustomization:
    the field is named, and the line is the file's (a block scalar keeps the
    text's lines from the line after its entry)."""
    from shipyard.load import format_path, load_documents  # late: the loader is heavy to import

    field = format_path(field_path)
    try:
        load_documents(text, f"{rel} {field}")
    except ShipyardError as exc:
        entry_line = _field_line(kfile, rel, field_path) or 0
        offset = entry_line if entry_line and _block_scalar_at(kfile, entry_line) else 0
        message = exc.message.replace("at the end of the file", f"at the end of {field}")
        if offset:  # the loader's lines are the text's: make them the file's
            message = re.sub(r"(?<=starts at line )(\d+)", lambda m: str(offset + int(m[1])), message)
        line = offset + exc.line if offset and exc.line else entry_line or exc.line
        raise ShipyardError(f"{field}: {message}", file=rel, line=line, check=exc.check, hint=exc.hint) from None


def _field_line(kfile: Path, rel: str, field_path: JsonPath) -> int | None:
    """The line of a field of the kustomization file (read again: this is
    the error path only)."""
    from shipyard.load import load_documents_located, read_text

    try:
        documents = load_documents_located(read_text(kfile, rel), rel)
    except ShipyardError:
        return None
    return documents[0].line_of(field_path) if documents else None


def _block_scalar_at(kfile: Path, line: int) -> bool:
    """Whether the entry at ``line`` opens a block scalar (``patch: |``)."""
    try:
        written = kfile.read_text(encoding="utf-8").splitlines()[line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return False
    return _BLOCK_SCALAR.search(written) is not None


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


# --------------------------------------------------------------------------
# Duplicate keys: values kustomize drops without a word.
#
# kustomize reads a kustomization file and a JSON 6902 patch keeping the
# last of two equal keys (`resources:` written twice builds only the second
# list; two `path:` in one op apply it to the second path), and a
# strategic-merge patch keeping the first (kustomize v5.7.1, measured by
# tests/hardening/test_bad_kustomizations.py). Either way it builds and says
# nothing. These are findings (SY103), as for manifests: what kustomize
# builds is well defined, so the render goes on and its objects are checked,
# and each finding says which of the values was used.

_BLOCK_LITERAL = re.compile(r"(?:^|[\s:])\|[1-9]?[-+]?[1-9]?\s*(?:#.*)?$")
_HINT = ("keep one of the keys: kustomize keeps the last value of a key in a kustomization file or a JSON patch, "
         "the first in a strategic-merge patch, and drops the others silently")

LineMap = Callable[[int], int]
"""A line of a parsed text -> the line of the file a person edits."""


def _same_line(line: int) -> int:
    """The LineMap of a text that is the whole file."""
    return line


@dataclass(frozen=True)
class _Parsed:
    """One document, with the duplicate keys the loader saw while reading it:
    (path of the key, its line, line of the first one), lines of the text."""

    body: Any
    duplicates: list[tuple[JsonPath, int, int]]
    line_of: Callable[[JsonPath], int | None]


def _parse(text: str, rel: str) -> list[_Parsed] | None:
    """The non-empty documents of ``text``, or None when it is not valid
    YAML (check_tree and kustomize report that, with their own message).

    ``load_documents``, the loader's public reader of plain YAML, keeps the
    values kustomize would keep and drops what it noticed about duplicates;
    its document records hold them, so they are read from there."""
    from shipyard.load import _documents  # late: the loader is heavy to import

    try:
        documents = _documents(text, rel)
    except ShipyardError:
        return None
    return [_Parsed(d.body, d.duplicates, d.lines) for d in documents if d.body is not None]


def _parse_file(file: Path, rel: str) -> list[_Parsed] | None:
    from shipyard.load import read_text

    try:
        text = read_text(file, rel)
    except ShipyardError:
        return None
    return _parse(text, rel)


@dataclass(frozen=True)
class _Patch:
    """One patch a kustomization names, inline (``text``) or in its own file."""

    entry: str  # "patches[1]", "patchesStrategicMerge[0]", ...
    json6902: bool | None  # None: decided by its content, as kustomize does (a list of operations is a JSON patch)
    text: str | None = None
    lines: LineMap = _same_line  # for inline text: its lines -> the kustomization's
    file: Path | None = None


def duplicate_keys(path: Path, root: Path, *, target: str = "") -> list[Finding]:
    """SY103 findings for the duplicate keys of the kustomization at ``path``
    and of every local base and component it reaches, in the kustomization
    files and in their patches (inline or in a file of their own), found
    before kustomize runs. Never raises: what cannot be read is left to
    ``check_tree`` and kustomize, which report it as the error it is."""
    root = root.resolve()
    findings: list[Finding] = []
    pending = [start] if (start := resolve(path)) is not None else []
    seen: set[Path] = set()
    while pending and len(seen) < MAX_VISITS:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.add(folder)
        kfile = kustomization_file(folder) if _is(Path.is_dir, folder) else None
        if kfile is None:
            continue
        rel = _rel(kfile, root)
        parsed = _parse_file(kfile, rel)
        if not parsed or not isinstance(parsed[0].body, dict):
            continue
        kustomization = parsed[0]
        findings += _duplicate_findings(kustomization.duplicates, rel, target, where="", keeps_first=False,
                                        lines=_same_line)
        for patch in _patches(kustomization, kfile):
            findings += _patch_duplicates(patch, folder, root, rel, target)
        for ref in _refs(kustomization.body):
            sub = resolve(folder / ref.value) if ref.may_be_folder else None
            if sub is not None and _is(Path.is_dir, sub):
                pending.append(sub)
    return findings


def _is(test: Callable[[Path], bool], path: Path) -> bool:
    """``test(path)``, False when the path cannot even be looked at (a name
    too long for the file system): check_tree and kustomize report that."""
    try:
        return test(path)
    except (OSError, ValueError):
        return False


def _duplicate_findings(duplicates: list[tuple[JsonPath, int, int]], rel: str, target: str, *, where: str,
                        keeps_first: bool, lines: LineMap) -> list[Finding]:
    """One finding per repeated key, at its line, saying which occurrence
    kustomize uses: the first (strategic-merge patches) or the last."""
    from shipyard.load import format_path

    last: dict[tuple[JsonPath, int], int] = {}
    for key_path, line, first in duplicates:
        last[(key_path, first)] = max(line, last.get((key_path, first), 0))
    findings = []
    for key_path, line, first in duplicates:
        used = "applies the first one and ignores this one" if keeps_first else \
            f"keeps the last one (line {lines(last[(key_path, first)])}) and ignores the others"
        findings.append(Finding(
            "SY103", f"duplicate key {format_path(key_path)}{where} (first at line {lines(first)}): kustomize {used}",
            file=rel, line=lines(line), hint=_HINT, target=target))
    return findings


def _patches(kustomization: _Parsed, kfile: Path) -> list[_Patch]:
    """Every patch a kustomization names, inline or by file, in the order written."""
    body: dict[str, Any] = kustomization.body
    out: list[_Patch] = []
    for field in ("patches", "patchesJson6902"):
        kind = True if field == "patchesJson6902" else None
        for index, item in enumerate(_items(body.get(field))):
            if not isinstance(item, dict):
                continue
            entry = f"{field}[{index}]"
            if isinstance(item.get("patch"), str):
                lines = _inline_lines(kustomization, kfile, (field, index, "patch"))
                out.append(_Patch(entry, kind, text=item["patch"], lines=lines))
            elif isinstance(item.get("path"), str) and item["path"].strip() and not is_remote(item["path"]):
                out.append(_Patch(entry, kind, file=Path(item["path"].strip())))
    for index, item in enumerate(_items(body.get("patchesStrategicMerge"))):
        if not isinstance(item, str) or not item.strip():
            continue
        entry = f"patchesStrategicMerge[{index}]"
        if "\n" in item.strip():
            lines = _inline_lines(kustomization, kfile, ("patchesStrategicMerge", index))
            out.append(_Patch(entry, False, text=item, lines=lines))
        elif not is_remote(item):
            out.append(_Patch(entry, False, file=Path(item.strip())))
    return out


def _inline_lines(kustomization: _Parsed, kfile: Path, field_path: JsonPath) -> LineMap:
    """Where the lines of an inline patch are in the kustomization: a
    literal block (``patch: |``) starts on the line after its entry and
    keeps the file's lines; any other form is placed at its entry's line."""
    entry_line = kustomization.line_of(field_path) or 0
    try:
        written = kfile.read_text(encoding="utf-8").splitlines()[entry_line - 1] if entry_line else ""
    except (OSError, UnicodeDecodeError, IndexError):
        written = ""
    if _BLOCK_LITERAL.search(written):
        return lambda line: entry_line + line
    return lambda _line: entry_line


def _patch_duplicates(patch: _Patch, folder: Path, root: Path, kfile_rel: str, target: str) -> list[Finding]:
    """Duplicate keys inside one patch, at the line a person edits: the
    patch file's own, or the kustomization's for an inline patch."""
    lines: LineMap
    if patch.file is not None:
        file = resolve(folder / patch.file)
        if file is None or not _is(Path.is_file, file):
            return []  # check_tree reports it
        rel, lines, named = _rel(file, root), _same_line, f"{patch.entry} in {kfile_rel}"
        documents = _parse_file(file, rel)
    else:
        rel, lines, named = kfile_rel, patch.lines, patch.entry
        documents = _parse(patch.text or "", f"{kfile_rel} {patch.entry}")
    out: list[Finding] = []
    for document in documents or []:
        json6902 = patch.json6902 if patch.json6902 is not None else isinstance(document.body, list)
        kind = "JSON patch" if json6902 else "strategic-merge patch"
        out += _duplicate_findings(document.duplicates, rel, target, where=f" in the {kind} of {named}",
                                   keeps_first=not json6902, lines=lines)
    return out
