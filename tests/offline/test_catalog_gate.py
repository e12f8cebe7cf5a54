"""The offline gate refuses what Azure would refuse at `pulumi up`: exit 2, the stack key, what Azure offers there and
the snapshot's date, before any resource is registered."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.cli import main
from settings.model_catalog import load_catalog
from tests.offline.helpers import ROOT


def stack_file(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    deployments = copy.deepcopy(document["config"]["aoai-platform:deployments"])
    change(deployments)
    document["config"]["aoai-platform:deployments"] = deployments
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def run_check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "--stack", "prod", "--stack-file", str(path)])
    return code, capsys.readouterr().err


CASES = {
    "a retired version": (
        lambda ds: ds[2].update(model="o3", version="2025-04-16"),
        "deployments[2].version: '2025-04-16' of o3 was retired on 2026-10-21 (allowed: a version Azure still serves: "
        "Microsoft names gpt-5.6-sol 2026-07-09 as its successor (model catalogue of swedencentral read 2026-11-30))"),
    "a SKU the region does not offer": (
        lambda ds: ds[2].update(sku="Standard"),
        "deployments[2].sku: 'Standard' is not offered (allowed: one of DataZoneBatch, DataZoneProvisionedManaged, "
        "DataZoneStandard, GlobalBatch, GlobalProvisionedManaged, GlobalStandard for gpt-4.1 2025-04-14 in "
        "francecentral (model catalogue of francecentral read 2026-11-30))"),
    "a model the region does not offer": (
        lambda ds: ds.append({"model": "whisper", "version": "001", "capacity": 1}),
        "deployments[5].model: 'whisper' is not offered (allowed: a model Azure offers in francecentral (model "
        "catalogue of francecentral read 2026-11-30); offered there:"),
    "a capacity out of bounds": (
        lambda ds: ds[0].update(capacity=12),
        "deployments[0].capacity: 12 is below the minimum of 15 (allowed: from 15 to 100000 in steps of 5 PTUs for "
        "gpt-5.1 2025-11-13 on DataZoneProvisionedManaged in swedencentral (model catalogue of swedencentral read "
        "2026-11-30))"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_what_azure_would_refuse_fails_check_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         case: str) -> None:
    change, expected = CASES[case]
    code, err = run_check(stack_file(tmp_path, change), capsys)
    assert code == 2
    assert expected in err, err
    assert "Traceback" not in err


def test_a_malformed_catalogue_file_fails_with_exit_2_and_the_way_to_regenerate_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    for name in ("swedencentral", "francecentral"):
        (data / "models" / f"{name}.json").write_text((ROOT / "settings" / "data" / "models" / f"{name}.json")
                                                      .read_text())
    (data / "model-lifecycle.json").write_text((ROOT / "settings" / "data" / "model-lifecycle.json").read_text())
    broken = json.loads((data / "models" / "francecentral.json").read_text())
    broken["value"][0]["model"]["skus"][0]["capacity"]["maximum"] = "lots"
    (data / "models" / "francecentral.json").write_text(json.dumps(broken))
    monkeypatch.setattr("settings.parse.load_catalog", lambda: load_catalog(data))
    code, err = run_check(ROOT / "Pulumi.prod.yaml", capsys)
    assert code == 2 and "Traceback" not in err
    assert f"{data / 'models' / 'francecentral.json'}: value[0].model.skus[0].capacity.maximum: expected a whole " \
           "number, found 'lots'; regenerate it with `python -m offline catalog refresh --location francecentral`" in err
