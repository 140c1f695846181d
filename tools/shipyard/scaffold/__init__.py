"""Scaffolding: the changes that make a fork point at itself (`init`), and
the files of a new cluster or model (`new cluster`, `new model`).

Each is planned in full as a lifecycle `Plan` (path -> new text) and applied
by `shipyard.lifecycle.apply.change`, like every other command that changes
the repository: one lock, one journal, one branch and commit when asked,
and the kustomize build of the result before anything is kept. The new
files follow the shapes the repository's own clusters and models use
(docs/layout.md), so `shipyard validate` holds for them as it does for
those.
"""
