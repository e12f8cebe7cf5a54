"""Settings: every bad value is reported at once, naming the key, the value and what is allowed."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

import pytest

from offline.engine import AzureMocks, RecordingMonitor, run_program, stack_config
from settings import SettingsError, load_settings, parse_settings
from settings.catalog import ROLE_IDS
from settings.model_catalog import load_catalog
from tests.support import stack_values

TODAY = dt.date(2026, 11, 30)


def problems(raw: dict[str, Any]) -> list[str]:
    """The problems of `raw`, run as the stack its `environment` names (the name check has tests of its own)."""
    stack = raw["environment"] if isinstance(raw.get("environment"), str) else "test"
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, stack, today=TODAY)
    return caught.value.problems


def test_both_stack_files_parse_cleanly() -> None:
    for stack in ("dev", "prod"):
        settings = parse_settings(stack_values(stack), stack, today=TODAY)
        assert settings.environment == stack


def test_prod_settings_carry_residency_and_protection() -> None:
    s = parse_settings(stack_values("prod"), "prod", today=TODAY)
    assert [r.location for r in s.regions] == ["swedencentral", "francecentral"]
    assert s.residency.data_zone == "EU" and s.residency.mode == "dataZone"
    assert "DataZoneProvisionedManaged" in s.residency.allowed_skus and "GlobalStandard" not in s.residency.allowed_skus
    assert s.key_vault.key_type == "RSA-HSM" and s.key_vault.sku == "premium"
    assert s.protection.protect and s.protection.locks
    chat = next(d for d in s.deployments if d.name == "chat")
    assert (chat.sku, chat.spillover) == ("DataZoneProvisionedManaged", "chat-paygo")


def test_the_stacks_deploy_only_what_the_catalogue_offers_unretired_in_every_region_today() -> None:
    """Green offline means green on Azure: every deployment of both stacks is offered, on its SKU, in each of its
    regions, by the committed snapshot, and not retired on the day the test runs."""
    catalog = load_catalog()
    today = dt.date.today()
    for stack in ("dev", "prod"):
        s = parse_settings(stack_values(stack), stack, today=today)
        for d in s.deployments:
            for location in d.regions:
                region = catalog.region(location)
                assert region is not None, (stack, location)
                offer = region.offers[(d.model, d.version)]
                assert d.sku in offer.skus, (stack, d.name, location)
                assert not offer.retired(today), (stack, d.name, location)
                assert offer.skus[d.sku].capacity.problem(d.capacity) is None, (stack, d.name, location)


def test_an_unpinned_deployment_takes_the_version_azure_marks_current() -> None:
    raw = stack_values("dev")
    for d in raw["deployments"]:
        d.pop("version")
    s = parse_settings(raw, "dev", today=TODAY)
    region = load_catalog().region("swedencentral")
    assert region is not None
    for d in s.deployments:
        current = region.current(d.model, TODAY)
        assert current is not None and d.version == current.version


def test_model_catalog_is_a_retired_setting_with_a_pointer_to_its_replacement() -> None:
    raw = stack_values("dev")
    raw["modelCatalog"] = {"gpt-4o": {"version": "2024-08-06"}}
    assert any(p.startswith("modelCatalog: {'gpt-4o': {'version': '2024-08-06'}} is no longer a setting (allowed: "
                            "model availability now comes from Azure's own answers") for p in problems(raw))


def test_tags_gain_environment_and_keep_required_ones() -> None:
    s = parse_settings(stack_values("prod"), "prod", today=TODAY)
    assert s.tags["environment"] == "prod"
    assert {"owner", "costCenter", "dataClassification", "managedBy"} <= set(s.tags)


BAD_CONFIGS: list[tuple[str, str, Any, str]] = [
    # (description, dotted path to set, bad value, text the problem must contain)
    ("unknown region", "regions.0.location", "moon-1", "regions[0].location: 'moon-1' is not allowed (allowed: one of"),
    ("not a CIDR", "regions.0.vnetAddressSpace", "10.0.0.0/33", "regions[0].vnetAddressSpace: '10.0.0.0/33' is not a CIDR"),
    ("public CIDR", "regions.0.vnetAddressSpace", "8.8.0.0/16", "'8.8.0.0/16' is not private"),
    ("host bits", "regions.0.privateEndpointSubnet", "10.40.1.5/24", "'10.40.1.5/24' has host bits set"),
    ("subnet outside", "regions.0.privateEndpointSubnet", "10.99.1.0/24", "'10.99.1.0/24' is outside the VNet"),
    ("overlapping VNets", "regions.1.vnetAddressSpace", "10.40.128.0/17", "overlaps another region"),
    ("model not in catalogue", "deployments.0.model", "gpt-9", "deployments[0].model: 'gpt-9' is not offered (allowed: a model Azure offers in swedencentral (model catalogue of swedencentral read 2026-11-30)"),
    ("unknown SKU", "deployments.1.sku", "Premium", "deployments[1].sku: 'Premium' is not allowed"),
    ("global SKU under data-zone residency", "deployments.1.sku", "GlobalStandard", "breaks data residency"),
    ("SKU the model lacks", "deployments.4.sku", "DataZoneProvisionedManaged", "deployments[4].sku: 'DataZoneProvisionedManaged' is not offered (allowed: one of DataZoneStandard, GlobalStandard for text-embedding-3-small 1 in swedencentral"),
    ("SKU the region lacks", "deployments.2.sku", "Standard", "deployments[2].sku: 'Standard' is not offered (allowed: one of DataZoneBatch, DataZoneProvisionedManaged, DataZoneStandard, GlobalBatch, GlobalProvisionedManaged, GlobalStandard for gpt-4.1 2025-04-14 in francecentral"),
    ("retired version", "deployments.2.version", "2024-11-20", "deployments[2].version: '2024-11-20' is not offered (allowed: a version of gpt-4.1 offered in swedencentral"),
    ("capacity off the PTU step", "deployments.0.capacity", 52, "deployments[0].capacity: 52 is not a multiple of the step 5 (allowed: from 15 to 100000 in steps of 5 PTUs for gpt-5.1 2025-11-13 on DataZoneProvisionedManaged in swedencentral"),
    ("capacity below the PTU minimum", "deployments.0.capacity", 10, "deployments[0].capacity: 10 is below the minimum of 15"),
    ("spillover to a regional SKU", "deployments.1.sku", "Standard", "deployments[1].sku: 'Standard' is not offered"),
    ("spillover to itself", "deployments.0.spilloverTo", "gpt-4.1", "deployments[0].spilloverTo: 'gpt-4.1' serves gpt-4.1 2025-04-14 (allowed: a deployment of gpt-5.1 2025-11-13)"),
    ("data-zone SKU outside a data zone", "regions.1.location", "uksouth", "regions[1].location: 'uksouth' breaks data residency"),
    ("deprecated RAI mode", "contentFilters.default.mode", "Deferred", "contentFilters.default.mode: 'Deferred' is superseded by 'Asynchronous_filter' in API 2025-06-01 (allowed: one of Default, Asynchronous_filter)"),
    ("undocumented RAI mode", "contentFilters.default.mode", "Blocking", "contentFilters.default.mode: 'Blocking' is in the API's enum but documented nowhere by Microsoft"),
    ("legacy server-error metric", "monitoring.alerts.latencyMetric", "ServerErrors", "monitoring.alerts.latencyMetric: 'ServerErrors' is marked 'Do not use for Azure OpenAI service' by Microsoft"),
    ("server-errors metric is no setting", "monitoring.alerts.serverErrorsMetric", "ServerErrors", "monitoring.alerts.serverErrorsMetric: 'ServerErrors' is no longer a setting"),
    ("server error code not 5xx", "monitoring.alerts.serverErrorStatusCodes", ["500", "429"], "monitoring.alerts.serverErrorStatusCodes[1]: '429' is not allowed"),
    ("account dynamic throttling", "account.dynamicThrottling", True, "account.dynamicThrottling: true is not a known setting"),
    ("rotation shorter than Key Vault allows", "keyVault.rotateAfter", "P6D", "keyVault.rotateAfter: 'P6D' is too short (allowed: an ISO 8601 duration such as P90D, P6M, P1Y, P4W or PT720H, at least 7 days)"),
    ("key lifetime below 28 days", "keyVault.keyLifetime", "P27D", "keyVault.keyLifetime: 'P27D' is too short"),
    ("bare P duration", "keyVault.notifyBefore", "P", "keyVault.notifyBefore: 'P' is not an ISO 8601 duration"),
    ("hours counted", "keyVault.rotateAfter", "PT8800H", "would let a key version expire before it is rotated"),
    ("propagation wait not a duration", "keyVault.rbacPropagationDelay", "two minutes", "keyVault.rbacPropagationDelay: 'two minutes' is not allowed (allowed: a wait such as 2m, 90s or 0s (none), at most 15m)"),
    ("propagation wait too long", "keyVault.rbacPropagationDelay", "1h", "keyVault.rbacPropagationDelay: '1h' is longer than any documented propagation"),
    ("rotation within 7 days of expiry", "keyVault.rotateAfter", "P360D", "would let a key version expire before it is rotated"),
    ("capacity zero", "deployments.0.capacity", 0, "deployments[0].capacity: 0 is not allowed (allowed: a whole number"),
    ("capacity fractional", "deployments.0.capacity", 1.5, "deployments[0].capacity: 1.5 is not allowed"),
    ("principal not a GUID", "access.0.principalId", "alice", "access[0].principalId: 'alice' is not allowed (allowed: a GUID"),
    ("principal type", "access.0.principalType", "Robot", "access[0].principalType: 'Robot' is not allowed"),
    ("privileged role", "access.0.role", "Owner", "'Owner' is privileged and is never granted from stack config"),
    ("unknown role", "access.0.role", "Cognitive Wizard", "access[0].role: 'Cognitive Wizard' is not allowed"),
    ("retention too short", "monitoring.retentionDays", 7, "monitoring.retentionDays: 7 is not allowed"),
    ("bad e-mail", "monitoring.alertEmails.0", "oncall-at-contoso", "monitoring.alertEmails[0]: 'oncall-at-contoso'"),
    ("tag key", "tags.bad/key", "x", "tags.bad/key: 'bad/key' is not a valid tag key"),
    ("data classification", "tags.dataClassification", "secret", "tags.dataClassification: 'secret' is not allowed (allowed: one of public, internal, confidential, restricted)"),
    ("HSM key in standard vault", "keyVault.sku", "standard", "keyVault.sku: 'standard' is not allowed (allowed: premium"),
    ("key size", "keyVault.keySize", 4096, "keyVault.keySize: 4096 is not allowed (allowed: one of 2048)"),
    ("expired key", "keyVault.keyExpiresOn", "2025-01-01", "is in the past"),
    ("rotation after expiry", "keyVault.rotateAfter", "P2Y", "would let a key version expire before it is rotated"),
    ("region outside residency", "regions.1.location", "westeurope", "regions[1].location: 'westeurope' breaks data residency"),
    ("unknown top-level key", "modelCatalogue", {}, "modelCatalogue: {} is not a known setting"),
    ("subscription name", "subscription", "prod subscription!", "subscription: 'prod subscription!' is not allowed"),
    ("warning window", "modelLifecycle.warningDays", -1, "modelLifecycle.warningDays: -1 is not allowed"),
    ("typo in a sub-key", "monitoring.retentionDay", 90, "monitoring.retentionDay: 90 is not a known setting"),
    ("cloud", "cloud", "mars", "cloud: 'mars' is not allowed (allowed: one of public, usgovernment)"),
    ("environment name", "environment", "Production!", "environment: 'Production!' is not allowed"),
    ("upgrade option", "deployments.0.versionUpgradeOption", "Always", "deployments[0].versionUpgradeOption: 'Always'"),
    ("filter threshold", "contentFilters.default.severityThreshold", "None", "severityThreshold: 'None' is not allowed"),
    ("unknown filter", "deployments.0.contentFilter", "lenient", "deployments[0].contentFilter: 'lenient' is not allowed"),
]


def set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@pytest.mark.parametrize("what,path,value,expected", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_setting_is_reported_with_key_value_and_allowed(what: str, path: str, value: Any, expected: str) -> None:
    raw = stack_values("prod")
    set_path(raw, path, value)
    found = problems(raw)
    assert any(expected in p for p in found), f"{what}: expected {expected!r} in {found}"


def test_every_problem_is_reported_at_once() -> None:
    raw = stack_values("prod")
    set_path(raw, "regions.0.vnetAddressSpace", "10.0.0.0/33")
    set_path(raw, "deployments.0.capacity", -1)
    set_path(raw, "access.0.principalId", "bob")
    set_path(raw, "monitoring.retentionDays", 1)
    found = problems(raw)
    assert len(found) >= 4
    message = str(SettingsError(found))
    assert message.startswith(f"The stack configuration has {len(found)} problem(s):")


def test_missing_required_settings_are_named() -> None:
    found = problems({})
    for key in ("environment", "regions", "keyVault.keyExpiresOn", "deployments", "tags.owner", "tags.costCenter",
                "tags.dataClassification"):
        assert any(p.startswith(f"{key}: is required") for p in found), (key, found)


def test_data_zone_mode_requires_a_zone_and_regions_inside_it() -> None:
    raw = stack_values("prod")
    raw["residency"] = {"mode": "dataZone"}
    assert any(p.startswith("residency.dataZone: is required") for p in problems(raw))
    raw["residency"] = {"mode": "dataZone", "dataZone": "US"}
    assert any("regions[0].location: 'swedencentral' breaks data residency" in p for p in problems(raw))


def test_regional_mode_refuses_data_zone_skus() -> None:
    raw = stack_values("prod")
    raw["residency"] = {"mode": "regional", "allowedRegions": ["swedencentral", "francecentral"]}
    found = problems(raw)
    assert any(p.startswith("deployments[0].sku: 'DataZoneProvisionedManaged' is not allowed (allowed: one of "
                            "ProvisionedManaged, Standard under residency.mode regional) and breaks data residency")
               or "deployments[0].sku: 'DataZoneProvisionedManaged' breaks data residency" in p for p in found), found


def test_existing_subnet_and_ranges_are_exclusive() -> None:
    raw = stack_values("prod")
    raw["regions"][0]["existingSubnetId"] = (
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub/providers/"
        "Microsoft.Network/virtualNetworks/vnet-spoke/subnets/pe")
    assert any("conflicts with existingSubnetId" in p for p in problems(raw))


def test_existing_zone_ids_must_name_the_right_zones() -> None:
    raw = stack_values("prod")
    prefix = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub/providers/Microsoft.Network/"
    raw["privateDns"] = {"existingZoneIds": {
        "openai": prefix + "privateDnsZones/privatelink.openai.azure.com",
        "cognitiveservices": prefix + "privateDnsZones/privatelink.openai.azure.com",
    }}
    found = problems(raw)
    assert any(p.startswith("privateDns.existingZoneIds.cognitiveservices:") for p in found)
    assert any(p.startswith("privateDns.existingZoneIds.vault: is required") for p in found)


def test_vault_name_longer_than_azure_allows_is_refused() -> None:
    raw = stack_values("prod")
    raw["namePrefix"] = "contosoai"
    raw["nameSuffix"] = "abcdef"
    assert any("gives a Key Vault name too long" in p for p in problems(raw))


def test_settings_error_stops_the_program_before_any_resource() -> None:
    raw = stack_values("prod")
    monitor = RecordingMonitor(AzureMocks())
    with pytest.raises(SettingsError) as caught:
        run_program("prod", config_overrides={"monitoring": dict(raw["monitoring"], retentionDays=3)}, monitor=monitor)
    assert "monitoring.retentionDays: 3 is not allowed (allowed: a whole number from 30 to 730)" in str(caught.value)
    assert monitor.registrations == []


def test_load_settings_reads_config_the_way_the_cli_passes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi up` hands the program its config as JSON in PULUMI_CONFIG, every value a string."""
    import json

    import pulumi
    from pulumi.runtime.config import CONFIG

    project, config = stack_config("prod")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setattr(pulumi, "get_project", lambda: project)
    monkeypatch.setattr(pulumi, "get_stack", lambda: "prod")
    token = CONFIG.set({})
    try:
        settings = load_settings()
    finally:
        CONFIG.reset(token)
    assert settings.environment == "prod" and len(settings.regions) == 2
    assert os.environ["PULUMI_CONFIG"]


def test_role_table_has_every_reference_role() -> None:
    assert ROLE_IDS["Key Vault Crypto Service Encryption User"] == "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    assert ROLE_IDS["Cognitive Services OpenAI User"] == "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
    # Microsoft Learn "Azure built-in roles" (ms.date 2026-04-09, read 2026-11-30); a typo here once let grants of
    # the real role pass the privileged-role policy.
    assert ROLE_IDS["User Access Administrator"] == "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", i) for i in ROLE_IDS.values())
    assert len(set(ROLE_IDS.values())) == len(ROLE_IDS)


def test_ai_services_accounts_need_the_ai_services_zone_from_the_hub() -> None:
    raw = stack_values("prod")
    prefix = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub/providers/Microsoft.Network/"
    raw["account"]["kind"] = "AIServices"
    raw["privateDns"] = {"existingZoneIds": {key: prefix + f"privateDnsZones/{zone}" for key, zone in (
        ("openai", "privatelink.openai.azure.com"), ("cognitiveservices", "privatelink.cognitiveservices.azure.com"),
        ("vault", "privatelink.vaultcore.azure.net"))}}
    assert any(p.startswith("privateDns.existingZoneIds.aiservices: is required") for p in problems(raw))


def test_system_assigned_identity_needs_a_step_and_the_step_needs_it() -> None:
    raw = stack_values("dev")
    raw["keyVault"]["identity"] = "systemAssigned"
    assert any(p.startswith("keyVault.systemAssignedStep: is required (allowed: one of 1, 2)") for p in problems(raw))
    raw["keyVault"]["systemAssignedStep"] = 3
    assert any(p.startswith("keyVault.systemAssignedStep: 3 is not allowed") for p in problems(raw))
    raw["keyVault"]["identity"] = "userAssigned"
    raw["keyVault"]["systemAssignedStep"] = 2
    assert any("keyVault.systemAssignedStep: 2 has no effect" in p for p in problems(raw))
    raw["keyVault"]["identity"] = "systemAssigned"
    settings = parse_settings(raw, "dev", today=TODAY)
    assert settings.key_vault.encrypts_account and settings.key_vault.system_assigned_step == 2


def test_a_stack_copied_from_another_must_change_its_environment() -> None:
    raw = stack_values("dev")
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, "staging", today=TODAY)
    (problem,) = [p for p in caught.value.problems if p.startswith("environment:")]
    assert "'dev' differs from the stack name 'staging'" in problem and "allowEnvironmentMismatch" in problem
    raw["allowEnvironmentMismatch"] = True
    assert parse_settings(raw, "staging", today=TODAY).environment == "dev"


def test_an_empty_region_list_is_a_settings_error_not_a_crash() -> None:
    raw = stack_values("dev")
    raw["regions"] = []
    assert "regions: [] is empty (allowed: a list of one or more regions, each with location and a network)" \
        in problems(raw)


@pytest.mark.parametrize("path, value, hint", [
    ("keyVault.keySise", 2048, "did you mean 'keySize'?"),
    ("regions.0.location", "swedencentrl", "did you mean 'swedencentral'?"),
    ("access.0.role", "Cognitive Services OpenAI Usr", "did you mean 'Cognitive Services OpenAI User'?"),
    ("deployments.0.model", "gpt-4.l", "did you mean 'gpt-4.1'?"),
    ("monitoringg", {}, "did you mean 'monitoring'?"),
])
def test_a_near_miss_gets_a_did_you_mean(path: str, value: Any, hint: str) -> None:
    raw = stack_values("prod")
    set_path(raw, path, value)
    assert any(p.endswith(hint) for p in problems(raw)), problems(raw)


def test_a_version_written_as_a_number_says_to_quote_it() -> None:
    raw = stack_values("dev")
    raw["deployments"][3]["version"] = 1
    assert any(p.startswith('deployments[3].version: 1 is a number, not a version (allowed: the version in quotes, '
                            'as Azure lists it: version: "1"') for p in problems(raw))
