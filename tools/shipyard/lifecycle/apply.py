"""Applying a plan: take the work tree's lock, repair what an interrupted
run left, make the branch, write the files atomically, render the result
with the real kustomize (a change that does not build is undone), commit,
and return the pull request's title and body. Nothing is left half-done."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from shipyard import git, ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.journal import begin_journal, end_journal, recover
from shipyard.lifecycle.plan import GitOptions, Outcome, Plan, Rendered
from shipyard.lifecycle.pr_body import commit_body, rendered_changes
from shipyard.lifecycle.signals import StopFlag
from shipyard.lifecycle.transaction import FileTransaction
from shipyard.lifecycle.yaml_edit import read_or_none
from shipyard.repo import Repository
from shipyard.targets import open_renderer

def prepare(repo: Repository, options: GitOptions) -> None:
    """Before planning: a change that will be committed starts from a clean
    work tree, so the commit holds this change and nothing else."""
    if options.commit:
        git.require_clean(repo.root)


def change(repo: Repository, make_plan: Callable[[Repository], Plan], options: GitOptions | None = None, *,
           command: str = "shipyard", wait: float = 0.0, notify: Callable[[str], None] | None = None) -> Outcome:
    """The whole of a command that changes the repository: take the work
    tree's lock (or wait for it), repair what an interrupted run left, check
    the work tree, plan, apply. ``notify`` hears about waiting, a lock taken
    over from a dead process and repairs."""
    options = options or GitOptions()
    say = notify or (lambda _message: None)
    lock = git.WorkTreeLock(repo.root, command)
    lock.acquire(wait=wait, notify=say)
    try:
        if lock.taken_over is not None:
            state = "is no longer running" if not lock.taken_over.alive() else "no longer holds it"
            say(f"took over the work-tree lock of {lock.taken_over.describe()}, which {state}")
        for note in recover(repo):
            say(note)
        prepare(repo, options)
        plan = make_plan(repo)
        stop = StopFlag()
        with stop.installed():
            return apply(repo, plan, options, stop=stop, command=command)
    finally:
        lock.release()


def _render_all(repo: Repository, folders: list[Path]) -> Rendered:
    """What kustomize builds from ``folders`` now; a renderer of its own, so
    the "after" render never reads the memo of the "before" one."""
    with open_renderer(repo) as renderer:
        return {folder: (renderer.kustomize_bodies(repo.rel(folder)) if (folder / "kustomization.yaml").is_file() else [])
                for folder in folders}


def apply(repo: Repository, plan: Plan, options: GitOptions | None = None, *, stop: StopFlag | None = None,
          command: str = "shipyard") -> Outcome:
    """Make ``plan`` real: branch, atomic writes, render check, commit.
    Nothing is left half-done: on any failure the files, and the branch,
    are put back; a kill leaves a journal the next command repairs from.
    Conflicts (the branch exists with other content, the target branch
    changed these files) are refused before anything is touched."""
    options = options or GitOptions()
    stop = stop or StopFlag()
    root = repo.root
    changed = {path: text for path, text in plan.files.items() if read_or_none(path) != text}
    rels = [repo.rel(p) for p in changed]
    if not changed:
        body = "\n\n".join(plan.sections)
        return Outcome(plan, [], plan.title, body, note=plan.noop)
    branch = _branch_name(repo, plan, options)
    if branch is not None and git.branch_exists(root, branch):
        return _already_prepared(repo, plan, branch, changed)
    head = origin = None
    if options.commit:
        _require_up_to_date(repo, rels)
        head = git.head(root)
        origin = git.current_branch(root) or head
    else:
        head = _head_if_any(root)  # so a repair can tell whether the user committed since
    journal = begin_journal(repo, plan, changed, command=command, commit=options.commit, head=head,
                            origin=origin, branch=branch)
    transaction = FileTransaction()
    try:
        # The "before" render reads the same files the new branch starts
        # from, so it runs while the branch is being made.
        with ThreadPoolExecutor(max_workers=1) as pool:
            rendering = pool.submit(_render_all, repo, plan.render)
            try:
                if branch is not None:
                    git.create_branch(root, branch)
            except BaseException:
                rendering.exception()  # wait for it; the branch error is the one to report
                raise
            before = rendering.result()
        stop.check()
        for path, text in changed.items():
            transaction.write(path, text)
            stop.check()
        after = _render_all(repo, plan.render)
        if plan.verify is not None:
            plan.verify(repo, after)
        summary: list[str] = []
        for folder in plan.render:
            summary.append(f"`{repo.rel(folder)}`:")
            summary.extend(rendered_changes(before.get(folder, []), after.get(folder, [])))
        sections = list(plan.sections)
        if summary:
            sections.append("## Rendered change\n\n" + "\n".join(summary))
        sections.append("## Files\n\n" + "\n".join(f"- `{r}`" for r in rels))
        body = "\n\n".join(sections) + "\n"
        commit = None
        if options.commit:
            stop.check()
            commit = git.commit(root, rels, plan.title + "\n\n" + commit_body(plan))
    except BaseException as failure:
        with stop.shield():
            _settle(repo, plan, changed, transaction, journal, failure, head=head, origin=origin, branch=branch,
                    commit=options.commit)
        raise
    end_journal(journal)
    out_branch = (branch or git.current_branch(root)) if options.commit else None
    return Outcome(plan, rels, plan.title, body, branch=out_branch, commit=commit)


def _head_if_any(root: Path) -> str | None:
    """HEAD's commit, or None outside a git work tree (or before its first commit)."""
    try:
        return git.rev(root, "HEAD")
    except ShipyardError:
        return None


def _committed(repo: Repository, changed: dict[Path, str], head: str | None) -> str | None:
    """The commit this change made, when it got that far: HEAD moved past
    where it started and holds every file as the change wrote it."""
    now = _head_if_any(repo.root)
    if head is None or now is None or now == head:
        return None
    if all(git.show(repo.root, "HEAD", repo.rel(path)) == text for path, text in changed.items()):
        return now
    return None


def _settle(repo: Repository, plan: Plan, changed: dict[Path, str], transaction: FileTransaction, journal: Path,
            failure: BaseException, *, head: str | None, origin: str | None, branch: str | None, commit: bool) -> None:
    """After ``failure``: when the commit was made (a second signal can land
    just after it), keep it, the files match it; otherwise put the index,
    the files and the branch back. Each step is tried even when an earlier
    one fails; when any fails, the journal stays for the next run, and the
    error says what failed first and the state the work tree is in."""
    root = repo.root
    rels = [repo.rel(p) for p in changed]
    if commit and (made := _committed(repo, changed, head)) is not None:
        end_journal(journal)
        where = git.current_branch(root) or "HEAD"
        raise ShipyardError(
            f"{_reason(failure)}, after the change was committed ({made[:12]} on {where}); nothing to put back",
            hint="the change is complete: push the branch or open the pull request as usual", check=git.BUSY,
        ) from None
    problems: list[str] = []

    def attempt(step: str, action: Callable[[], object]) -> None:
        try:
            action()
        except (ShipyardError, OSError) as exc:
            text = exc.message if isinstance(exc, ShipyardError) else str(exc)
            problems.append(f"{step}: {text.splitlines()[0] if text else type(exc).__name__}")

    if commit:
        attempt("unstaging the files", lambda: git.git(root, "reset", "--quiet", "--", *rels, check=False))
    attempt("putting the files back", transaction.rollback)
    if branch is not None:
        if git.current_branch(root) == branch:
            attempt(f"switching back to {origin}", lambda: git.abandon_branch(root, branch, origin))
        elif git.rev(root, f"refs/heads/{branch}") == head:
            attempt(f"deleting branch {branch}", lambda: git.delete_branch(root, branch))
    if not problems:
        end_journal(journal)
        return
    here = git.current_branch(root) or "a detached HEAD"
    left = [rel for path, rel in zip(changed, rels) if read_or_none(path) != transaction.original(path)]
    cause = failure.hint if isinstance(failure, ShipyardError) and failure.hint else \
        "fix the cause (a stale .git/index.lock, a full or read-only disk)"
    raise ShipyardError(
        f"{_reason(failure).splitlines()[0]}; putting things back failed too ({'; '.join(problems)}). Now: on {here}"
        + (f", {', '.join(left)} still changed" if left else ", every file as it was"),
        hint=f"{cause}; then any shipyard command that changes the repository repairs the rest from the record "
             f"it kept ({journal})",
        check=git.BUSY,
    ) from None


def _reason(failure: BaseException) -> str:
    """What stopped the change, in the words of its own error."""
    if isinstance(failure, ShipyardError):
        return failure.message
    if isinstance(failure, OSError):
        return f"{failure.strerror or failure}" + (f": {failure.filename}" if failure.filename else "")
    return type(failure).__name__


def _branch_name(repo: Repository, plan: Plan, options: GitOptions) -> str | None:
    """The branch this change gets, or None when it goes on the current one."""
    if not (options.commit and options.new_branch):
        return None
    name = options.branch or plan.branch
    if options.branch and not git.valid_branch_name(repo.root, name):
        raise ShipyardError(f"{name!r} is not a valid branch name", hint="pass another --branch NAME", check=ids.USAGE)
    return name


def _already_prepared(repo: Repository, plan: Plan, name: str, changed: dict[Path, str]) -> Outcome:
    """The outcome of an earlier run that prepared this exact change on
    branch ``name``; a branch of that name with anything else is a
    conflict, explained: which files differ, what it holds, and whether it
    was made from an older base."""
    root = repo.root
    differing = [repo.rel(p) for p, t in changed.items() if git.show(root, name, repo.rel(p)) != t]
    if not differing:
        body = "\n\n".join(plan.sections)
        return Outcome(plan, [], plan.title, body, branch=name, commit=git.rev(root, f"refs/heads/{name}"),
                       note=f"already prepared on branch {name}")
    here = git.current_branch(root) or "HEAD"
    details = [f"{', '.join(differing)} there {'differs' if len(differing) == 1 else 'differ'} from this change"]
    base = git.merge_base(root, "HEAD", name)
    if base is not None:
        moved = [rel for rel in differing if git.show(root, base, rel) != git.show(root, "HEAD", rel)]
        if moved:
            latest = git.log_lines(root, f"{base}..HEAD", moved, limit=1)
            details.append(f"it was made from an older {here}: {', '.join(moved)} changed on {here} since"
                           + (f" (latest: {latest[0]})" if latest else ""))
        own = git.log_lines(root, f"{base}..{name}")
        if own:
            details.append("its commits: " + "; ".join(own))
    raise ShipyardError(
        f"branch {name} already exists with other content: " + "; ".join(details),
        hint=f"if {name} is an outdated run of this command, delete it and run again (git branch -D {name}); "
        "to keep it, pass --branch NAME to make the change on another branch",
        check=git.CONFLICT)


def _require_up_to_date(repo: Repository, rels: list[str]) -> None:
    """Refuse a change to files the target branch (shipyard.yaml
    repository.branch, default main, or its fetched remote counterpart)
    changed since this work tree's base: its pull request would conflict,
    or silently undo the other change."""
    target = repo.settings.target_branch
    found = git.upstream_changes(repo.root, target, rels)
    if found is None:
        return
    commits = f" ({'; '.join(found.commits)})" if found.commits else ""
    raise ShipyardError(
        f"{', '.join(found.paths)} changed on {found.ref} since this work tree's base{commits}: "
        "a pull request made from here would conflict with that change or undo it",
        hint=f"bring the work tree up to date first (git pull --rebase, or git rebase {found.ref}), then run again; "
        "nothing was changed",
        check=git.CONFLICT)
