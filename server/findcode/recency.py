"""Which files of a root the user touched lately, most recent first, as git knows it.

A cold index takes minutes; what a person searches for first is most likely in the code they
are working on. So the first pass parses (and so embeds) the files with uncommitted changes
first, then those of the latest commits, then the rest. This is only a hint for the order: a
root that is no git repository, a missing git, a slow or broken one all mean "no hint".
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# The commits read: enough to cover weeks of someone's work, few enough that `git log` on a
# repository with a long history answers in well under a second.
RECENT_COMMITS = 300
# Past this, the first pass goes on in walk order rather than wait for git.
GIT_TIMEOUT_S = 5.0


def recent_files(root: Path) -> list[str]:
    """Paths relative to `root` (posix), uncommitted changes first, then by their latest commit;
    empty when git cannot tell."""
    changed = _git(root, "diff", "--name-only", "--relative", "HEAD")
    committed = _git(root, "log", f"-n{RECENT_COMMITS}", "--name-only", "--relative", "--format=")
    ordered: dict[str, None] = {}  # insertion-ordered and de-duplicated
    for rel in changed + committed:
        if rel:
            ordered.setdefault(rel, None)
    return list(ordered)


def _git(root: Path, *args: str) -> list[str]:
    # Read only: no index refresh written back (the repository is never written to), and no
    # fsmonitor hook, a command a repository's own config could name.
    command = ["git", "-c", "core.quotePath=false", "-c", "core.fsmonitor=false", *args]
    try:
        done = subprocess.run(
            command,
            cwd=root,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return []  # no git, or it hung
    return done.stdout.splitlines() if done.returncode == 0 else []
