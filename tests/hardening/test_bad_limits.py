"""Limits that hold for every input, and inputs that used to end in exit 3.

Each case is refused fast, with one error naming the file and line (exit
2), or reported as a finding (exit 1): aliases that repeat a large scalar,
files over the size limit or not files at all wherever kustomize would read
them, a tool that runs out of its memory limit, integers Python cannot
convert, dates that do not exist, metrics that are not numbers a gate can
compare, and a ``--wait`` that is not a time. Inputs too large to keep in
git are written by the tests (sparse where they are big).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.load import MAX_FILE_BYTES, load_located, load_text
from shipyard.render.run import run_process

LIFECYCLE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "lifecycle"
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (and no time) to write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def aliased_scalar(copies: int, size: int = 2**20) -> str:
    """A ConfigMap whose one large string is repeated through ``copies`` aliases."""
    return (CONFIGMAP.format(name="copies") + f'data:\n  big: &big "{"x" * size}"\n'
            + "".join(f"  copy{i}: *big\n" for i in range(copies)))


# --------------------------------------------------------------------------
# Aliases are counted by what they expand to, not by how many there are.


def test_a_large_scalar_repeated_by_aliases_is_refused_fast(corpus: Path, shipyard) -> None:
    """1 MB x 800 aliases passed the old budget (it counted values) and then
    cost 45 s in the credential scan."""
    write(corpus / "files" / "copies.yaml", aliased_scalar(800))
    started = time.perf_counter()
    error = shipyard("validate", "files/copies.yaml").error
    assert time.perf_counter() - started < 5
    assert (error["check"], error["file"], error["line"]) == ("SY911", "files/copies.yaml", 7)
    assert error["message"] == "YAML aliases expand beyond the size limit (an alias bomb, or an alias inside itself)"


def test_refusing_repeated_scalars_builds_nothing_large() -> None:
    text = aliased_scalar(800)
    tracemalloc.start()
    try:
        with pytest.raises(Exception, match="aliases expand beyond the size limit"):
            load_text(text, "copies.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(text)


def test_aliases_that_expand_to_less_than_the_text_still_load() -> None:
    """Anchors used as they are meant (shared labels, a repeated value) are
    far inside the budget."""
    body = (CONFIGMAP.format(name="shared") + "  labels: &labels {app: web, tier: front}\ndata:\n"
            + "".join(f"  key{i}: &v{i} value-{i}\n  copy{i}: *v{i}\n" for i in range(2000)))
    (obj,) = load_text(body, "shared.yaml").objects
    assert obj.body["data"]["copy1999"] == "value-1999"


def test_a_kustomize_resource_repeating_a_large_scalar_is_refused_before_kustomize(corpus: Path, shipyard) -> None:
    write(corpus / "k" / "copies" / "kustomization.yaml", KUSTOMIZATION + "resources:\n- configmap.yaml\n")
    write(corpus / "k" / "copies" / "configmap.yaml", aliased_scalar(800))
    started = time.perf_counter()
    error = shipyard("validate", "k/copies", "--no-cache").error
    assert time.perf_counter() - started < 5
    assert (error["check"], error["file"], error["line"]) == ("SY911", "k/copies/configmap.yaml", 7)


# --------------------------------------------------------------------------
# Every file kustomize reads: within the size limit, and a file.


@pytest.mark.parametrize(("field", "entry"), [
    ("resources", "- big.yaml"),
    ("configMapGenerator", "- name: data\n  files:\n  - big.yaml"),
])
def test_a_kustomize_input_over_the_size_limit_is_refused_unread(corpus: Path, shipyard, field: str,
                                                                 entry: str) -> None:
    """Sparse: neither the render cache's digest nor the preflight reads it."""
    folder = corpus / "k" / "huge"
    write(folder / "kustomization.yaml", KUSTOMIZATION + f"{field}:\n{entry}\n")
    sparse(folder / "big.yaml", MAX_FILE_BYTES + 1)
    started = time.perf_counter()
    error = shipyard("validate", "k/huge").error
    assert time.perf_counter() - started < 5
    assert (error["check"], error["file"]) == ("SY911", "k/huge/big.yaml")
    assert error["message"] == "file is 64 MiB, beyond the loader's limit of 64 MiB"


@pytest.mark.parametrize(("field", "entry"), [
    ("resources", "- pipe.yaml"),
    ("configMapGenerator", "- name: data\n  files:\n  - pipe.yaml"),
])
def test_a_named_pipe_kustomize_would_read_is_refused_not_waited_on(corpus: Path, shipyard, field: str,
                                                                    entry: str) -> None:
    folder = corpus / "k" / "pipe"
    write(folder / "kustomization.yaml", KUSTOMIZATION + f"{field}:\n{entry}\n")
    os.mkfifo(folder / "pipe.yaml")
    started = time.perf_counter()
    error = shipyard("validate", "k/pipe", "--no-cache").error
    assert time.perf_counter() - started < 5
    assert (error["check"], error["file"]) == ("SY900", "k/pipe/pipe.yaml")
    assert error["message"] == "not a regular file (a named pipe): only regular files are read"


def test_generator_files_are_data_not_yaml(corpus: Path, shipyard) -> None:
    """kustomize copies them as they are: text that is not YAML is fine."""
    folder = corpus / "k" / "generated"
    write(folder / "kustomization.yaml", KUSTOMIZATION + "configMapGenerator:\n- name: data\n  namespace: default\n"
          "  files:\n  - script.sh\n")
    write(folder / "script.sh", "#!/bin/sh\necho 'a: b: c' [unclosed\n")
    assert shipyard("validate", "k/generated", "--no-cache").code == 0


# --------------------------------------------------------------------------
# The memory limit of kustomize and helm.


def fake_kubectl(folder: Path, allocate_mb: int) -> Path:
    """kubectl that answers its version, then allocates ``allocate_mb`` MiB
    (address space only: nothing is written to it) in kustomize."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kubectl"
    path.write_text(f'''#!/bin/sh
case "$1" in
  version) echo "Kustomize Version: v5.7.1" ;;
  *) exec {sys.executable} -c "chunks = [bytearray(2**20 * 16) for _ in range({allocate_mb // 16})]" ;;
esac
''', encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def fake_helm(folder: Path) -> Path:
    """helm that answers its version only (Go's runtime reserves more than
    the small limit of the test just to start)."""
    path = folder / "helm"
    path.write_text('#!/bin/sh\necho "v3.19.0"\n', encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory limit is set on Linux only")
def test_a_tool_past_its_memory_limit_is_stopped_with_a_clear_error(corpus: Path, shipyard, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    fresh_binaries: None) -> None:
    monkeypatch.setenv("SHIPYARD_KUBECTL", str(fake_kubectl(tmp_path / "fake", allocate_mb=2048)))
    monkeypatch.setenv("SHIPYARD_HELM", str(fake_helm(tmp_path / "fake")))  # the real one needs more to start
    monkeypatch.setenv("SHIPYARD_TOOL_MEMORY_MB", "300")
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert (error["check"], error["file"]) == ("SY903", "k/shared")
    assert error["message"] == ("kustomize build k/shared: kubectl ran out of memory at its limit of 300 MiB "
                                "(the limit set by SHIPYARD_TOOL_MEMORY_MB); it was stopped")
    assert "SHIPYARD_TOOL_MEMORY_MB" in error["hint"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory limit is set on Linux only")
def test_every_tool_runs_under_the_memory_limit() -> None:
    probe = [sys.executable, "-c", "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"]
    assert run_process(probe, timeout=30, memory_mb=1234).stdout.strip() == str(1234 * 2**20)
    assert run_process(probe, timeout=30).stdout.strip() == str(4096 * 2**20)


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5", "inf", "nan"])
def test_a_bad_memory_limit_is_refused(corpus: Path, shipyard, monkeypatch: pytest.MonkeyPatch, fresh_binaries: None,
                                       value: str) -> None:
    monkeypatch.setenv("SHIPYARD_TOOL_MEMORY_MB", value)
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY900"
    assert error["message"] == f"SHIPYARD_TOOL_MEMORY_MB={value!r} is not a positive whole number of MiB"


# --------------------------------------------------------------------------
# Nesting: one limit for YAML and JSON, below the schema validator's own.


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_nesting_that_stopped_the_schema_check_is_refused(corpus: Path, shipyard, suffix: str) -> None:
    """300 levels loaded (the limit was only enforced past 10,000 levels of
    text) and then stopped jsonschema_rs: "internal error: ValueError:
    Recursion limit reached"."""
    nested = "[" * 300 + "]" * 300
    text = (f'{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "x"}}, "data": {{"a": {nested}}}}}'
            if suffix == "json" else CONFIGMAP.format(name="x") + f"data:\n  a: {nested}\n")
    write(corpus / "files" / f"nested.{suffix}", text)
    error = shipyard("validate", f"files/nested.{suffix}").error
    assert (error["check"], error["message"]) == ("SY911", "YAML nests more than 200 levels deep")


# --------------------------------------------------------------------------
# model.yaml, settings and pins: read strictly, every line indexed once.


@pytest.fixture()
def lifecycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed clone of the lifecycle fixture repository."""
    root = tmp_path / "repo"
    shutil.copytree(LIFECYCLE, root)
    for key, value in {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                       "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
                       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(key, value)
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", *cmd], cwd=root, check=True, capture_output=True)
    monkeypatch.chdir(root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def commit(root: Path) -> None:
    subprocess.run(["git", "commit", "-q", "-am", "edit"], cwd=root, check=True, capture_output=True)


def test_a_date_that_does_not_exist_in_model_yaml(lifecycle: Path, shipyard) -> None:
    """`register` round-trips model.yaml with ruamel.yaml, which builds a
    date from every unquoted timestamp: this one ended in "internal error:
    ValueError: day is out of range for month"."""
    edit(lifecycle / "models/iris/model.yaml", "description: Iris species classifier.",
         "description: 2026-02-30T00:00:00Z")
    commit(lifecycle)
    write(lifecycle.parent / "metrics.json", '{"accuracy": 0.97, "f1_macro": 0.96}')
    error = shipyard("register", "iris", "--version", "9.9.9", "--uri", "gs://b/x", "--metrics", "../metrics.json").error
    assert (error["check"], error["file"], error["line"]) == ("SY501", "models/iris/model.yaml", 8)
    assert error["message"] == ("2026-02-30T00:00:00Z is read as a date by YAML, and it is not one "
                                "(day is out of range for month)")
    assert error["hint"] == 'quote it ("2026-02-30T00:00:00Z") if it is text, or correct the date'
    (finding,) = [f for f in shipyard("validate", "--format", "json").findings if f["check"] == "SY501"]
    assert (finding["file"], finding["line"]) == ("models/iris/model.yaml", 8)


def test_an_integer_past_the_conversion_limit_in_model_yaml(lifecycle: Path, shipyard) -> None:
    edit(lifecycle / "models/iris/model.yaml", "gpu: 0", "gpu: 1" + "0" * 5000)
    (finding,) = [f for f in shipyard("validate", "--format", "json").findings if f["check"] == "SY501"]
    assert (finding["file"], finding["line"]) == ("models/iris/model.yaml", 16)
    assert "has 5,001 digits, beyond the 4,300 the loader reads" in finding["message"]


def test_an_integer_past_the_conversion_limit_in_shipyard_yaml(lifecycle: Path, shipyard) -> None:
    edit(lifecycle / "shipyard.yaml", "  branch: main\n", "  branch: main\n  depth: " + "9" * 5000 + "\n")
    error = shipyard("status").error
    assert (error["check"], error["file"], error["line"]) == ("SY910", "shipyard.yaml", 6)


def test_a_date_that_does_not_exist_in_a_pin(lifecycle: Path, shipyard) -> None:
    """A pin is edited by ruamel.yaml too (promote, rollout, rollback)."""
    pin = lifecycle / "overlays/dev/models/iris/kustomization.yaml"
    pin.write_text(pin.read_text(encoding="utf-8") + "commonAnnotations:\n  released: 2026-13-01\n", encoding="utf-8")
    commit(lifecycle)
    error = shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0").error
    assert (error["check"], error["file"]) == ("SY910", "overlays/dev/models/iris/kustomization.yaml")
    assert error["message"] == "2026-13-01 is read as a date by YAML, and it is not one (month must be in 1..12)"


def test_a_model_yaml_of_many_versions_keeps_its_lines_in_an_index() -> None:
    """Lines used to come from parsing the text again and keeping libyaml's
    node tree: 42 bytes kept per byte of a model.yaml, and at 100,000
    versions (25 MB) 21 s to find the first line. The index keeps 13."""
    head = (LIFECYCLE / "models" / "iris" / "model.yaml").read_text(encoding="utf-8")
    count = 5000
    text = head + "".join(f"  - version: 2.{i // 1000}.{i % 1000}\n    modelUri: gs://m/iris/{i}\n"
                          f"    metrics: {{accuracy: 0.95}}\n    created: \"2026-10-01T00:00:00Z\"\n"
                          for i in range(count))
    tracemalloc.start()
    try:
        doc = load_located(text, "models/iris/model.yaml")
        lines = [doc.line(("spec", "versions", index, "version")) for index in range(count + 3)]
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    first = text.count("\n", 0, text.index("  - version: 2.0.0")) + 1
    assert lines[3:6] == [first, first + 4, first + 8] and lines[-1] == first + 4 * (count - 1)
    assert kept < 20 * len(text)


# --------------------------------------------------------------------------
# --metrics files.

METRICS = [
    ("nan.json", '{"accuracy": NaN}', "SY900", 1, "metric 'accuracy' is NaN: NaN is not a number a gate can compare"),
    ("nan.yaml", "accuracy: .nan\n", "SY900", 1, "metric 'accuracy' is NaN: NaN is not a number a gate can compare"),
    ("nan-word.yaml", "accuracy: 0.9\nf1: NaN\n", "SY900", 2,
     "metric 'f1' is NaN: NaN is not a number a gate can compare"),
    ("inf.json", '{"accuracy": Infinity}', "SY900", 1,
     "metric 'accuracy' is infinite: infinity is not a number a gate can compare"),
    ("overflow.json", '{"accuracy": 1e400}', "SY900", 1,
     "metric 'accuracy' is infinite: infinity is not a number a gate can compare"),
    ("too-large.json", '{"accuracy": 1' + "0" * 400 + "}", "SY900", 1,
     "metric 'accuracy' is too large to be a number a gate can compare: 10000000000000000000000000000000000000000000000000"
     "... (401 characters)"),
    ("big-integer.json", '{"accuracy": ' + "1" * 5000 + "}", "SY910", 1,
     "the integer 111111111111...11111111 has 5,000 digits, beyond the 4,300 the loader reads "
     "(Kubernetes numbers are 64-bit)"),
    ("date.yaml", "accuracy: 0.97\ncreated: 2026-02-30T00:00:00Z\n", "SY910", 2,
     "2026-02-30T00:00:00Z is read as a date by YAML, and it is not one (day is out of range for month)"),
    ("deep.json", '{"accuracy": 0.9, "x": ' + "[" * 2000 + "]" * 2000 + "}", "SY911", 1,
     "YAML nests more than 200 levels deep"),
    ("nested.json", '{"accuracy": 0.9, "x": ' + "[" * 50 + "]" * 50 + "}", "SY900", 1,
     "metric 'x' is not a number: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[... (100 characters)"),
    ("duplicate.json", '{"accuracy": 0.9,\n "accuracy": 0.1}', "SY103", 2, "duplicate key accuracy (first at line 1)"),
    ("duplicate-list.yaml", "metrics:\n- {name: accuracy, numberValue: 0.9}\n- {name: accuracy, numberValue: 0.8}\n",
     "SY103", 3, "metric 'accuracy' is listed twice (first at line 2)"),
    ("bomb.yaml", "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)),
     "SY911", 1, "YAML aliases expand beyond the size limit (an alias bomb, or an alias inside itself)"),
]


@pytest.mark.parametrize(("name", "content", "check", "line", "message"), METRICS, ids=[m[0] for m in METRICS])
def test_a_metrics_file_that_is_not_numbers_a_gate_can_compare(lifecycle: Path, shipyard, name: str, content: str,
                                                              check: str, line: int, message: str) -> None:
    metrics = write(lifecycle.parent / name, content)
    started = time.perf_counter()
    error = shipyard("register", "iris", "--version", "9.9.9", "--uri", "gs://b/x", "--metrics", str(metrics)).error
    assert time.perf_counter() - started < 5
    assert (error["check"], error["file"], error["line"], error["message"]) == (check, str(metrics), line, message)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=lifecycle, capture_output=True, text=True).stdout == ""


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_a_metrics_file_that_is_not_a_file_or_too_large(lifecycle: Path, shipyard, kind: str) -> None:
    if kind == "fifo":
        path = lifecycle.parent / "metrics.json"
        os.mkfifo(path)
        said = "not a regular file (a named pipe)"
    elif kind == "device":
        path, said = Path("/dev/zero"), "not a regular file (a device)"
    else:
        path, said = sparse(lifecycle.parent / "metrics.json", MAX_FILE_BYTES + 1), "beyond the loader's limit of 64 MiB"
    error = shipyard("register", "iris", "--version", "9.9.9", "--uri", "gs://b/x", "--metrics", str(path)).error
    assert (error["check"], error["file"]) == ("SY900", str(path))
    assert error["message"].startswith("cannot read the metrics file: ") and said in error["message"]


# --------------------------------------------------------------------------
# --wait


@pytest.mark.parametrize(("value", "said"), [
    ("nan", "'nan' is not a number of seconds of 0 or more (such as 30)"),
    ("inf", "'inf' is not a number of seconds of 0 or more (such as 30)"),
    ("-inf", "'-inf' is not a number of seconds of 0 or more (such as 30)"),
    ("1e999", "'1e999' is not a number of seconds of 0 or more (such as 30)"),
    ("-1", "'-1' is not a number of seconds of 0 or more (such as 30)"),
    ("soon", "'soon' is not a number of seconds"),
])
def test_a_wait_that_is_not_a_time_is_refused(lifecycle: Path, capsys: pytest.CaptureFixture[str], value: str,
                                              said: str) -> None:
    assert main(["promote", "iris", "--to", "dev", "--version", "1.1.0", f"--wait={value}"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: argument --wait: {said}")


# --------------------------------------------------------------------------
# Inline YAML in a kustomization's plugin lists.

TRANSFORMER = """\
transformers:
- |
  apiVersion: builtin
  kind: LabelTransformer
  metadata:
    name: labels
  labels:
    team: {label}
  fieldSpecs:
  - path: metadata/labels
    create: true
"""


def test_a_long_inline_transformer_is_yaml_not_a_path(corpus: Path, shipyard) -> None:
    """Taken for a path, a config of more than 255 characters stopped the
    render with "File name too long" (the file-list walk of the cache)."""
    folder = corpus / "k" / "inline-transformer"
    write(folder / "kustomization.yaml", KUSTOMIZATION + "resources:\n- ../shared\n"
          + TRANSFORMER.format(label="platform") + "  # " + "x" * 300 + "\n")
    assert shipyard("validate", "k/inline-transformer", "--no-cache").code == 0


def test_an_alias_bomb_in_an_inline_transformer(corpus: Path, shipyard) -> None:
    bomb = (corpus / "k" / "resource-alias-bomb" / "configmap.yaml").read_text(encoding="utf-8").splitlines()[5:14]
    folder = corpus / "k" / "transformer-bomb"
    write(folder / "kustomization.yaml", KUSTOMIZATION + "resources:\n- ../shared\n"
          + TRANSFORMER.format(label="x") + "".join(f"  {line}\n" for line in bomb))
    error = shipyard("validate", "k/transformer-bomb", "--no-cache").error
    assert (error["check"], error["file"], error["line"]) == ("SY911", "k/transformer-bomb/kustomization.yaml", 16)
    assert error["message"].startswith("transformers[0]: YAML aliases expand beyond the size limit")
