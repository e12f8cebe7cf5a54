"""Quota before `pulumi up`: every stack that deploys into a subscription counts against its quota together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.cli import main
from offline.quota import project_settings, quota_report
from settings import SettingsError, parse_settings
from tests.support import stack_values


def write_quota(root: Path, subscription: str, region: str, usages: dict[str, tuple[int, int]]) -> None:
    """A snapshot in the Usages API's shape: usage name -> (limit, current value)."""
    path = root / "quota" / subscription / f"{region}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"x-retrieved": "2026-11-30", "x-source": {"quota": "test"}, "value": [
        {"name": {"value": name, "localizedValue": name}, "limit": limit, "currentValue": current, "unit": "Count"}
        for name, (limit, current) in usages.items()]}))


def settings_of(stack: str, **changes: Any) -> Any:
    raw = stack_values(stack)
    raw.update(changes)
    return parse_settings(raw, stack)


def test_capacity_of_every_stack_in_one_subscription_adds_up_per_usage(tmp_path: Path) -> None:
    write_quota(tmp_path, "shared", "swedencentral", {"OpenAI.Standard.gpt4.1": (15, 0),
                                                      "OpenAI.DataZoneProvisionedManaged": (500, 0)})
    dev = settings_of("dev", subscription="shared")
    prod = settings_of("prod", subscription="shared")
    report = quota_report([dev, prod], data_dir=tmp_path)
    lines = {(line.location, line.usage): line for line in report.lines}
    gpt41 = lines[("swedencentral", "OpenAI.Standard.gpt4.1")]
    # dev's gpt-4.1 is regional Standard (10); prod's is DataZoneStandard, another usage.
    assert (gpt41.total, gpt41.limit, gpt41.over) == (10, 15, False)
    ptu = lines[("swedencentral", "OpenAI.DataZoneProvisionedManaged")]
    assert (ptu.total, ptu.over) == (50, False)
    assert report.problems() == []
    assert "shared/francecentral" in report.unchecked


def test_going_over_names_the_stacks_deployments_and_snapshot(tmp_path: Path) -> None:
    write_quota(tmp_path, "shared", "swedencentral", {"OpenAI.DataZoneProvisionedManaged": (60, 10)})
    raw = stack_values("dev")
    raw["subscription"] = "shared"
    raw["residency"] = {"mode": "dataZone", "dataZone": "EU", "allowedRegions": ["swedencentral"]}
    raw["deployments"].append({"name": "dev-chat", "model": "gpt-5.1", "version": "2025-11-13",
                               "sku": "DataZoneProvisionedManaged", "capacity": 15})
    dev = parse_settings(raw, "dev")
    prod = settings_of("prod", subscription="shared")
    report = quota_report([dev, prod], data_dir=tmp_path)
    (problem,) = report.problems()
    assert problem.startswith("quota exceeded: shared/swedencentral OpenAI.DataZoneProvisionedManaged: 65 of 60, 10 "
                              "in use today (asked by dev:dev-chat (15), prod:chat (50); quota snapshot ")
    assert "ask Azure for more quota" in problem


def test_separate_subscriptions_do_not_share_quota(tmp_path: Path) -> None:
    write_quota(tmp_path, "nonprod", "swedencentral", {"OpenAI.DataZoneProvisionedManaged": (20, 0)})
    write_quota(tmp_path, "prod", "swedencentral", {"OpenAI.DataZoneProvisionedManaged": (50, 0)})
    report = quota_report([settings_of("dev"), settings_of("prod")], data_dir=tmp_path)
    assert report.problems() == []
    (ptu,) = [line for line in report.lines if line.usage == "OpenAI.DataZoneProvisionedManaged"]
    assert (ptu.subscription, ptu.total, ptu.limit) == ("prod", 50, 50)


def test_the_stacks_of_this_project_are_read_from_their_files() -> None:
    stacks = {s.stack: s.subscription for s in project_settings()}
    assert stacks == {"dev": "nonprod", "prod": "prod"}


def test_check_refuses_a_stack_over_quota_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    write_quota(tmp_path, "prod", "swedencentral", {"OpenAI.DataZoneProvisionedManaged": (30, 0)})
    monkeypatch.setattr("offline.quota.DATA_DIR", tmp_path)
    assert main(["quota"]) == 2
    captured = capsys.readouterr()
    assert "OVER  prod/swedencentral OpenAI.DataZoneProvisionedManaged: 50 of 30" in captured.out
    assert "quota exceeded" in captured.err and "Traceback" not in captured.err
    assert main(["check", "--stack", "prod"]) == 2
    assert "quota exceeded: prod/swedencentral" in capsys.readouterr().err


def test_a_stack_file_s_subscription_id_reaches_the_settings_check_across_stacks(tmp_path: Path) -> None:
    """The program checks guardrail scopes against azure-native:subscriptionId (settings.load_settings); the quota
    check, which `check` runs first over every stack file, must read them the same way, or a stack that pins its
    guardrails to its subscription is refused as uncheckable before the program runs."""
    import yaml

    from offline.engine import SUBSCRIPTION_ID
    from tests.support import ROOT

    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["aoai-platform:guardrails"]["scope"] = f"/subscriptions/{SUBSCRIPTION_ID}"
    pinned = tmp_path / "Pulumi.prod.yaml"
    pinned.write_text(yaml.safe_dump(document))
    with pytest.raises(SettingsError, match="cannot be checked against the stack's subscription"):
        project_settings(overrides={"prod": pinned})  # no subscription id: refused, as by the program
    document["config"]["azure-native:subscriptionId"] = SUBSCRIPTION_ID
    pinned.write_text(yaml.safe_dump(document))
    (prod,) = [s for s in project_settings(overrides={"prod": pinned}) if s.stack == "prod"]
    assert prod.guardrails.scope_kind == "subscription"
