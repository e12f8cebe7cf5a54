"""What the program tests share: finding one registration."""

from __future__ import annotations

import re

from offline.engine import Graph, Resource

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def one(graph: Graph, type_: str, name_contains: str = "") -> Resource:
    """The one registration of `type_` whose name contains `name_contains` (fails naming the candidates)."""
    found = [r for r in graph.by_type(type_) if name_contains in r.name]
    assert len(found) == 1, (type_, name_contains, [r.name for r in found])
    return found[0]
