"""The policy pack's copy of the model retirement dates, derived from the program's catalogue.

The pack may not import the program, so it reads its own file, `policies/aoai_policies/data/model-retirements.json`.
This module computes what that file must hold (per model version, the earliest retirement date Azure announces in any
region of the catalogue, or Microsoft's retirement page for versions no region lists any more), writes it after a
catalogue refresh, and gives the test that holds the two equal its expected value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from settings.model_catalog import ModelCatalog

PACK_FILE = Path(__file__).resolve().parent.parent / "policies" / "aoai_policies" / "data" / "model-retirements.json"


def pack_retirements(catalog: ModelCatalog) -> dict[str, Any]:
    """{"retirements": {model: {version: "YYYY-MM-DD"}}, "x-source": ...} from the catalogue: the earliest date,
    since retirements roll out region by region and a stack may deploy to any region."""
    earliest: dict[tuple[str, str], str] = {}
    dates = [((name, version), offer.retirement) for region in catalog.regions.values()
             for (name, version), offer in region.offers.items()]
    dates += [((s.model, s.version), s.retirement) for s in catalog.lifecycle.values() if s.version != "*"]
    for key, day in dates:
        if day is not None and (key not in earliest or day.isoformat() < earliest[key]):
            earliest[key] = day.isoformat()
    table: dict[str, dict[str, str]] = {}
    for (model, version), retired in sorted(earliest.items()):
        table.setdefault(model, {})[version] = retired
    retrieved = sorted({region.retrieved.isoformat() for region in catalog.regions.values()})
    return {
        "x-source": {
            "derived-from": "settings/data/models/*.json (deprecation.inference per model version, earliest region) "
                            "and settings/data/model-lifecycle.json; written by `python -m offline catalog refresh`",
            "catalogue-retrieved": retrieved[-1] if retrieved else "",
        },
        "retirements": table,
    }


def write_pack_retirements(catalog: ModelCatalog, path: Path | None = None) -> Path:
    """Rewrite the pack's retirement table from the catalogue."""
    path = path or PACK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pack_retirements(catalog), indent=1) + "\n")
    return path
