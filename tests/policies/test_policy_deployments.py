"""Deployment policies: approved models, pinned versions, provisioned throughput, content filters."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import environment, stack
from policy_harness import Res, check_resource, check_stack, messages

DEPLOYMENT: dict[str, Any] = {
    "accountName": "aoai-prod-swc", "resourceGroupName": "rg", "deploymentName": "gpt-4o",
    "sku": {"name": "ProvisionedManaged", "capacity": 100.0},
    "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"},
                   "raiPolicyName": "default", "versionUpgradeOption": "NoAutoUpgrade"},
}


def deployment(sku: Any = None, **properties: Any) -> dict[str, Any]:
    props = copy.deepcopy(DEPLOYMENT)
    if sku is not None:
        props["sku"] = sku
    for key, value in properties.items():
        if key in ("name", "version", "format"):
            props["properties"]["model"][key] = value
        elif value is None:
            props["properties"].pop(key, None)
        else:
            props["properties"][key] = value
    return props


def run(policy: str, props: dict[str, Any], **kw: Any) -> list[str]:
    return check_resource(policy, t.DEPLOYMENT, props, name="prod-gpt-4o", **kw)


@pytest.mark.parametrize("policy", ["aoai-deployment-model-allowed", "aoai-deployment-version-pinned",
                                    "aoai-deployment-provisioned-throughput"])
def test_the_prod_gpt_4o_deployment_passes(policy: str) -> None:
    assert run(policy, deployment()) == []


def test_an_unapproved_model_is_reported() -> None:
    (message,) = run("aoai-deployment-model-allowed", deployment(name="gpt-9", version="1"))
    assert message.startswith("Deploy one of the approved models ('gpt-4.1', 'gpt-4o', 'gpt-5.1'")
    assert "in model deployment 'prod-gpt-4o' instead of 'gpt-9', or add it to allowedModels" in message


def test_an_unapproved_version_is_reported() -> None:
    assert run("aoai-deployment-model-allowed", deployment(version="2024-05-13")) == [
        "Pin model deployment 'prod-gpt-4o' to an approved version of gpt-4o ('2024-11-20') instead of "
        "'2024-05-13', or add the version to allowedModels after evaluation."]


def test_the_allow_list_is_configurable() -> None:
    props = deployment(version="2024-08-06")
    assert run("aoai-deployment-model-allowed", props, allowedModels={"gpt-4o": ["2024-08-06"]}) == []
    assert run("aoai-deployment-model-allowed", deployment(), allowedModels={"gpt-4.1": ["2025-04-14"]}) == [], \
        "adding a model keeps the default table"
    assert run("aoai-deployment-model-allowed", deployment(), allowedModels={"gpt-4.1": ["2025-04-14"]},
               replace=["allowedModels"]) != []


def test_another_model_format_is_reported() -> None:
    (message,) = run("aoai-deployment-model-allowed", deployment(format="Cohere"))
    assert message.startswith("Set properties.model.format of model deployment 'prod-gpt-4o' to one of 'OpenAI'")


def test_an_unpinned_version_is_reported() -> None:
    props = deployment()
    del props["properties"]["model"]["version"]
    (message,) = run("aoai-deployment-version-pinned", props)
    assert message.startswith("Set properties.model.version on model deployment 'prod-gpt-4o'")


@pytest.mark.parametrize("option", ["OnceNewDefaultVersionAvailable", None])
def test_automatic_upgrades_are_reported_in_prod_and_allowed_in_dev(option: Any) -> None:
    props = deployment(versionUpgradeOption=option)
    (message,) = run("aoai-deployment-version-pinned", props, stack="prod")
    assert message.startswith("Set properties.versionUpgradeOption to 'NoAutoUpgrade' on model deployment "
                              "'prod-gpt-4o'")
    assert run("aoai-deployment-version-pinned", props, stack="dev") == []


def test_a_listed_model_on_shared_quota_is_reported() -> None:
    props = deployment(sku={"name": "Standard", "capacity": 50.0})
    (message,) = run("aoai-deployment-provisioned-throughput", props, provisionedModels=["gpt-4o"])
    assert message.startswith("Deploy gpt-4o in model deployment 'prod-gpt-4o' with a provisioned SKU "
                              "('ProvisionedManaged', 'DataZoneProvisionedManaged' and 'GlobalProvisionedManaged'; "
                              "it is 'Standard')")
    assert run("aoai-deployment-provisioned-throughput", props) == []


def test_the_prod_chat_deployment_on_shared_quota_is_reported_in_prod_only() -> None:
    props = deployment(sku={"name": "DataZoneStandard", "capacity": 50.0})
    props["deploymentName"] = "chat"
    (message,) = run("aoai-deployment-provisioned-throughput", props, stack="prod")
    assert message.startswith("Deploy model deployment 'prod-gpt-4o' (deployment 'chat') with a provisioned SKU "
                              "('ProvisionedManaged', 'DataZoneProvisionedManaged' and 'GlobalProvisionedManaged'; "
                              "it is 'DataZoneStandard')")
    assert run("aoai-deployment-provisioned-throughput", props, stack="dev") == []
    props["deploymentName"] = "chat-paygo"  # the spillover twin of the same model is on shared quota by design
    assert run("aoai-deployment-provisioned-throughput", props, stack="prod") == []


def test_other_models_may_use_shared_quota() -> None:
    props = deployment(sku={"name": "Standard", "capacity": 50.0}, name="gpt-4.1", version="2025-04-14")
    assert run("aoai-deployment-provisioned-throughput", props) == []


@pytest.mark.parametrize("capacity", [10.0, 600.0])
def test_provisioned_capacity_outside_the_bounds_is_reported(capacity: float) -> None:
    props = deployment(sku={"name": "ProvisionedManaged", "capacity": capacity})
    (message,) = run("aoai-deployment-provisioned-throughput", props)
    assert message == (f"Set sku.capacity of model deployment 'prod-gpt-4o' between 15 and 500 PTUs (it is "
                       f"{int(capacity)}).")
    assert run("aoai-deployment-provisioned-throughput", props, minCapacity=5, maxCapacity=1000) == []


# --- aoai-deployment-content-filter ---

def filters(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-deployment-content-filter", stack(env), **kw))


def set_filter(env: dict[str, Res], name: str, source: str, **values: Any) -> None:
    for f in env["rai"].props["properties"]["contentFilters"]:
        if f["name"] == name and f["source"] == source:
            f.update(values)


def test_a_deployment_with_a_strong_filter_of_the_stack_passes() -> None:
    assert filters(environment()) == []


def test_a_deployment_without_a_filter_is_reported() -> None:
    env = environment()
    del env["deployment"].props["properties"]["raiPolicyName"]
    (finding,) = check_stack("aoai-deployment-content-filter", stack(env))
    assert finding.urn == env["deployment"].urn
    assert finding.message.startswith("Set properties.raiPolicyName on model deployment 'swc-deployment-gpt-4o' to a "
                                      "content filter defined in this stack")


def test_a_filter_missing_from_the_stack_is_reported() -> None:
    env = environment()
    env["deployment"].props["properties"]["raiPolicyName"] = "Microsoft.DefaultV2"
    (message,) = filters(env)
    assert message.startswith("Define the RaiPolicy 'Microsoft.DefaultV2' that model deployment "
                              "'swc-deployment-gpt-4o' names on the same account in this stack")


def test_a_filter_of_the_same_name_on_another_account_does_not_count() -> None:
    swc, frc = environment(), environment("frc", "francecentral")
    del swc["rai"]
    (message,) = filters({**swc, **{f"frc-{k}": v for k, v in frc.items()}})
    assert message.startswith("Define the RaiPolicy 'default' that model deployment 'swc-deployment-gpt-4o'")


def test_a_threshold_weaker_than_configured_is_reported() -> None:
    env = environment()
    set_filter(env, "Violence", "Completion", severityThreshold="High")
    (finding,) = check_stack("aoai-deployment-content-filter", stack(env))
    assert finding.urn == env["rai"].urn
    assert finding.message == ("Set severityThreshold of the violence filter on Completion in content filter (RAI "
                               "policy) 'swc-filter' to 'Medium' or stricter (it is 'High'; 'Low' blocks the most).")


def test_the_weakest_threshold_is_configurable_and_low_is_strictest() -> None:
    env = environment()
    set_filter(env, "Hate", "Prompt", severityThreshold="Low")
    assert filters(env) == []
    set_filter(env, "Hate", "Prompt", severityThreshold="High")
    assert filters(env, maxSeverityThreshold="High") == []
    assert len(filters(env, maxSeverityThreshold="Low")) == 8  # all eight category filters are now too weak


def test_a_missing_category_is_reported() -> None:
    env = environment()
    env["rai"].props["properties"]["contentFilters"] = [
        f for f in env["rai"].props["properties"]["contentFilters"] if f["name"] != "Selfharm"]
    assert filters(env) == [
        "Add the selfharm filter on Prompt to content filter (RAI policy) 'swc-filter' (enabled, blocking, "
        "severityThreshold 'Medium' or stricter).",
        "Add the selfharm filter on Completion to content filter (RAI policy) 'swc-filter' (enabled, blocking, "
        "severityThreshold 'Medium' or stricter)."]


def test_disabled_and_annotate_only_filters_are_reported() -> None:
    env = environment()
    set_filter(env, "Sexual", "Prompt", enabled=False)
    set_filter(env, "Hate", "Completion", blocking=False)
    assert filters(env) == [
        "Set blocking to true for the hate filter on Completion in content filter (RAI policy) 'swc-filter': "
        "annotate-only filters let harmful content through.",
        "Enable the sexual filter on Prompt in content filter (RAI policy) 'swc-filter'."]
    assert filters(env, requireBlocking=False) == ["Enable the sexual filter on Prompt in content filter (RAI "
                                                   "policy) 'swc-filter'."]


def test_a_disabled_jailbreak_shield_is_reported_unless_not_required() -> None:
    env = environment()
    set_filter(env, "Jailbreak", "Prompt", enabled=False)
    assert filters(env) == ["Enable and block the Jailbreak (prompt shield) filter on Prompt in content filter (RAI "
                            "policy) 'swc-filter'."]
    assert filters(env, requireJailbreak=False) == []


def test_asynchronous_filtering_is_reported() -> None:
    env = environment()
    env["rai"].props["properties"]["mode"] = "Asynchronous_filter"
    (message,) = filters(env)
    assert message.startswith("Set properties.mode of content filter (RAI policy) 'swc-filter' to one of 'Default' "
                              "and 'Blocking' (it is 'Asynchronous_filter')")


def test_filter_names_are_matched_loosely() -> None:
    env = environment()
    for f in env["rai"].props["properties"]["contentFilters"]:
        f["name"] = {"Selfharm": "self_harm", "Hate": "hate"}.get(f["name"], f["name"])
    assert filters(env) == []


def test_a_shared_filter_is_reported_once_and_input_shaped_links_work() -> None:
    env = environment()
    set_filter(env, "Hate", "Prompt", severityThreshold="High")
    second = copy.deepcopy(env["deployment"])
    second.name = "swc-deployment-gpt-4.1"
    second.props = {"accountName": "aoai-swc", "resourceGroupName": "rg-swc", "id": "/unknown",
                    "properties": dict(second.props["properties"])}
    env["account"].props["resourceGroupName"] = "rg-swc"
    env["second"] = second
    assert len(filters(env)) == 1
