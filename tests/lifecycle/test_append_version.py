"""Registering a version appends it to model.yaml as text: the rest of the
file keeps every byte, comments and the keys after ``versions`` included,
and a sequence not in block style falls back to the round trip."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from shipyard.lifecycle.yaml_edit import append_to_block_sequence, dump_round_trip, load_round_trip
from shipyard.load import load_located


def _entry() -> CommentedMap:
    entry = CommentedMap()
    entry["version"] = "2.0.0"
    entry["modelUri"] = "gs://bucket/m/2.0.0"
    metrics = CommentedMap({"accuracy": 0.97})
    metrics.fa.set_flow_style()
    entry["metrics"] = metrics
    return entry


def _append(text: str) -> str | None:
    doc = load_located(text, "model.yaml")
    versions = doc.data["spec"]["versions"]
    return append_to_block_sequence(text, doc.line(("spec", "versions", len(versions) - 1)), _entry())


TEXT = """\
spec:
  versions:
  - version: 1.0.0   # the first
    modelUri: gs://bucket/m/1.0.0
    notes: |
      trained on

      the spring data
    # trailing note of 1.0.0

  # gates follow
  gates: {production: {accuracy: {min: 0.9}}}
"""


def test_entry_lands_after_the_last_version_and_nothing_else_moves() -> None:
    new = _append(TEXT)
    assert new is not None
    assert new == TEXT.replace(
        "    # trailing note of 1.0.0\n",
        "    # trailing note of 1.0.0\n"
        "  - version: 2.0.0\n    modelUri: gs://bucket/m/2.0.0\n    metrics: {accuracy: 0.97}\n")
    assert [v["version"] for v in load_located(new, "m").data["spec"]["versions"]] == ["1.0.0", "2.0.0"]


def test_same_text_as_the_round_trip_for_an_indented_sequence() -> None:
    text = "spec:\n    versions:\n        -   version: 1.0.0\n            modelUri: gs://b/1\n"
    rt, data = load_round_trip(text, "m")
    data["spec"]["versions"].append(_entry())
    assert _append(text) == dump_round_trip(rt, data)


def test_crlf_bom_and_a_missing_final_newline_are_kept() -> None:
    text = "\ufeffspec:\r\n  versions:\r\n  - version: 1.0.0\r\n    modelUri: gs://b/1"
    new = _append(text)
    assert new is not None and new.startswith("\ufeff") and "\n" not in new.replace("\r\n", "")
    assert new.endswith("metrics: {accuracy: 0.97}\r\n")


def test_flow_sequence_is_left_to_the_round_trip() -> None:
    assert _append("spec:\n  versions: [{version: 1.0.0, modelUri: gs://b/1}]\n") is None
