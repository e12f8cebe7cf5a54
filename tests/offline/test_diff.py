"""`python -m offline diff`: create, update, replace and delete per resource, with the hazards a reviewer must see
before `pulumi up` (data-holding resources, location moves, renames, URN changes, resource groups taking their
contents along), and the provisioned capacity and its cost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.cli import main
from offline.diff import StackDiff, capacity_changes, compare, lines, markdown, replacement_table
from offline.engine import Graph, run_program
from offline.prices import load_prices
from offline.render import document
from tests.offline.helpers import ROOT


def plan(stack: str, tmp_path: Path, change: Any = None, name: str = "Pulumi.x.yaml") -> dict[str, Any]:
    """The --json plan of a stack whose stack file was changed by `change(config)`."""
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    if change is not None:
        change(raw["config"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return document(run_program(stack, stack_file=path))


@pytest.fixture(scope="module")
def base(graphs: dict[str, Graph]) -> dict[str, Any]:
    return document(graphs["prod"])


def by_name(changes: list[Any], name: str) -> Any:
    return next(c for c in changes if c.name == name)


def test_an_unchanged_stack_has_no_changes(base: dict[str, Any], graphs: dict[str, Graph]) -> None:
    assert compare(base, document(graphs["prod"])) == []


def test_a_new_deployment_is_created_and_its_ptus_priced(base: dict[str, Any], tmp_path: Path) -> None:
    def add(config: dict[str, Any]) -> None:
        config["aoai-platform:deployments"].append({"name": "chat-2", "model": "gpt-5.1", "version": "2025-11-13",
                                                    "sku": "DataZoneProvisionedManaged", "capacity": 25,
                                                    "spilloverTo": "chat-paygo"})
    head = plan("prod", tmp_path, add)
    changes = compare(base, head)
    created = [c for c in changes if c.action == "create"]
    assert {c.name for c in created} >= {"aoai-prod-swc-openai-deployment-chat-2",
                                        "aoai-prod-frc-openai-deployment-chat-2"}
    caps = {(c.sku, c.region): c for c in capacity_changes(base, head, load_prices())}
    swc = caps[("DataZoneProvisionedManaged", "swedencentral")]
    assert (swc.before, swc.after, swc.delta, swc.monthly_delta) == (50, 75, 25, None)
    assert swc.note == ("no price configured for DataZoneProvisionedManaged in swedencentral: add it to "
                        "settings/data/prices.json")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "USD", "prices": [
        {"sku": "DataZoneProvisionedManaged", "region": "swedencentral", "monthlyPerPtu": 100,
         "source": "agreement CHG-2 (test)", "read": "2026-11-30"}]}))
    priced = {(c.sku, c.region): c for c in capacity_changes(base, head, load_prices(prices, "p.json"))}
    assert priced[("DataZoneProvisionedManaged", "swedencentral")].monthly_delta == 2500
    assert priced[("DataZoneProvisionedManaged", "francecentral")].monthly_delta is None


def test_a_changed_threshold_is_an_update_in_place(base: dict[str, Any], tmp_path: Path) -> None:
    head = plan("prod", tmp_path, lambda c: c["aoai-platform:monitoring"]["alerts"].update(throttledRequestsThreshold=20))
    changes = compare(base, head)
    assert {c.action for c in changes} == {"update"}
    alert = by_name(changes, "aoai-prod-swc-alerts-throttling")
    (change,) = alert.changes
    assert (change.path, change.old, change.new, change.effect) == ("criteria.allOf", change.old, change.new, "update")
    assert alert.hazards == ()


def test_a_renamed_account_is_replaced_and_flagged_as_data(base: dict[str, Any]) -> None:
    head = json.loads(json.dumps(base))
    account = next(r for r in head["resources"] if r["name"] == "aoai-prod-swc-openai-account")
    account["inputs"]["accountName"] = "aoai-prod-swc-x1"
    account["inputs"]["properties"]["customSubDomainName"] = "aoai-prod-swc-x1"
    changes = compare(base, head)
    account = by_name(changes, "aoai-prod-swc-openai-account")
    assert account.action == "replace"
    replaced = {p.path: p for p in account.changes if p.effect == "replace"}
    assert "accountName" in replaced and "part of the resource's ARM id" in replaced["accountName"].reason
    assert any(h.startswith("DATA: Azure OpenAI account 'aoai-prod-swc") for h in account.hazards)
    assert any("is renamed from 'aoai-prod-swc' to 'aoai-prod-swc-x1'" in h for h in account.hazards)
    assert any("is protected: `pulumi up` refuses to replace it" in h for h in account.hazards)
    refused = [p for p in account.changes if p.effect == "refused"]
    assert [p.path for p in refused] == ["properties.customSubDomainName"]
    assert any("Azure will not change properties.customSubDomainName in place" in h for h in account.hazards)


def test_a_new_name_suffix_deletes_every_data_holder_under_its_old_name(base: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    head = plan("prod", tmp_path, lambda c: c.update({"aoai-platform:nameSuffix": "x1"}))
    changes = compare(base, head)
    data = [h for c in changes if c.action in ("delete", "replace") for h in c.hazards if h.startswith("DATA: ")]
    for holder in ("Azure OpenAI account 'aoai-prod-swc'", "Key Vault 'kv-aoai-prod-swc'",
                   "Log Analytics workspace 'log-aoai-prod-swc'"):
        assert any(holder in h for h in data), holder


def test_a_removed_region_is_deleted_with_its_data_holders_flagged(base: dict[str, Any], tmp_path: Path) -> None:
    def drop_france(config: dict[str, Any]) -> None:
        config["aoai-platform:regions"] = config["aoai-platform:regions"][:1]
    head = plan("prod", tmp_path, drop_france)
    changes = compare(base, head)
    deleted = {c.name: c for c in changes if c.action == "delete"}
    assert "aoai-prod-frc-openai-account" in deleted and "aoai-prod-frc-cmk-vault" in deleted
    assert any(h.startswith("DATA: Key Vault 'kv-aoai-prod-frc' holds data or keys and would be deleted")
               for h in deleted["aoai-prod-frc-cmk-vault"].hazards)
    group = deleted["aoai-prod-frc-rg"]
    assert any(h.startswith("DATA: resource group 'rg-aoai-prod-frc' is deleted: Azure deletes a resource group "
                            "with everything in it") for h in group.hazards)


def test_putting_a_new_region_first_moves_the_shared_dns_and_says_the_zones_go(base: dict[str, Any],
                                                                                tmp_path: Path) -> None:
    head = plan("prod", tmp_path, lambda c: c["aoai-platform:regions"].reverse())
    changes = compare(base, head)
    dns = by_name(changes, "aoai-prod-dns-rg")
    assert dns.action == "replace"
    assert [p.path for p in dns.changes if p.effect == "replace"] == ["location"]
    assert any("moves from swedencentral to francecentral: Azure cannot move it, so it is replaced" in h
               for h in dns.hazards)
    zones = next(h for h in dns.hazards if h.startswith("resource group 'rg-aoai-prod-dns' is replaced"))
    for zone in ("privatelink.openai.azure.com", "privatelink.cognitiveservices.azure.com",
                 "privatelink.vaultcore.azure.net"):
        assert zone in zones
    text = "\n".join(lines(StackDiff("prod", "main", "0" * 40, tuple(changes))))
    assert "hazards (" in text and "privatelink.openai.azure.com" in text.split("\nreplace (")[0]


def test_a_changed_urn_is_called_out(base: dict[str, Any]) -> None:
    head = json.loads(json.dumps(base))
    vault = next(r for r in head["resources"] if r["name"] == "aoai-prod-swc-cmk-vault")
    vault["urn"] = vault["urn"].replace("aoai-prod-swc-cmk-vault", "aoai-prod-swc-vault")
    vault["name"] = "aoai-prod-swc-vault"
    changes = compare(base, head)
    created = by_name(changes, "aoai-prod-swc-vault")
    assert created.action == "create"
    assert any(h.startswith("URN change: Key Vault 'kv-aoai-prod-swc' moves from") and "aliases" in h
               for h in created.hazards)
    assert by_name(changes, "aoai-prod-swc-cmk-vault").action == "delete"


def test_the_replacement_table_covers_every_type_the_stacks_create(graphs: dict[str, Graph]) -> None:
    table = replacement_table()
    assert table["read"] == "2026-11-30" and set(table["sources"]) >= {"path", "createOnly", "forceNewMap"}
    types = {r.type for stack in ("dev", "prod") for r in graphs[stack].resources
             if r.custom and r.type.startswith("azure-native:")}
    assert types <= set(table["types"]), types - set(table["types"])
    for type_, rules in table["types"].items():
        assert rules["path"], type_
        for source in (rules.get("refused") or {}).values():
            assert source in table["sources"] or len(source) > 40, (type_, source)


def test_the_markdown_comment_leads_with_hazards(base: dict[str, Any], tmp_path: Path) -> None:
    head = plan("prod", tmp_path, lambda c: c["aoai-platform:regions"].reverse())
    diff = StackDiff("prod", "origin/main", "a" * 40, tuple(compare(base, head)),
                     tuple(capacity_changes(base, head, load_prices())))
    text = markdown([diff])
    assert text.index("**Hazards**") < text.index("| Action | Resource |")
    assert "| replace | `aoai-prod-dns-rg` | `ResourceGroup` | `location` (replaces) |" in text
    assert "- PTU DataZoneProvisionedManaged swedencentral: 50 → 50 (+0); no price configured" in text


def test_the_command_diffs_the_working_tree_against_a_git_ref(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out = tmp_path / "diff.json"
    assert main(["diff", "--stack", "dev", "--base", "HEAD", "--json", str(out), "--markdown",
                 str(tmp_path / "diff.md")]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Stack dev: working tree against HEAD ({head[:12]})")
    document = json.loads(out.read_text())
    (stack,) = document["stacks"]
    assert stack["baseCommit"] == head and set(stack["summary"]) == {"create", "update", "replace", "delete"}
    assert (tmp_path / "diff.md").read_text().startswith("## What this change does to each stack")
