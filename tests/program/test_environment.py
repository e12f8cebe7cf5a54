"""A regional environment as the composition wires it, under the mock engine: deterministic names, protection and locks,
tags, residency, camelCase inputs, outputs, independent regions, and the two-step system-assigned key enablement."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

from offline.engine import AzureMocks, Graph, RecordingMonitor, run_program
from settings.catalog import ROLE_IDS
from settings.shapes import (
    ACCOUNT,
    DATA_TYPES,
    DEPLOYMENT,
    KEY,
    LOCK,
    PRIVATE_ENDPOINT,
    RAI_POLICY,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    USER_ASSIGNED_IDENTITY,
    VAULT,
    VIRTUAL_NETWORK,
    WORKSPACE,
)
from tests.program.helpers import one
from tests.support import scenario_graph, stack_values


def test_names_are_deterministic_across_runs(prod_graph: Graph) -> None:
    again = run_program("prod")
    # Registration order varies with asyncio scheduling; what Azure receives must not.
    assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in prod_graph.resources}


def test_prod_protects_and_locks_everything_that_holds_data(prod_graph: Graph) -> None:
    locks = {lock.inputs["scope"]: lock.inputs for lock in prod_graph.by_type(LOCK)}
    for type_ in DATA_TYPES:
        resources = prod_graph.by_type(type_)
        assert len(resources) == 2
        for resource in resources:
            assert resource.protect, f"{resource.name} must be protected"
            assert locks[resource.id]["level"] == "CanNotDelete", f"{resource.name} needs a CanNotDelete lock"


def test_dev_has_neither_protect_nor_locks(dev_graph: Graph) -> None:
    assert dev_graph.by_type(LOCK) == []
    assert not any(r.protect for r in dev_graph.resources)


def _taggable(type_: str) -> bool:
    package, module, cls = type_.split(":")
    if package != "azure-native":
        return False  # the time provider's Sleep is not an Azure resource
    klass = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), cls)
    return "tags" in inspect.signature(klass._internal_init).parameters


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_resource_carries_the_required_tags(stack: str, dev_graph: Graph, prod_graph: Graph) -> None:
    graph = dev_graph if stack == "dev" else prod_graph
    custom = [r for r in graph.resources if r.custom]
    taggable = [r for r in custom if _taggable(r.type)]
    # The detection must find the resources that hold data and reach them (a ratio of all resources no longer says
    # that: policy assignments, one per control and region, take no tags).
    assert {ACCOUNT, VAULT, KEY, WORKSPACE, USER_ASSIGNED_IDENTITY, PRIVATE_ENDPOINT, DEPLOYMENT, RAI_POLICY} <= {r.type for r in taggable}
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        for key in ("owner", "costCenter", "dataClassification", "environment"):
            assert tags.get(key), f"{resource.name} ({resource.type}) lacks tag {key}"
        assert tags["environment"] == stack


def test_every_located_resource_stays_in_its_region(prod_graph: Graph) -> None:
    for resource in prod_graph.resources:
        location = resource.inputs.get("location")
        if location is None or location == "global":
            continue
        assert location in {"swedencentral", "francecentral"}
        code = "frc" if location == "francecentral" else "swc"
        if resource.type != RESOURCE_GROUP or "dns" not in resource.name:
            assert f"-{code}" in resource.name, f"{resource.name} is in {location}"


def test_every_input_is_in_engine_camel_case(prod_graph: Graph) -> None:
    """A snake_case key means a dict the SDK did not translate: Azure would ignore or reject it."""
    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                # Map keys are data, not property names: tag keys, and a policy definition's parameter names
                # (Key Vault's private-link built-in really names its effect parameter `audit_effect`).
                assert path.endswith((".tags", ".parameters")) or "_" not in key, f"untranslated key {path}.{key}"
                walk(inner, f"{path}.{key}")
        elif isinstance(value, list):
            for inner in value:
                walk(inner, path)
    for resource in prod_graph.resources:
        walk(resource.inputs, resource.name)


def test_outputs_describe_each_region(prod_graph: Graph) -> None:
    outputs = prod_graph.outputs
    assert outputs["environment"] == "prod"
    assert set(outputs["regions"]) == {"swedencentral", "francecentral"}
    swc = outputs["regions"]["swedencentral"]
    assert swc["endpoint"] == "https://aoai-prod-swc.openai.azure.com/"
    assert swc["accountName"] == "aoai-prod-swc"
    assert swc["accountId"] == one(prod_graph, ACCOUNT, "swc").id
    assert swc["keyVaultUri"] == "https://kv-aoai-prod-swc.vault.azure.net/"
    assert swc["keyId"] == one(prod_graph, KEY, "swc").id
    assert swc["workspaceId"] == one(prod_graph, WORKSPACE, "swc").id
    assert {"principalId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04", "principalType": "ServicePrincipal",
            "role": "Cognitive Services OpenAI User", "scope": "account"} in swc["access"]
    assert swc["deployments"]["chat"] == {"model": "gpt-5.1", "version": "2025-11-13",
                                          "sku": "DataZoneProvisionedManaged", "capacity": 50,
                                          "spilloverTo": "chat-paygo"}


def test_regions_are_independent_environments(prod_graph: Graph) -> None:
    """Each region has its own vault, key, identity, account and workspace, so data never crosses regions."""
    for type_ in (VAULT, KEY, USER_ASSIGNED_IDENTITY, ACCOUNT, WORKSPACE, VIRTUAL_NETWORK):
        assert len(prod_graph.by_type(type_)) == 2, type_
    french = one(prod_graph, ACCOUNT, "frc")
    assert french.inputs["properties"]["encryption"]["keyVaultProperties"]["keyVaultUri"] == (
        "https://kv-aoai-prod-frc.vault.azure.net/")


def _system_assigned(step: int) -> Graph:
    """The two steps of the system-assigned enablement: the scenario files tests/scenarios/system-assigned-key*."""
    return scenario_graph("system-assigned-key-step-1" if step == 1 else "system-assigned-key")


def test_system_assigned_step_one_grants_the_accounts_identity_and_does_not_encrypt_yet() -> None:
    graph = _system_assigned(1)
    account = one(graph, ACCOUNT)
    grant = one(graph, ROLE_ASSIGNMENT, "account-key-access")
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    assert "encryption" not in account.inputs["properties"]
    assert graph.by_type(USER_ASSIGNED_IDENTITY) == []
    assert grant.inputs["principalId"] == account.outputs["identity"]["principalId"]
    assert grant.inputs["scope"] == one(graph, KEY).id
    assert grant.inputs["roleDefinitionId"].endswith(ROLE_IDS["Key Vault Crypto Service Encryption User"])
    assert account.urn in grant.dependencies and grant.urn not in account.dependencies


def test_system_assigned_step_two_encrypts_without_an_identity_client_id() -> None:
    graph = _system_assigned(2)
    account = one(graph, ACCOUNT)
    key = one(graph, KEY)
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    assert account.inputs["properties"]["encryption"] == {
        "keySource": "Microsoft.KeyVault",
        "keyVaultProperties": {"keyVaultUri": "https://kv-aoai-dev-swc.vault.azure.net/", "keyName": "aoai-cmk",
                               "keyVersion": key.outputs["keyUriWithVersion"].rsplit("/", 1)[1]}}
    # The grant keeps its name across both steps, so step 2 changes nothing but the account's encryption.
    assert one(graph, ROLE_ASSIGNMENT, "account-key-access").urn == one(_system_assigned(1), ROLE_ASSIGNMENT, "account-key-access").urn


def test_the_system_assigned_grant_is_the_compositions_and_keeps_the_resource_made_under_the_key() -> None:
    """The composition grants the account's identity through assign_role once the account exists (no callback into
    the finished key component); an alias to its former parent keeps the assignment a stack already has, so the move
    neither deletes it nor creates a second one under the same GUID name."""
    aliases: dict[str, list[Any]] = {}

    class AliasRecorder(RecordingMonitor):
        def RegisterResource(self, request: Any) -> Any:
            aliases[request.name] = [a.spec for a in request.aliases if a.spec.parentUrn]
            return super().RegisterResource(request)

    raw = stack_values("dev")
    graph = run_program("dev", monitor=AliasRecorder(AzureMocks()), config_overrides={
        "keyVault": dict(raw["keyVault"], identity="systemAssigned", systemAssignedStep=1)})
    grant = one(graph, ROLE_ASSIGNMENT, "account-key-access")
    environment = graph.named("aoai-dev-swc")
    key_component = graph.named("aoai-dev-swc-cmk")
    assert grant.parent == environment.urn
    (alias,) = aliases[grant.name]
    assert alias.parentUrn == key_component.urn and not alias.name and not alias.type
    # The engine forms the aliased URN as it forms any: the parent's type chain, then this type and name. It must be
    # the URN the grant had when the key component created it.
    aliased = f"urn:pulumi:dev::aoai-platform::{alias.parentUrn.split('::')[2]}${grant.type}::{grant.name}"
    assert aliased == ("urn:pulumi:dev::aoai-platform::aoai:environment:RegionalEnvironment$aoai:keyvault:"
                       "CustomerManagedKey$azure-native:authorization:RoleAssignment::aoai-dev-swc-cmk-account-key-access")


def test_the_account_waits_for_the_key_grant_through_depends_on_at_its_call_site(prod_graph: Graph) -> None:
    """The composition says it once (depends_on on the account component); the account resource, which Azure
    validates against the key, carries the same edges, so the pack's ordering check sees them on it."""
    for code in ("swc", "frc"):
        grant = prod_graph.named(f"aoai-prod-{code}-cmk-key-access")
        wait = prod_graph.named(f"aoai-prod-{code}-cmk-rbac-propagation")
        component = prod_graph.named(f"aoai-prod-{code}-openai")
        account = one(prod_graph, ACCOUNT, code)
        assert set(component.dependencies) == {grant.urn, wait.urn}
        assert {grant.urn, wait.urn} <= set(account.dependencies)
