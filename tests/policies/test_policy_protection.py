"""Deletion protection: Pulumi `protect` and CanNotDelete locks on what holds data."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import SUB, environment, stack
from policy_harness import Res, check_resource, check_stack, enforcement_level, messages, pack_config, policy
from pulumi_policy import EnforcementLevel


@pytest.mark.parametrize("resource_type", [t.ACCOUNT, t.VAULT, t.KEY, t.WORKSPACE])
def test_protected_data_resources_pass_and_unprotected_ones_are_reported(resource_type: str) -> None:
    assert check_resource("aoai-protect-data-resources", resource_type, {}, name="prod-data", protect=True) == []
    (message,) = check_resource("aoai-protect-data-resources", resource_type, {}, name="prod-data")
    assert message.startswith(f"Set protect=True in the resource options of {t.label(resource_type)} 'prod-data': "
                              f"it holds ")


def test_resources_without_data_need_no_protection() -> None:
    assert check_resource("aoai-protect-data-resources", "azure-native:network:NetworkSecurityGroup", {}) == []


def test_the_protected_types_are_configurable() -> None:
    assert check_resource("aoai-protect-data-resources", t.KEY, {}, protectedTypes=[t.ACCOUNT]) == []


def locks(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-delete-locks", stack(env), **kw))


def test_locked_data_resources_pass() -> None:
    assert locks(environment()) == []


@pytest.mark.parametrize("role", ["account", "vault", "key", "workspace"])
def test_a_missing_lock_is_reported_on_the_resource(role: str) -> None:
    env = environment()
    del env[f"{role}_lock"]
    (finding,) = check_stack("aoai-delete-locks", stack(env))
    assert finding.urn == env[role].urn
    assert finding.message.startswith(f"Add a ManagementLockByScope with level 'CanNotDelete' and scope set to the id "
                                      f"of {t.label(env[role].type)} '{env[role].name}'")


def test_a_read_only_lock_is_not_a_delete_lock() -> None:
    env = environment()
    env["key_lock"].props["level"] = "ReadOnly"
    assert len(locks(env)) == 1


def test_a_lock_linked_by_its_scope_input_is_found() -> None:
    env = environment()
    env["vault_lock"].props.update(id="/elsewhere", scope=env["vault"].props["id"])
    assert locks(env) == []


def test_a_resource_group_lock_counts_only_when_accepted() -> None:
    env = environment()
    for role in ("account", "vault", "key", "workspace"):
        del env[f"{role}_lock"]
    group = f"/subscriptions/{SUB}/resourceGroups/rg-swc"
    env["rg_lock"] = Res(t.LOCK, "rg-lock", {"id": f"{group}/providers/Microsoft.Authorization/locks/keep",
                                             "level": "CanNotDelete"})
    assert len(locks(env)) == 4
    assert locks(env, acceptResourceGroupLocks=True) == []


def test_protection_is_mandatory_in_prod_and_disabled_in_dev() -> None:
    for name in ("aoai-protect-data-resources", "aoai-delete-locks"):
        assert enforcement_level(policy(name), pack_config("prod")) == EnforcementLevel.MANDATORY
        assert enforcement_level(policy(name), pack_config("dev")) == EnforcementLevel.DISABLED
