"""Ctrl-C at any moment of a `shipyard` run ends with one line, "interrupted",
and exit code 130: never a traceback, also while the commands are still
being imported (the first half second), which is when it used to print one.

The real installed command runs as a subprocess and gets a real SIGINT.
A signal that arrives before the program's first line is Python's own
start-up, which no program can handle: either Python has not installed its
handler yet and the process dies of SIGINT with nothing printed (a shell
reports 130 for that as well), or the interrupt lands in the interpreter's
start-up code and CPython prints its own error. That last case is told
apart by its traceback (only frames of CPython's frozen start-up modules,
or line 0 of the script: before its first statement) and tried again 10 ms
later; a traceback with any line of the launcher or the toolkit fails.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SHIPYARD = Path(sys.executable).parent / "shipyard"
MOMENTS = [0.01, 0.05, 0.1, 0.15]
ATTEMPTS = 10  # per moment, when the signal fell inside Python's own start-up

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)


@pytest.fixture()
def small_repo(tmp_path: Path) -> Path:
    """A repository with one manifest: the run's work is the imports and one file."""
    (tmp_path / "shipyard.yaml").write_text(
        "repository:\n  url: https://github.com/example/interrupt.git\ndefaults:\n  kubernetesVersion: \"1.33\"\n",
        encoding="utf-8")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  mode: fast\n",
        encoding="utf-8")
    return tmp_path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_interrupted(repo: Path, delay: float) -> subprocess.CompletedProcess[str]:
    """`shipyard validate cm.yaml`, sent SIGINT ``delay`` seconds after it started."""
    # As from a terminal: SIGINT at its default. A process started with SIGINT
    # ignored (what a library in this test process may leave behind, and what
    # a shell does for `cmd &`) keeps ignoring it, as it should.
    proc = subprocess.Popen([str(SHIPYARD), "validate", "cm.yaml"], cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, SHIPYARD_DEBUG=""),
                            preexec_fn=_default_sigint)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def in_python_startup(err: str) -> bool:
    """CPython's own start-up was interrupted: a fatal start-up error, or a
    traceback whose every frame is a frozen start-up module or line 0 of
    the script (the interpreter checking for a pending signal before the
    first statement). Never true for "Exception ignored" (an interrupt
    Python swallowed while the program ran)."""
    if "Exception ignored" in err or "Traceback" not in err:
        return False
    if err.startswith("Fatal Python error: init_"):
        return True
    frames = [(m["file"], int(m["line"])) for m in _FRAME.finditer(err)]
    return bool(frames) and all(file.startswith("<frozen ") or (file == str(SHIPYARD) and line == 0)
                                for file, line in frames)


@pytest.mark.parametrize("delay", MOMENTS, ids=[f"{d}s" for d in MOMENTS])
def test_ctrl_c_early_in_a_run_is_one_line_and_exit_130(small_repo: Path, delay: float) -> None:
    for attempt in range(ATTEMPTS):
        # On a loaded machine Python's start-up alone can outlast the moment:
        # each retry comes 10 ms later, so the signal reaches the program's start.
        outcome = run_interrupted(small_repo, delay + attempt * 0.01)
        if not in_python_startup(outcome.stderr):
            break
    else:
        pytest.skip(f"every signal from {delay}s to {delay + (ATTEMPTS - 1) * 0.01:.2f}s landed inside Python's own "
                    f"start-up (this machine starts Python slowly now), which no program can handle:\n{outcome.stderr}")
    assert "Traceback" not in outcome.stderr, outcome.stderr
    finished = "checked 1 objects" in outcome.stderr  # its last line: the work was done
    if finished and outcome.returncode in (0, -signal.SIGINT):
        # 0: the run ended before the signal; -SIGINT: it arrived while the
        # interpreter shut down, after the handler was given back
        pytest.skip(f"the one-object check finished in under {delay}s, before the signal arrived")
    if outcome.returncode == -signal.SIGINT:
        assert outcome.stderr == ""  # before Python handled signals: killed, nothing printed
    else:
        assert (outcome.returncode, outcome.stderr) == (130, "interrupted\n")
    assert outcome.stdout == ""


def test_the_same_run_uninterrupted_validates(small_repo: Path) -> None:
    """The interrupted runs above were real runs of a command that works."""
    done = subprocess.run([str(SHIPYARD), "validate", "cm.yaml"], cwd=small_repo, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "checked 1 objects" in done.stdout + done.stderr


def test_the_launcher_is_the_repository_script() -> None:
    """The installed command is tools/bin/shipyard, not a generated entry
    point wrapper (which imports modules before any line of ours runs)."""
    installed = SHIPYARD.read_text(encoding="utf-8").splitlines()
    source = (Path(__file__).resolve().parents[2] / "tools" / "bin" / "shipyard").read_text(encoding="utf-8").splitlines()
    assert installed[1:] == source[1:], "reinstall: `make setup` (pip install -e .)"
