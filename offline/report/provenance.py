"""What a report was made from, so a reviewer can sign it and anyone can check it later: the commit and whether the
tree had uncommitted changes, when it was made (SOURCE_DATE_EPOCH when set), and the SHA-256 of every input file (the
project file, the stack file, the policy config and each file of the policy pack)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..engine import PROJECT_DIR


@dataclass(frozen=True)
class Provenance:
    """The inputs of one report."""

    commit: str
    dirty: tuple[str, ...] | None  # changed paths; None when the tree is not a git checkout
    generated: str
    files: tuple[tuple[str, str], ...]  # (what, path) for the summary
    hashes: tuple[tuple[str, str], ...]  # (path, sha256)
    pack_digest: str
    pack_files: int

    @property
    def tree(self) -> str:
        if self.dirty is None:
            return "not a git checkout: no commit to name"
        if not self.dirty:
            return "clean (no uncommitted change)"
        shown = ", ".join(self.dirty[:5]) + (f" and {len(self.dirty) - 5} more" if len(self.dirty) > 5 else "")
        return f"DIRTY: {len(self.dirty)} uncommitted change(s) ({shown}); the report does not match the commit"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def pack_files(pack_dir: Path) -> list[Path]:
    """The pack's own files (code, PulumiPolicy.yaml, data, requirements), without caches and without config/, which
    is hashed as the policy config."""
    return sorted(p for p in pack_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.relative_to(pack_dir).parts[0] != "config" and p.suffix != ".pyc")


def _name(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def collect(stack_file: Path, policy_config: Path | None, pack_dir: Path, project_dir: Path = PROJECT_DIR,
            now: dt.datetime | None = None) -> Provenance:
    """Hash every input and ask git what the tree is."""
    commit = (_git("rev-parse", "HEAD", cwd=project_dir) or "").strip()
    status = _git("status", "--porcelain", "--untracked-files=normal", cwd=project_dir)
    dirty = None if status is None or not commit else tuple(line[3:] for line in status.splitlines() if line.strip())
    if now is None and os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        # The reproducible-builds convention: a pinned time makes two reports of the same inputs byte-identical.
        now = dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), dt.UTC)
    inputs = [("project", project_dir / "Pulumi.yaml"), ("stack file", stack_file)]
    if policy_config is not None:
        inputs.append(("policy config", policy_config))
    files = pack_files(pack_dir)
    digest = hashlib.sha256()
    hashes = []
    for path in files:
        name = _name(path, project_dir)
        value = sha256(path)
        digest.update(f"{value}  {path.relative_to(pack_dir).as_posix()}\n".encode())
        hashes.append((name, value))
    return Provenance(
        commit=commit or "unknown", dirty=dirty,
        generated=(now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        files=tuple((what, _name(path, project_dir)) for what, path in inputs),
        hashes=tuple([(_name(path, project_dir), sha256(path)) for _, path in inputs] + hashes),
        pack_digest=digest.hexdigest(), pack_files=len(files))
