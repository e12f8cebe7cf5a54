"""Governance: canonical type tokens, the type allow-list, property shapes, ignoreChanges, the environment tag, the
stack's own identities, and the guard that turns a crash into a refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aoai_policies import tokens as t
from aoai_policies.common import duration_days
from aoai_policies.governance import normalize_path, shape_problems
from aoai_policies.tokens import PROGRAM_TYPES, canonical_type
from policy_fixtures import arm, environment, stack
from policy_harness import PolicyResourceOptions, check_stack, messages, policy, urn_of
from pulumi_policy import PolicyCustomTimeouts, ResourceValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy


def run(policy_name: str, resource_type: str, props: dict[str, Any], ignore_changes: list[str] | None = None,
        name: str = "subject", **config: Any) -> list[str]:
    """A resource policy over one resource, with resource options (ignoreChanges) the harness does not set."""
    from policy_harness import full_config

    p = policy(policy_name)
    opts = PolicyResourceOptions(False, ignore_changes or [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(props), urn_of(resource_type, name), name,
                                  opts, None, full_config(p, "prod", **config))
    found: list[str] = []
    p.validate(args, lambda message, urn=None: found.append(message))  # type: ignore[misc]
    return found


# --- canonical type tokens ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [
    "azure-native:cognitiveservices:Account",
    "azure-native:cognitiveservices/v20250601:Account",
    "azure-native:cognitiveservices/v20250401preview:Account",
    "azure-native_cognitiveservices_v20250601:cognitiveservices/v20250601:Account",
    "azure-native:CognitiveServices:Account",
])
def test_every_spelling_of_an_azure_native_type_is_the_default_packages(token: str) -> None:
    assert canonical_type(token) == t.ACCOUNT


def test_the_insights_module_is_judged_as_monitor_and_other_providers_stay_themselves() -> None:
    assert canonical_type("azure-native:insights/v20210501preview:DiagnosticSetting") == t.DIAGNOSTIC_SETTING
    assert canonical_type("pulumi:providers:azure-native_keyvault_v20241101") == "pulumi:providers:azure-native"
    for token in ("azure:cognitive/account:Account", "pulumi-python:dynamic:Resource", "pulumi-nodejs:dynamic:Resource",
                  "azure-native:resources:Deployment", "azure-native:resources:Resource"):
        assert canonical_type(token) == token


def test_a_policy_judges_a_versioned_package_like_the_default_one() -> None:
    props = {"properties": {"publicNetworkAccess": "Enabled"}}
    for token in ("azure-native:cognitiveservices/v20250601:Account",
                  "azure-native_cognitiveservices_v20250601:cognitiveservices/v20250601:Account"):
        (message,) = run("aoai-account-public-network-disabled", token, props)
        assert message.startswith("Set properties.publicNetworkAccess to 'Disabled' on Azure OpenAI account")


def test_stack_policies_find_resources_under_their_versioned_tokens() -> None:
    env = environment()
    env["vault"].type = "azure-native:keyvault/v20241101:Vault"
    env["vault"].props["properties"]["enablePurgeProtection"] = False
    (message,) = messages(check_stack("aoai-key-vault-protection", stack(env)))
    assert message.startswith("Set properties.enablePurgeProtection to true on Key Vault 'swc-vault'")


# --- full ISO 8601 durations --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "days"), [
    ("P90D", 90), ("P1Y", 365), ("P6M", 180), ("P2W", 14), ("PT720H", 30), ("P1DT12H", 1.5), ("PT1440M", 1),
    ("P1Y2M3DT24H", 365 + 60 + 3 + 1), ("p30d", 30), ("P0.5Y", 182.5),
])
def test_durations_are_read_in_every_iso_8601_unit(text: str, days: float) -> None:
    assert duration_days(text) == pytest.approx(days)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "90 days", "P90", "1Y", "", 90, None])
def test_anything_else_is_not_a_duration(text: Any) -> None:
    assert duration_days(text) is None


# --- aoai-allowed-resource-types ----------------------------------------------------------------------------------

def test_the_programs_types_and_their_versioned_spellings_are_allowed() -> None:
    for token in (t.ACCOUNT, t.KEY, "azure-native:keyvault/v20241101:Key", "aoai:network:Network"):
        assert run("aoai-allowed-resource-types", token, {}) == []


@pytest.mark.parametrize("token", [
    "azure:cognitive/account:Account", "azure-native:resources:Deployment", "azure-native:resources:Resource",
    "pulumi-python:dynamic:Resource", "pulumi-nodejs:dynamic:Resource", "azure-native:storage:StorageAccount",
])
def test_types_the_pack_does_not_judge_are_refused(token: str) -> None:
    (message,) = run("aoai-allowed-resource-types", token, {}, name="sneaky")
    assert f"(type '{token}')" in message and "additionalAllowedTypes" in message


def test_a_stack_admits_a_reviewed_type_through_its_config() -> None:
    assert run("aoai-allowed-resource-types", "azure-native:storage:StorageAccount", {},
               additionalAllowedTypes=["azure-native:storage/v20240101:StorageAccount"]) == []


def test_the_baseline_lists_exactly_the_types_of_both_stacks(program_graphs: Callable[[str], Any]) -> None:
    created = {r.type for stack_name in ("dev", "prod") for r in program_graphs(stack_name).resources}
    engine = {"pulumi:pulumi:Stack", "pulumi:providers:azure-native", "pulumi:providers:time"}
    # Created only when a stack declares guardrails.exemptions (tests/test_guardrails.py builds one).
    configured = {t.POLICY_EXEMPTION}
    assert created | engine | configured == set(PROGRAM_TYPES)


# --- aoai-property-shapes -----------------------------------------------------------------------------------------

def test_well_formed_properties_pass_and_unknowns_wait() -> None:
    props = {"properties": {"keyOps": ["wrapKey", UNKNOWN_STRING_VALUE], "keySize": 2048.0,
                            "attributes": {"enabled": True, "expires": UNKNOWN_STRING_VALUE}}, "tags": {"a": "b"}}
    assert run("aoai-property-shapes", t.KEY, props) == []


@pytest.mark.parametrize(("resource_type", "props", "path", "expected"), [
    (t.KEY, {"properties": {"keyOps": [{"op": "wrapKey"}]}}, "properties.keyOps", "list of strings"),
    (t.VAULT, {"properties": {"softDeleteRetentionInDays": "7"}}, "properties.softDeleteRetentionInDays", "number"),
    (t.KEY, {"properties": {"keySize": "2048"}}, "properties.keySize", "number"),
    (t.ACCOUNT, {"properties": {"disableLocalAuth": "true"}}, "properties.disableLocalAuth", "boolean"),
    (t.ACCOUNT, {"properties": {"allowedFqdnList": {"host": "x"}}}, "properties.allowedFqdnList", "list of strings"),
    (t.ACCOUNT, {"properties": {"networkAcls": {"ipRules": {"value": "1.2.3.4"}}}}, "properties.networkAcls.ipRules",
     "list of objects"),
    (t.DEPLOYMENT, {"sku": {"capacity": "100"}}, "sku.capacity", "number"),
    (t.ROLE_ASSIGNMENT, {"roleDefinitionId": 8}, "roleDefinitionId", "string"),
    (t.NETWORK_SECURITY_GROUP, {"securityRules": [{"priority": "100"}]}, "securityRules[0].priority", "number"),
    (t.WORKSPACE, {"workspaceCapping": {"dailyQuotaGb": "1"}}, "workspaceCapping.dailyQuotaGb", "number"),
    (t.VAULT, {"tags": ["owner"]}, "tags", "map of strings"),
])
def test_a_malformed_property_is_named_with_its_resource(resource_type: str, props: dict[str, Any], path: str,
                                                         expected: str) -> None:
    (message,) = run("aoai-property-shapes", resource_type, props, name="broken")
    assert message.startswith(f"Set {path} on ") and "'broken'" in message and f"to a {expected}" in message


def test_the_shape_table_covers_the_properties_the_pack_reads() -> None:
    assert shape_problems(t.KEY, {"properties": {"rotationPolicy": {"lifetimeActions": [
        {"trigger": {"timeAfterCreate": 180}}]}}}) == [
        ("properties.rotationPolicy.lifetimeActions[0].trigger.timeAfterCreate", 180, "string")]


def test_a_malformed_value_makes_a_policy_refuse_not_crash() -> None:
    # Before the guard, a keyOps list of objects raised TypeError (unhashable) out of aoai-cmk-key-strength and
    # failed the whole stack check; an unhashable model name did the same in aoai-deployment-model-allowed.
    (message,) = run("aoai-deployment-model-allowed", t.DEPLOYMENT,
                     {"properties": {"model": {"format": "OpenAI", "name": {"x": 1}, "version": "1"}}})
    assert message.startswith("Deploy one of the approved models")
    env = environment()
    env["key"].props["keyOps"] = [{"op": "wrapKey"}]
    (finding,) = check_stack("aoai-cmk-key-strength", stack(env))
    assert "Allow keyOps 'wrapKey' and 'unwrapKey'" in finding.message


def test_the_guard_reports_an_unexpected_error_as_a_refusal() -> None:
    from aoai_policies.common import Stack, Violation, resource_policy, stack_policy
    from aoai_policies.metadata import CHANGE_CONTROL, POLICY_METADATA, PolicyMeta
    from pulumi_policy import Severity, StackValidationArgs

    def crash(*_: Any) -> Any:
        yield "a first finding is kept"
        raise TypeError("unhashable type: 'dict'")

    meta = PolicyMeta(name="aoai-test-crash", control="other", concern="test", display_name="crash",
                      severity=Severity.LOW, controls=CHANGE_CONTROL, remediation="none")
    try:
        resource = resource_policy(meta, "Crashes.", None, {}, crash)
        found: list[str] = []
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
        resource.validate(ResourceValidationArgs(t.KEY, {}, "urn:k", "k", opts, None, {}),
                          lambda message, urn=None: found.append(message))  # type: ignore[misc]
        assert found[0] == ("a first finding is kept\nFix in policy config policies/config/<stack>.json: "
                            "aoai-test-crash.exemptResources")
        assert found[1].startswith("Correct the malformed properties of key 'k': policy aoai-test-crash could not "
                                   "evaluate them (TypeError: unhashable type: 'dict')")

        def crash_stack(stack_: Stack, cfg: Any) -> Any:
            yield Violation("a first stack finding is kept", None)
            raise KeyError("properties")

        whole = stack_policy(meta, "Crashes.", {}, crash_stack)
        reported: list[str] = []
        whole.validate(StackValidationArgs([], {}), lambda message, urn=None: reported.append(message))
        assert reported[0].startswith("a first stack finding is kept\nFix in ")
        assert reported[1].startswith("Correct the malformed properties of a resource of this stack: policy "
                                      "aoai-test-crash could not evaluate them (KeyError: 'properties')")
    finally:
        POLICY_METADATA.pop("aoai-test-crash", None)


# --- aoai-no-security-ignore-changes ------------------------------------------------------------------------------

def test_ignoring_insensitive_properties_and_a_vnets_subnets_passes() -> None:
    assert run("aoai-no-security-ignore-changes", t.VIRTUAL_NETWORK, {}, ["subnets"]) == []
    assert run("aoai-no-security-ignore-changes", t.DEPLOYMENT, {}, ["sku.capacity"]) == []


@pytest.mark.parametrize(("resource_type", "paths"), [
    (t.ACCOUNT, ["properties.networkAcls"]), (t.ACCOUNT, ["properties"]), (t.ACCOUNT, ["identity"]),
    (t.ACCOUNT, ["properties.encryption.keyVaultProperties.keyVersion"]), (t.VAULT, ["properties.network_acls"]),
    (t.ACCOUNT, ['properties["publicNetworkAccess"]']), (t.NETWORK_SECURITY_GROUP, ["securityRules[0].access"]),
    (t.SUBNET, ["privateEndpointNetworkPolicies"]), (t.ROLE_ASSIGNMENT, ["scope"]), (t.KEY, ["*"]),
])
def test_ignoring_a_security_relevant_property_is_refused(resource_type: str, paths: list[str]) -> None:
    (message,) = run("aoai-no-security-ignore-changes", resource_type, {}, paths)
    assert message.startswith(f"Remove '{paths[0]}' from ignoreChanges of ")


def test_a_reviewed_exception_is_configured_per_type() -> None:
    assert run("aoai-no-security-ignore-changes", t.SUBNET, {}, ["subnets"]) != []  # only a VNet's subnets
    assert run("aoai-no-security-ignore-changes", t.DEPLOYMENT, {}, ["sku.name"],
               allowedIgnoreChanges={t.DEPLOYMENT: ["sku.name"]}) == []


def test_paths_are_compared_as_the_engine_resolves_them() -> None:
    assert normalize_path('properties["network_acls"][0].ipRules[*]') == "properties.networkacls.iprules"


# --- aoai-environment-tag -----------------------------------------------------------------------------------------

def test_the_environment_tag_must_name_the_configured_environment() -> None:
    assert run("aoai-environment-tag", t.VAULT, {"tags": {"environment": "prod"}}) == []
    (message,) = run("aoai-environment-tag", t.VAULT, {"tags": {"environment": "staging"}}, name="kv")
    assert message.startswith("Set tag 'environment' on Key Vault 'kv' to 'prod' (it is 'staging')")


def test_without_a_configured_environment_the_stack_name_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "staging")
    assert run("aoai-environment-tag", t.VAULT, {"tags": {"environment": "staging"}}, environment="") == []
    assert run("aoai-environment-tag", t.VAULT, {"tags": {"environment": "prod"}}, environment="") != []
    monkeypatch.delenv("PULUMI_STACK")
    (message,) = run("aoai-environment-tag", t.VAULT, {"tags": {"environment": "prod"}}, environment="")
    assert "cannot be verified against an unknown environment" in message


# --- aoai-stack-identities-only -----------------------------------------------------------------------------------

def test_the_stacks_own_identity_passes_and_a_foreign_one_is_refused() -> None:
    env = environment()
    assert check_stack("aoai-stack-identities-only", stack(env)) == []
    foreign = arm("rg-other", "Microsoft.ManagedIdentity/userAssignedIdentities/id-shared")
    env["account"].props["identity"]["userAssignedIdentities"][foreign] = {"principalId": "p", "clientId": "c"}
    (finding,) = check_stack("aoai-stack-identities-only", stack(env))
    assert finding.urn == env["account"].urn
    assert finding.message.startswith(f"Remove '{foreign}' from identity.userAssignedIdentities of Azure OpenAI "
                                      f"account 'swc-account'")
    assert check_stack("aoai-stack-identities-only", stack(env), approvedIdentityIds=[foreign.upper()]) == []
