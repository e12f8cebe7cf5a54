"""docs/changes.md, followed step by step on copies of the real files: each change fails `check` with the key the page
says to change, passes once the page's policy-config entry is added (quoted from the page itself), and `diff` shows
what the page says it shows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from offline.cli import main
from offline.diff import compare
from offline.engine import Graph
from offline.render import document
from tests.offline.helpers import ROOT
from tests.support import variant

# Each step is checked and diffed on the same stack file: the program runs once per file content (shared_program).
pytestmark = pytest.mark.usefixtures("shared_program")

PAGE = (ROOT / "docs" / "changes.md").read_text()
DEV = (ROOT / "Pulumi.dev.yaml").read_text()
DEV_CONFIG = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
HUB = "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-hub/providers/Microsoft.Network"


def section(title: str) -> str:
    start = PAGE.index(f"\n## {title}\n")
    end = PAGE.find("\n## ", start + 1)
    return PAGE[start:end if end != -1 else None]


def entries(title: str) -> dict[str, Any]:
    """The policy-config entries a section gives in its ```json blocks (placeholders filled for the hub)."""
    found: dict[str, Any] = {}
    for block in re.findall(r"```json\n(.*?)```", section(title), re.DOTALL):
        text = block.strip().rstrip(",").replace("/subscriptions/<hub>/resourceGroups/<rg>/providers/Microsoft.Network"
                                                 "/virtualNetworks/<vnet>/subnets/<subnet>",
                                                 f"{HUB}/virtualNetworks/vnet-hub/subnets/pe")
        found.update(json.loads("{" + text + "}"))
    return found


def check(tmp_path: Path, stack_text: str, config: dict[str, Any], pool: Any,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(stack_text)
    policy = tmp_path / "dev.json"
    policy.write_text(json.dumps(config))
    code = main(["check", "--stack", "dev", "--stack-file", str(stack), "--policy-config", str(policy)], pool=pool)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def plan(tmp_path: Path, stack_text: str) -> dict[str, Any]:
    path = tmp_path / "plan.yaml"
    path.write_text(stack_text)
    return document(variant("dev", stack_file=path))


ADD_MODEL = DEV.replace("  aoai-platform:access:", "    - model: gpt-4.1-mini\n      version: \"2025-04-14\"\n"
                        "      sku: Standard\n      capacity: 10\n  aoai-platform:access:")


def test_add_a_model(tmp_path: Path, pool: Any, capsys: pytest.CaptureFixture[str], graphs: dict[str, Graph]) -> None:
    assert '- model: gpt-4.1-mini\n         version: "2025-04-14"' in section("Add a model")
    code, out = check(tmp_path, ADD_MODEL, DEV_CONFIG, pool, capsys)
    assert code == 1
    assert ("Fix in stack file " in out and "deployments[].model, deployments[].version; or, after review, in policy "
            "config " in out and "aoai-deployment-model-allowed.allowedModels" in out)
    code, out = check(tmp_path, ADD_MODEL, {**DEV_CONFIG, **entries("Add a model")}, pool, capsys)
    assert code == 0, out
    changes = compare(document(graphs["dev"]), plan(tmp_path, ADD_MODEL))
    assert [(c.action, c.name) for c in changes] == [("create", "aoai-dev-swc-openai-deployment-gpt-4.1-mini")]
    assert all(not c.hazards for c in changes)


def test_upgrade_a_version(tmp_path: Path, pool: Any, capsys: pytest.CaptureFixture[str]) -> None:
    old = DEV.replace('      version: "2024-11-20"', '      version: "2024-08-06"', 1)
    config = {**DEV_CONFIG, "aoai-deployment-model-allowed": {"allowedModels": {"gpt-4o": ["2024-08-06"]}}}
    assert check(tmp_path, old, config, pool, capsys)[0] == 0
    changes = compare(plan(tmp_path, old), plan(tmp_path, DEV))
    (change,) = changes
    assert change.action == "update" and not change.hazards
    assert [(p.path, p.old, p.new) for p in change.changes] == [("properties.model.version", "2024-08-06",
                                                                 "2024-11-20")]
    assert 'properties.model.version: "2024-08-06" -> "2024-11-20"' in section("Upgrade a version")
    assert check(tmp_path, DEV, {**DEV_CONFIG, **entries("Upgrade a version")}, pool, capsys)[0] == 0


def add_region(text: str) -> str:
    text = text.replace("      privateEndpointSubnet: 10.30.1.0/24\n", "      privateEndpointSubnet: 10.30.1.0/24\n"
                        "    - location: francecentral\n      vnetAddressSpace: 10.31.0.0/16\n"
                        "      privateEndpointSubnet: 10.31.1.0/24\n")
    text = text.replace("    allowedRegions:\n      - swedencentral\n",
                        "    allowedRegions:\n      - swedencentral\n      - francecentral\n")
    for model in ("gpt-4.1", "gpt-5.1", "gpt-image-1.5"):  # what the page says `check` names: not in francecentral
        text = re.sub(rf"(    - model: {re.escape(model)}\n(      .*\n)*?      capacity: \d+\n)",
                      r"\1      regions: [swedencentral]\n", text, count=1)
    return text


def test_add_a_region(tmp_path: Path, pool: Any, capsys: pytest.CaptureFixture[str], graphs: dict[str, Graph]) -> None:
    stack = add_region(DEV)
    code, out = check(tmp_path, stack, DEV_CONFIG, pool, capsys)
    assert code == 1 and "aoai-allowed-regions: 9 resources" in out and "aoai-guardrail-assignments: 2 resources" in out
    assert "aoai-allowed-regions.allowedRegions" in out and "aoai-guardrail-assignments.allowedLocations" in out
    code, out = check(tmp_path, stack, {**DEV_CONFIG, **entries("Add a region")}, pool, capsys)
    assert code == 0, out
    changes = compare(document(graphs["dev"]), plan(tmp_path, stack))
    assert sum(c.action == "create" for c in changes) == 40 and not [h for c in changes for h in c.hazards]
    assert "shows the region's 40 creates" in section("Add a region")
    unoffered = add_region(DEV).replace("      regions: [swedencentral]\n", "", 3)
    code, out = check(tmp_path, unoffered, DEV_CONFIG, pool, capsys)
    assert code == 2 and "deployments[5].model: 'gpt-image-1.5' is not offered" in out


def test_plug_into_a_hub(tmp_path: Path, pool: Any, capsys: pytest.CaptureFixture[str], graphs: dict[str, Graph]) -> None:
    stack = DEV.replace("    - location: swedencentral\n      vnetAddressSpace: 10.30.0.0/16\n"
                        "      privateEndpointSubnet: 10.30.1.0/24\n",
                        f"    - location: swedencentral\n      existingSubnetId: {HUB}/virtualNetworks/vnet-hub/subnets/pe\n")
    zones = "".join(f"      {key}: {HUB}/privateDnsZones/privatelink.{zone}\n" for key, zone in (
        ("openai", "openai.azure.com"), ("cognitiveservices", "cognitiveservices.azure.com"),
        ("vault", "vaultcore.azure.net")))
    stack = stack.replace("  aoai-platform:keyVault:", f"  aoai-platform:privateDns:\n    existingZoneIds:\n{zones}"
                          "  aoai-platform:keyVault:")
    code, out = check(tmp_path, stack, DEV_CONFIG, pool, capsys)
    assert code == 1 and "aoai-private-endpoint-placement: 2 resources" in out
    assert "regions[].existingSubnetId; or, after review, in policy config" in out
    code, out = check(tmp_path, stack, {**DEV_CONFIG, **entries("Plug into a hub network")}, pool, capsys)
    assert code == 0, out
    changes = {c.name: c for c in compare(document(graphs["dev"]), plan(tmp_path, stack))}
    assert changes["aoai-dev-swc-openai-pe"].action == "replace"
    assert changes["aoai-dev-dns-rg"].action == "delete" and changes["aoai-dev-dns-openai"].action == "delete"
    assert any("privatelink.openai.azure.com" in h for h in changes["aoai-dev-dns-rg"].hazards)


def test_the_page_names_only_commands_and_targets_that_exist() -> None:
    for command in ("make diff STACK=dev", "make check STACK=dev", "make new-stack NAME=staging",
                    "make report STACK=dev"):
        assert command in PAGE, command
