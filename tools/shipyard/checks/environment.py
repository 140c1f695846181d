"""SY9xx: the command could not do its job (exit 2). These are not findings
about the manifests but errors about the input or the machine; they are
listed here so every id a user can see is documented in docs/checks.md."""

from __future__ import annotations

from shipyard.checks import describe

describe("SY900", "Bad input or usage",
         "A missing file, an unknown model, environment or cluster, or a setting of the wrong shape: the command "
         "cannot start.",
         "Follow the message: it names the file and line, and lists what exists.")
describe("SY901", "Tool missing or the wrong version",
         "Renders are compared across machines, so helm and kustomize are pinned; another version renders "
         "differently.",
         "Run `make setup` (installs the pinned helm and kubectl into .venv/bin).")
describe("SY902", "Mirror unusable",
         "SHIPYARD_MIRROR (or mirror: in shipyard.yaml) names a folder without charts/index.yaml or git/.",
         "Point it at a folder laid out like the upstream mirror, or unset it to use upstream.")
describe("SY903", "Render failed",
         "kustomize or helm refused the input (or ran past its time limit): nothing can be checked.",
         "Read the tool's own message, quoted in the error; a chart version or remote ref that does not exist is "
         "the usual cause.")
describe("SY904", "git failed",
         "A ref that does not exist, or a folder that is not a git work tree.",
         "Check the ref (in CI, fetch history: actions/checkout with fetch-depth: 0).")
describe("SY905", "Work tree busy or interrupted",
         "Another shipyard command holds the work tree, or a killed one left a change it cannot repair by itself.",
         "Wait (or pass --wait SECONDS), or follow the steps the message lists.")
describe("SY906", "Conflict with a branch",
         "The promotion branch exists with other content, or the target branch changed the same file upstream.",
         "Delete or rename the branch (--branch NAME), or `git pull --rebase` and run again.")
describe("SY912", "Model artifact unusable",
         "The artifact is missing, corrupt or its sha256 differs from the registered one: serving it would serve "
         "something else.",
         "Download the registered artifact again, or register the version anew.")
describe("SY913", "Model server failed",
         "A port is taken, or the seldon-core microservice stopped.",
         "Pick other ports, or read the server log the message names.")
