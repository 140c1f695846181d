"""Findings, and the text / json / junit / github reporters that print them.

A finding is the one currency every check pays in: a check id, the object,
the file and line, what is wrong and how to fix it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal

from shipyard.ids import CheckId
from shipyard.objects import K8sObject, ObjectRef

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    check: CheckId
    message: str
    file: str
    line: int = 0
    hint: str = ""
    object: ObjectRef | None = None
    target: str = ""
    severity: Severity = "error"

    @classmethod
    def on(
        cls,
        obj: K8sObject,
        check: CheckId,
        message: str,
        *,
        path: tuple[str | int, ...] = (),
        hint: str = "",
        severity: Severity = "error",
    ) -> "Finding":
        """A finding about ``obj``, located at ``path`` inside it when known."""
        return cls(
            check=check,
            message=message,
            file=obj.source.path,
            line=obj.line_of(path),
            hint=hint,
            object=obj.ref,
            target=obj.target,
            severity=severity,
        )

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line, self.check, self.message)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (check, object, file, line, message): the same base
    rendered into three clusters is one mistake, reported once, naming the
    first target that showed it."""
    seen: dict[tuple[CheckId, ObjectRef | None, str, int, str], Finding] = {}
    for finding in findings:
        key = (finding.check, finding.object, finding.file, finding.line, finding.message)
        seen.setdefault(key, finding)
    return sorted(seen.values(), key=Finding.sort_key)


def exit_code(findings: list[Finding]) -> int:
    return 1 if any(f.severity == "error" for f in findings) else 0


def format_text(findings: list[Finding]) -> str:
    lines: list[str] = []
    for f in findings:
        obj = f" {f.object}" if f.object else ""
        lines.append(f"{f.location}: {f.severity} {f.check}{obj}: {f.message}")
        if f.hint:
            lines.append(f"    fix: {f.hint}")
        if f.target:
            lines.append(f"    in: {f.target}")
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines) + "\n"


def _as_dict(f: Finding) -> dict[str, Any]:
    data = asdict(f)
    data["object"] = (
        {
            "apiVersion": f.object.api_version,
            "kind": f.object.kind,
            "namespace": f.object.namespace,
            "name": f.object.name,
        }
        if f.object
        else None
    )
    return data


def format_json(findings: list[Finding]) -> str:
    return json.dumps({"findings": [_as_dict(f) for f in findings]}, indent=2) + "\n"


def format_junit(findings: list[Finding]) -> str:
    """One testcase per finding, grouped by check id, so CI systems show each
    finding as a failed test with its file and line."""
    from xml.sax.saxutils import escape, quoteattr  # imports urllib.request: only for JUnit reports

    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check, []).append(f)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(f'<testsuites name="shipyard validate" tests="{len(findings)}" failures="{len(findings)}">')
    if not findings:
        out.append('  <testsuite name="shipyard" tests="1" failures="0">')
        out.append('    <testcase classname="shipyard" name="validate"/>')
        out.append("  </testsuite>")
    for check, items in sorted(by_check.items()):
        out.append(f'  <testsuite name={quoteattr(check)} tests="{len(items)}" failures="{len(items)}">')
        for f in items:
            name = f"{f.object} ({f.location})" if f.object else f.location
            out.append(
                f"    <testcase classname={quoteattr(check)} name={quoteattr(name)}"
                f" file={quoteattr(f.file)} line=\"{f.line}\">"
            )
            body = f.message + (f"\nfix: {f.hint}" if f.hint else "")
            out.append(f"      <failure message={quoteattr(f.message)} type={quoteattr(f.severity)}>{escape(body)}</failure>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(findings: list[Finding]) -> str:
    """GitHub workflow commands: each finding becomes an annotation on the
    pull request's diff at its file and line."""
    lines = []
    for f in findings:
        level = "error" if f.severity == "error" else "warning"
        props = [f"file={_gh_escape(f.file, prop=True)}"]
        if f.line:
            props.append(f"line={f.line}")
        props.append(f"title={_gh_escape(f.check + (' ' + str(f.object) if f.object else ''), prop=True)}")
        msg = f.message + (f"\nfix: {f.hint}" if f.hint else "")
        lines.append(f"::{level} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")


FORMATTERS = {
    "text": format_text,
    "json": format_json,
    "junit": format_junit,
    "github": format_github,
}
