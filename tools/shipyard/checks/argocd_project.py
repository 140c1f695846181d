"""Argo CD's AppProject rules as v3.5.1 applies them, as pure functions:
which source repositories, destinations, resource kinds and Application
namespaces a project permits (pkg/apis/application/v1alpha1/
app_project_types.go and types.go). Kept apart from the check so the
matching can be read, and tested on Argo CD's own tables, on its own.

Source URLs are normalised like util/git NormalizeGitURL and matched with
github.com/gobwas/glob v0.2.3 ('/' separates: ``*`` stays within a path
segment, ``**`` does not), destinations with the same globs without
separators, ``!`` negating an entry; resource kinds with Go's
path/filepath.Match; a nil namespace whitelist permits every namespaced
kind while an empty one permits none; a cluster whitelist must list a kind.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from shipyard.shapes import as_dict, as_list


CONTROLLER_NAMESPACE = "argocd"  # docs/manifests.md: Argo CD is installed in namespace argocd
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"  # KubernetesInternalAPIServerAddr
IN_CLUSTER_NAME = "in-cluster"  # KubernetesInClusterName
DEFAULT_PROJECT = "default"
# server/server.go initializeDefaultProject: created when missing, permits everything.
BUILTIN_DEFAULT_PROJECT: dict[str, Any] = {
    "sourceRepos": ["*"],
    "destinations": [{"server": "*", "namespace": "*"}],
    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
}


def _gobwas_regex(pattern: str, separators: str) -> str | None:
    """A gobwas/glob v0.2.3 pattern as a Python regular expression, or None
    when gobwas refuses to compile it (then it matches nothing). Syntax,
    from its lexer: ``*`` any run of non-separators, ``**`` any run, ``?``
    one non-separator, ``[abc]`` ``[a-z]`` ``[!...]`` one character (any,
    separators included), ``{a,b}`` alternatives, ``\\`` escapes."""
    not_sep = f"[^{re.escape(separators)}]" if separators else "."
    out: list[str] = []
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 < n:
                out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                out.append(".*")
                i += 2
            else:
                out.append(f"{not_sep}*")
                i += 1
        elif c == "?":
            out.append(not_sep)
            i += 1
        elif c == "[":
            parsed = _gobwas_range(pattern, i + 1)
            if parsed is None:
                return None
            text, i = parsed
            out.append(text)
        elif c == "{":
            depth += 1
            out.append("(?:")
            i += 1
        elif c == "," and depth:
            out.append("|")
            i += 1
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    if depth:
        return None  # unclosed terms: gobwas refuses the pattern
    return "".join(out)


def _gobwas_range(pattern: str, i: int) -> tuple[str, int] | None:
    """The class opened by ``[`` just before ``i``: (regex, index after ``]``)."""
    negate = False
    if i < len(pattern) and pattern[i] == "!":
        negate, i = True, i + 1
    if i + 2 < len(pattern) and pattern[i + 1] == "-":
        lo, hi, i = pattern[i], pattern[i + 2], i + 3
        if i >= len(pattern) or pattern[i] != "]" or lo > hi:
            return None
        body = f"{re.escape(lo)}-{re.escape(hi)}"
    else:
        chars: list[str] = []
        while i < len(pattern) and pattern[i] != "]":
            if pattern[i] == "\\" and i + 1 < len(pattern):
                i += 1
            chars.append(pattern[i])
            i += 1
        if i >= len(pattern) or not chars:
            return None
        body = "".join(re.escape(ch) for ch in chars)
    return f"[{'^' if negate else ''}{body}]", i + 1


def gobwas_match(pattern: str, value: str, separators: str = "") -> bool:
    """util/glob Match: ``value`` matches the whole gobwas ``pattern``."""
    compiled = _compiled_glob(pattern, separators)
    return compiled is not None and compiled.fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compiled_glob(pattern: str, separators: str) -> re.Pattern[str] | None:
    """A project's few patterns are matched against every object of a
    target: each is translated and compiled once."""
    regex = _gobwas_regex(pattern, separators)
    return re.compile(regex, re.DOTALL) if regex is not None else None


def glob_match(pattern: str, value: str, allow_negation: bool, separators: str = "") -> bool:
    """app_project_types.go globMatch: ``!pattern`` matches what pattern does
    not (when negation is allowed); ``*`` matches everything."""
    if allow_negation and pattern.startswith("!"):
        return not gobwas_match(pattern[1:], value, separators)
    if pattern == "*":
        return True
    return gobwas_match(pattern, value, separators)


_SSH_URL = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")
# net/url: characters a path keeps as written (validEncoded); any other
# character that needs escaping makes url.String() escape the whole path.
_PATH_KEEPS = set("!$&'()*+,;=:@[]%-_.~/")


def normalize_git_url(repo: str) -> str:
    """util/git NormalizeGitURL: lower case, scp-style SSH made an ssh://
    URL, ``.git`` dropped, parsed and printed by net/url (and ssh://
    dropped again); "" for what net/url refuses (a port that is not a
    number, as in ssh://git@host:org/repo)."""
    repo = repo.strip().lower()
    if _SSH_URL.match(repo) and not repo.startswith("ssh://"):
        repo = "ssh://" + repo.replace(":", "/", 1)
    repo = repo.removesuffix(".git")
    scheme, sep, rest = repo.partition("://")
    if not sep:
        if ":" in repo.split("/", 1)[0] and not re.match(r"^[a-z][a-z0-9+.-]*:", repo):
            return ""  # "first path segment in URL cannot contain colon"
        return _escaped_path(repo)
    authority, slash, path = rest.partition("/")
    host = authority.rsplit("@", 1)[-1]
    if not host.startswith("[") and ":" in host and not host.rsplit(":", 1)[1].isdigit() and host.rsplit(":", 1)[1]:
        return ""  # net/url: invalid port
    normalized = f"{scheme}://{authority}{slash}{_escaped_path(path) if slash else ''}"
    return normalized.removeprefix("ssh://")


def _escaped_path(path: str) -> str:
    """net/url EscapedPath: the path as written when every character may
    stand unescaped, else percent-escaped as a whole (a ``{`` escapes the
    ``*`` beside it too)."""
    head, mark, tail = path.partition("?")
    if all(c.isalnum() or c in _PATH_KEEPS for c in head):
        return path
    escaped = "".join(c if c.isascii() and (c.isalnum() or c in "-_.~$&+,/:;=@") else
                      "".join(f"%{b:02X}" for b in c.encode()) for c in head)
    return escaped + mark + tail


def source_permitted(source_repos: list[str], repo_url: str) -> bool:
    """AppProject.IsSourcePermitted."""
    src = normalize_git_url(repo_url)
    any_matched = False
    for entry in source_repos:
        normalized = "!" + normalize_git_url(entry[1:]) if entry.startswith("!") else normalize_git_url(entry)
        if glob_match(normalized, src, True, "/"):
            any_matched = True
        elif normalized.startswith("!"):
            return False
    return any_matched


def destination_permitted(destinations: list[dict[str, Any]], server: str, name: str, namespace: str) -> bool:
    """AppProject.isDestinationMatched (permitOnlyProjectScopedClusters
    aside: which clusters are project-scoped is Argo CD's data, not git's)."""
    any_matched = False
    for item in destinations:
        item_name, item_server, item_ns = _str(item.get("name")), _str(item.get("server")), _str(item.get("namespace"))
        name_matched = name != "" and glob_match(item_name, name, True)
        server_matched = server != "" and glob_match(item_server, server, True)
        ns_matched = glob_match(item_ns, namespace, True)
        if (server_matched or name_matched) and ns_matched:
            any_matched = True
        elif (not name_matched and item_name.startswith("!")) or (
                not server_matched and item_server.startswith("!") and ns_matched):
            return False
        elif not ns_matched and item_ns.startswith("!") and server_matched:
            return False
    return any_matched


def go_path_match(pattern: str, name: str) -> bool:
    """path/filepath.Match on a Unix system (how types.go matches group,
    kind and name): ``*`` and ``?`` stop at '/', ``[^...]`` negates, ``\\``
    escapes; a malformed pattern matches nothing."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return False
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            i += 1
            negate = i < n and pattern[i] == "^"
            i += negate
            ranges: list[str] = []
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = _go_class_char(pattern, i)
                if lo is None:
                    return False
                if i < n and pattern[i] == "-":
                    hi, i = _go_class_char(pattern, i + 1)
                    if hi is None or hi < lo:
                        return False
                    ranges.append(f"{re.escape(lo)}-{re.escape(hi)}")
                else:
                    ranges.append(re.escape(lo))
            out.append(f"[{'^' if negate else ''}{''.join(ranges)}]")
        else:
            out.append(re.escape(c))
            i += 1
    return re.fullmatch("".join(out), name, re.DOTALL) is not None


def _go_class_char(pattern: str, i: int) -> tuple[str | None, int]:
    """filepath getEsc: one character of a class, or None (ErrBadPattern)."""
    if i >= len(pattern) or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            return None, i
    return pattern[i], i + 1


def _in_list(group: str, kind: str, name: str | None, items: list[Any]) -> bool:
    """types.go isResourceInList (``name`` None) / isNamedResourceInList:
    an entry's group and kind match as patterns; a cluster entry's name, when
    it has one, too."""
    for item in items:
        entry = as_dict(item)
        if not go_path_match(_str(entry.get("kind")), kind) or not go_path_match(_str(entry.get("group")), group):
            continue
        entry_name = _str(entry.get("name"))
        if name is None or not entry_name or go_path_match(entry_name, name):
            return True
    return False


def kind_refusal(spec: dict[str, Any], group: str, kind: str, name: str, namespaced: bool) -> str | None:
    """Why AppProject.IsGroupKindNamePermitted refuses the object, or None
    when it permits it. A namespace whitelist that is absent (nil) permits
    every namespaced kind, an empty one none; a cluster whitelist must list
    the kind, absent or empty."""
    if namespaced:
        white, black = spec.get("namespaceResourceWhitelist"), as_list(spec.get("namespaceResourceBlacklist"))
        if white is not None and not _in_list(group, kind, None, as_list(white)):
            return "namespaceResourceWhitelist is empty" if not as_list(white) else \
                "namespaceResourceWhitelist does not list it"
        if black and _in_list(group, kind, None, black):
            return "namespaceResourceBlacklist names it"
        return None
    white_list, black = as_list(spec.get("clusterResourceWhitelist")), as_list(spec.get("clusterResourceBlacklist"))
    if not white_list:
        return "clusterResourceWhitelist is empty (no cluster-scoped kind is permitted)" \
            if "clusterResourceWhitelist" in spec else "the project has no clusterResourceWhitelist (no cluster-scoped kind is permitted)"
    if not _in_list(group, kind, name, white_list):
        return "clusterResourceWhitelist does not list it"
    if black and _in_list(group, kind, name, black):
        return "clusterResourceBlacklist names it"
    return None


def app_namespace_permitted(source_namespaces: list[Any], namespace: str) -> bool:
    """AppProject.IsAppNamespacePermitted: the controller's own namespace
    always; any other through sourceNamespaces (globs, or /regular
    expressions/)."""
    if namespace in ("", CONTROLLER_NAMESPACE):
        return True
    for entry in source_namespaces:
        pattern = _str(entry)
        if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
            try:
                if re.search(pattern[1:-1], namespace):
                    return True
            except re.error:
                continue
        elif gobwas_match(pattern, namespace):
            return True
    return False


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
