"""Residency: resource regions, deployment SKUs by residency mode, and where diagnostic logs go."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import arm, environment, stack
from policy_harness import Res, check_resource, check_stack, messages


def region_check(location: Any, resource_type: str = t.VAULT, **kw: Any) -> list[str]:
    props = {} if location is None else {"location": location}
    return check_resource("aoai-allowed-regions", resource_type, props, name="prod-vault", **kw)


@pytest.mark.parametrize("location", ["swedencentral", "francecentral", "Sweden Central", "global", None])
def test_approved_global_and_locationless_resources_pass(location: Any) -> None:
    assert region_check(location) == []


def test_a_resource_outside_the_approved_regions_is_reported() -> None:
    assert region_check("westeurope") == [
        "Move Key Vault 'prod-vault' from 'westeurope' to one of 'swedencentral' and 'francecentral' "
        "(allowedRegions): the stack's data must stay in the approved regions."]


def test_every_type_is_checked_not_only_known_ones() -> None:
    assert region_check("eastus", "azure-native:storage:StorageAccount") != []


def test_provider_resources_are_not_checked() -> None:
    assert region_check("eastus", "pulumi:providers:azure-native") == []


def test_allowed_regions_come_from_the_stack_config() -> None:
    assert region_check("francecentral", stack="dev") != []
    assert region_check("westeurope", allowedRegions=["westeurope"]) == []


def sku_check(sku: str, **kw: Any) -> list[str]:
    return check_resource("aoai-deployment-sku-residency", t.DEPLOYMENT, {"sku": {"name": sku, "capacity": 10.0}},
                          name="prod-gpt-4o", **kw)


@pytest.mark.parametrize("sku", ["Standard", "ProvisionedManaged"])
def test_regional_skus_pass(sku: str) -> None:
    assert sku_check(sku) == []


def test_a_global_sku_is_reported_as_breaking_residency() -> None:
    (message,) = sku_check("GlobalStandard", residencyMode="regional")
    assert message == ("Set sku.name of model deployment 'prod-gpt-4o' to one of 'Standard' and 'ProvisionedManaged' "
                       "(it is 'GlobalStandard'): Global SKUs process prompts in any Azure region, which breaks data "
                       "residency.")
    assert sku_check("GlobalStandard") != [], "prod (EU data zone) refuses it too"


def test_data_zone_skus_need_data_zone_mode() -> None:
    assert sku_check("DataZoneStandard", residencyMode="regional") != []
    assert sku_check("DataZoneStandard", residencyMode="dataZone") == []
    assert sku_check("DataZoneStandard") == [], "prod keeps data in the EU data zone"
    assert sku_check("GlobalBatch", residencyMode="dataZone") != []


def test_global_skus_need_the_explicit_waiver() -> None:
    assert sku_check("GlobalProvisionedManaged", allowGlobalSkus=True) == []


def same_region(resources: list[Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-diagnostics-same-region", resources, **kw))


def test_logs_sent_to_the_regions_own_workspace_pass() -> None:
    assert same_region(stack(environment(), environment("frc", "francecentral"))) == []


def test_logs_sent_to_another_regions_workspace_are_reported() -> None:
    swc, frc = environment(), environment("frc", "francecentral")
    swc["account_diag"].props["workspaceId"] = frc["workspace"].props["id"]
    (finding,) = check_stack("aoai-diagnostics-same-region", stack(swc, frc))
    assert finding.urn == swc["account_diag"].urn
    assert finding.message.startswith(
        "Send diagnostic setting 'swc-account-diagnostics' to a workspace in 'swedencentral', the region of Azure "
        "OpenAI account 'swc-account' (the workspace is in 'francecentral')")


def test_a_workspace_outside_the_stack_needs_its_region_declared() -> None:
    env = environment()
    central = arm("rg-soc", "Microsoft.OperationalInsights/workspaces/log-soc")
    env["vault_diag"].props["workspaceId"] = central
    (message,) = same_region(stack(env))
    assert message.startswith(f"Declare the region of workspace '{central}'")
    assert same_region(stack(env), externalWorkspaceLocations={central: "swedencentral"}) == []
    assert same_region(stack(env), externalWorkspaceLocations={central: "westeurope"}) != []


def test_the_source_is_found_from_resource_uri_as_in_inputs() -> None:
    swc, frc = environment(), environment("frc", "francecentral")
    diag = swc["vault_diag"]
    diag.props.update(id="/x", resourceUri=swc["vault"].props["id"], workspaceId=frc["workspace"].props["id"])
    assert len(same_region(stack(swc, frc))) == 1
