"""Every change to the model lifecycle, made as a reviewable git change:
register a version, promote it (optionally as a canary), finish or abort a
canary, roll back.

Each command is split in two. A *plan* (promote, rollout, rollback,
register) reads the repository and computes the full new text of every file
it changes, refusing anything the model rules (shipyard.models.rules) or
the arguments forbid before a byte is written. *apply* then makes the
branch, writes the files atomically, renders the result with the real
kustomize (a change that does not build is undone), commits, and returns
the pull request's title and body (pr_body). A journal lets the next
command repair a run that was killed half-way.

    plan.py         Plan, GitOptions, Outcome
    guards.py       argument and pin checks every plan shares
    pin_edit.py     pin files edited with comments kept (PinState)
    pin_plan.py     the plan of a pin change and the check of its render
    promote.py, rollout.py, rollback.py, register.py   one module per command
    pr_body.py      pull request sections, rendered change, commit message
    yaml_edit.py    round-trip YAML (ruamel), for writing only
    transaction.py  several files written as one change
    journal.py      the record of a change in progress, and recovery
    signals.py      SIGTERM/SIGINT deferred to safe points
    apply.py        the lock, recovery, branch, writes, render check, commit
"""
