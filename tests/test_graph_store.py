"""The session's graph store (tests.support.variant, `_shared`): a graph is built by one process and read whole by
the others; a failed build leaves nothing behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.output import Unknown

import tests.support
from tests.support import ROOT, _fingerprint, _shared, variant


def same(fingerprint: str) -> str:
    """A fingerprint without object addresses (each unknown is an object of its own)."""
    return re.sub(r" at 0x[0-9a-f]+", "", fingerprint)


def test_a_graph_is_built_once_and_read_back_whole_in_another_process(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tests.support, "GRAPH_STORE", tmp_path)
    graph = variant("dev", first_preview=True)  # a first preview: its computed values are unknowns
    built: list[int] = []

    def build() -> object:
        built.append(1)
        return graph

    assert _shared("dev first preview", build) is graph and built == [1]
    read = _shared("dev first preview", build)
    assert built == [1] and read is not graph and same(_fingerprint(read)) == same(_fingerprint(graph))
    account = next(r for r in read.resources if r.name == "aoai-dev-swc-openai-account")
    assert isinstance(account.outputs["properties"]["endpoint"], Unknown)
    # Another process (an xdist worker) reads it without running anything.
    code = ("import sys; from pathlib import Path; import tests.support as s; s.GRAPH_STORE = Path(sys.argv[1]); "
            "g = s._shared('dev first preview', lambda: sys.exit('built again')); print(len(g.resources))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, str(len(graph.resources))), done.stderr


def test_a_build_that_fails_leaves_nothing_and_the_next_one_builds(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tests.support, "GRAPH_STORE", tmp_path)

    def fail() -> object:
        raise ValueError("settings refused")

    with pytest.raises(ValueError, match="settings refused"):
        _shared("refused", fail)
    assert not list(tmp_path.glob("*.pickle*"))
    assert _shared("refused", lambda: "built") == "built"
