"""Manifests that are bad YAML, or YAML that is not Kubernetes objects.

Each corpus file is validated on its own (`shipyard validate files/X`); the
outcome is exact: exit 2 with one error naming the check, file and line, or
exit 1 with the finding, or exit 0 when there is nothing wrong to report.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.load import MAX_FILE_BYTES, load_file, load_text

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad-input"

# (file, exit code, check id, line, words the message must hold)
CASES = [
    ("malformed-flow.yaml", 2, "SY910", 6, "flow sequence that starts at line 5"),
    ("malformed-indent.yaml", 2, "SY910", 7, "block collection that starts at line 6"),
    ("unterminated-quote.yaml", 2, "SY910", 7, "quoted scalar that starts at line 4"),
    ("mapping-in-scalar.yaml", 2, "SY910", 4, "mapping values are not allowed"),
    ("tabs.yaml", 2, "SY910", 4, "a tab character at column 1: YAML indents with spaces only"),
    ("not-utf8.yaml", 2, "SY910", 4, "not UTF-8 text (byte 0xe9 at line 4)"),
    ("utf16.yaml", 2, "SY910", 1, "UTF-16 text"),
    ("nul-byte.yaml", 2, "SY910", 4, "control characters are not allowed (U+0000 found)"),
    ("python-tag.yaml", 2, "SY910", 6, "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("complex-key.yaml", 2, "SY910", 6, "a mapping key must be a scalar"),
    ("bad-int-tag.yaml", 2, "SY910", 6, "'many' is not a valid !!int"),
    ("alias-bomb.yaml", 2, "SY911", 5, "aliases expand beyond the size limit"),
    ("alias-recursive.yaml", 2, "SY911", 3, "alias refers to a node that contains it"),
    ("deep-201.yaml", 2, "SY911", 6, "YAML nests more than 200 levels deep"),
    ("deep-201.json", 2, "SY911", 1, "YAML nests more than 200 levels deep"),
    ("big-integer.yaml", 2, "SY910", 8, "the integer 999999999999...99999999 has 5,000 digits, beyond the 4,300"),
    ("big-integer.json", 2, "SY910", 1, "the integer 999999999999...99999999 has 5,000 digits, beyond the 4,300"),
    ("duplicate-keys.yaml", 1, "SY103", 8, "duplicate key data.mode (first at line 7)"),
    ("duplicate-keys.json", 1, "SY103", 3, "duplicate key data.mode"),
    ("json-list.json", 1, "SY104", 1, "document is a list"),
    ("scalar-document.yaml", 1, "SY104", 1, "document is a string"),
    ("no-kind.yaml", 1, "SY104", 1, "no apiVersion and no kind"),
    ("empty.yaml", 0, None, None, None),
    ("comments-only.yaml", 0, None, None, None),
    ("separators-only.yaml", 0, None, None, None),
    ("json-as-yaml.yaml", 0, None, None, None),
]


@pytest.mark.parametrize(("name", "code", "check", "line", "words"), CASES, ids=[c[0] for c in CASES])
def test_corpus_file(corpus: Path, shipyard, name: str, code: int, check: str | None, line: int | None,
                     words: str | None) -> None:
    rel = f"files/{name}"
    started = time.perf_counter()
    outcome = shipyard("validate", rel, "--format", "json")
    assert time.perf_counter() - started < 10
    assert outcome.code == code, outcome.err
    if code == 2:
        error = outcome.error
        assert (error["check"], error["file"], error["line"]) == (check, rel, line)
        assert words in error["message"] and error["hint"]
        assert outcome.out == ""  # nothing half-printed before the error
    elif code == 1:
        (finding,) = outcome.findings
        assert (finding["check"], finding["file"], finding["line"]) == (check, rel, line)
        assert words in finding["message"] and finding["hint"]
    else:
        assert outcome.findings == []


def test_every_corpus_file_has_a_case() -> None:
    stored = {p.name for p in (CORPUS / "repo" / "files").iterdir()}
    assert stored == {case[0] for case in CASES}


def test_deep_nesting_past_the_c_stack_is_an_error(corpus: Path, shipyard) -> None:
    """libyaml's composer recurses in C: 100,000 levels would crash the
    process, so nesting is measured first."""
    (corpus / "files" / "deep.yaml").write_text("data: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    error = shipyard("validate", "files/deep.yaml").error
    assert (error["check"], error["file"], error["line"]) == ("SY911", "files/deep.yaml", 1)
    assert "nests more than 200 levels" in error["message"]


def test_a_large_file_loads_in_bounded_time(corpus: Path, shipyard) -> None:
    """5,000 objects (about 3 MB) are validated in seconds."""
    doc = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: default\ndata:\n" + "".join(
        f"  key{j}: value-{j}-{'x' * 40}\n" for j in range(10)
    )
    (corpus / "files" / "large.yaml").write_text("".join(doc.format(i=i) for i in range(5000)), encoding="utf-8")
    started = time.perf_counter()
    outcome = shipyard("validate", "files/large.yaml", "--check", "SY103", "--format", "json")
    assert outcome.code == 0 and outcome.findings == []
    assert time.perf_counter() - started < 20


def test_a_file_beyond_the_size_limit_is_refused_unread(corpus: Path, shipyard) -> None:
    """Sparse, so the test writes nothing: the size is checked before reading."""
    big = corpus / "files" / "huge.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    error = shipyard("validate", "files/huge.yaml").error
    assert (error["check"], error["file"]) == ("SY911", "files/huge.yaml")
    assert "beyond the loader's limit of 64 MiB" in error["message"]


def test_a_named_pipe_is_refused_not_waited_on(corpus: Path, shipyard) -> None:
    import os

    os.mkfifo(corpus / "files" / "pipe.yaml")
    error = shipyard("validate", "files/pipe.yaml").error
    assert (error["check"], error["file"]) == ("SY900", "files/pipe.yaml")
    assert "not a file or a folder" in error["message"]


def test_a_device_is_refused(corpus: Path, shipyard) -> None:
    """Before this was refused, reading /dev/zero ran until memory ran out."""
    error = shipyard("validate", "/dev/zero").error
    assert (error["check"], error["file"]) == ("SY900", "/dev/zero")
    assert error["message"] == "not a file or a folder (a pipe, socket or device cannot be validated)"


def test_a_symlink_to_itself_is_refused(corpus: Path, shipyard) -> None:
    import os

    os.symlink("loop", corpus / "loop")
    error = shipyard("validate", "loop").error
    assert (error["check"], error["file"], error["message"]) == ("SY900", "loop", "a symlink that leads back to itself")


def peak_memory(load) -> int:
    """Peak bytes Python allocated while ``load()`` ran (errors included)."""
    tracemalloc.start()
    try:
        try:
            load()
        except ShipyardError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["alias-bomb.yaml", "alias-recursive.yaml", "empty.yaml", "tabs.yaml"])
def test_refusing_bad_yaml_takes_little_memory(name: str) -> None:
    """The 9**9-node bomb is refused having built a few thousand values;
    a small file is read without reserving the 64 MiB the limit allows."""
    path = CORPUS / "repo" / "files" / name
    assert peak_memory(lambda: load_file(path, name)) < 2 * 2**20


def test_deep_nesting_is_measured_without_building_it() -> None:
    text = "data: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert peak_memory(lambda: load_text(text, "deep.yaml")) < 2 * 2**20


def test_memory_grows_with_the_file_not_faster() -> None:
    doc = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: default\ndata:\n" + "".join(
        f"  key{j}: value-{j}-{'x' * 40}\n" for j in range(10)
    )
    text = "".join(doc.format(i=i) for i in range(5000))
    assert peak_memory(lambda: load_text(text, "large.yaml")) < 32 * len(text)
