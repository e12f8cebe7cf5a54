"""Lifecycle policies: no retired model version; provisioned deployments spill over inside the residency boundary."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aoai_policies import tokens as t
from aoai_policies.lifecycle import default_retirements
from policy_fixtures import environment, stack
from policy_harness import Res, check_resource, check_stack, messages

RETIRED = {"format": "OpenAI", "name": "o4-mini", "version": "2025-04-16"}
CURRENT = {"format": "OpenAI", "name": "gpt-4.1", "version": "2025-04-14"}


def deployment(model: dict[str, str]) -> dict[str, Any]:
    return {"deploymentName": "chat", "sku": {"name": "DataZoneStandard", "capacity": 10.0},
            "properties": {"model": dict(model), "raiPolicyName": "default"}}


def not_retired(model: dict[str, str], **kw: Any) -> list[str]:
    return check_resource("aoai-deployment-not-retired", t.DEPLOYMENT, deployment(model), name="prod-chat", **kw)


def test_a_version_azure_still_serves_passes() -> None:
    assert not_retired(CURRENT) == []


def test_a_retired_version_is_reported_with_its_date_and_the_fix() -> None:
    assert not_retired(RETIRED) == [
        "Move model deployment 'prod-chat' off o4-mini version '2025-04-16', retired on 2026-10-16: Azure answers "
        "every request to a retired model with an error. Pin the version Azure offers now "
        "(settings/data/models/<region>.json) in the stack file's deployments[].version."]


def test_the_evaluation_date_and_the_table_are_configurable() -> None:
    assert not_retired(RETIRED, evaluationDate="2026-10-15") == [], "the day before retirement"
    assert not_retired(CURRENT, evaluationDate="2027-04-14") != [], "gpt-4.1 2025-04-14 retires on 2027-04-14"
    table = copy.deepcopy(default_retirements())
    table["gpt-4.1"]["2025-04-14"] = "2026-01-01"
    assert not_retired(CURRENT, retirements=table) != [], "a stack may announce an earlier date"


def test_a_version_the_table_does_not_know_is_left_to_the_approval_policy() -> None:
    assert not_retired({"format": "OpenAI", "name": "gpt-9", "version": "1"}) == []


def spillover_stack(target_sku: str | None, spill: str | None = "chat-paygo") -> list[Res]:
    env = environment()
    provisioned = env["deployment"]
    provisioned.props["sku"] = {"name": "DataZoneProvisionedManaged", "capacity": 50.0}
    if spill is not None:
        provisioned.props["properties"]["spilloverDeploymentName"] = spill
    if target_sku is not None:
        target = copy.deepcopy(provisioned)
        target.name = provisioned.name + "-paygo"
        target.props["id"] = provisioned.props["id"].rsplit("/", 1)[0] + "/chat-paygo"
        target.props["name"] = "chat-paygo"
        target.props["sku"] = {"name": target_sku, "capacity": 100.0}
        target.props["properties"].pop("spilloverDeploymentName", None)
        env["deployment_paygo"] = target
    return stack(env)


def spillover(resources: list[Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-provisioned-spillover", resources, **kw))


def test_a_provisioned_deployment_with_a_matching_spillover_target_passes() -> None:
    assert spillover(spillover_stack("DataZoneStandard")) == []


def test_a_provisioned_deployment_without_spillover_is_reported_in_prod_only() -> None:
    (message,) = spillover(spillover_stack(None, spill=None))
    assert message.startswith("Name a pay-per-token deployment in properties.spilloverDeploymentName of model "
                              "deployment 'swc-deployment-gpt-4o' (stack file: deployments[].spilloverTo)")
    assert spillover(spillover_stack(None, spill=None), stack="dev") == []


def test_a_spillover_target_missing_from_the_account_is_reported() -> None:
    (message,) = spillover(spillover_stack(None))
    assert message == ("Create the spillover deployment 'chat-paygo' that model deployment 'swc-deployment-gpt-4o' "
                       "names on the same account in this stack.")


@pytest.mark.parametrize(("sku", "text"), [
    ("GlobalStandard", "on 'Standard' or 'DataZoneStandard' (it is 'GlobalStandard'): overflow must stay within the "
                       "dataZone residency boundary"),
    ("Standard", "on 'DataZoneStandard' (it is 'Standard'): Azure spills over only to the standard SKU of the same "
                 "data processing level"),
    ("DataZoneProvisionedManaged", "(it is 'DataZoneProvisionedManaged'): overflow must stay within"),
])
def test_a_target_outside_the_boundary_or_processing_level_is_reported(sku: str, text: str) -> None:
    found = spillover(spillover_stack(sku))
    assert any(text in message for message in found), found


def test_a_regional_stack_refuses_a_data_zone_target() -> None:
    (message,) = spillover(spillover_stack("DataZoneStandard"), residencyMode="regional")
    assert "on 'Standard' (it is 'DataZoneStandard')" in message
