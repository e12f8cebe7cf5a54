"""Access policies on role assignments: privileged roles, user principals, unknown role definitions."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from aoai_policies.roles import ROLE_IDS
from policy_harness import check_resource, enforcement_level, pack_config, policy
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

SUB = "/subscriptions/00000000-0000-4000-8000-00000000a0a1"
ACCOUNT = f"{SUB}/resourceGroups/rg-aoai/providers/Microsoft.CognitiveServices/accounts/aoai-prod-swc"


def assignment(role: str = "Cognitive Services OpenAI User", scope: str = ACCOUNT, principal_type: Any = "Group",
               role_id: Any = None) -> dict[str, Any]:
    props = {"scope": scope, "principalId": "7d3e1c52-2b8f-4f0a-9c61-5e4a3b2d1c03",
             "roleDefinitionId": role_id or f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS[role]}"}
    if principal_type is not None:
        props["principalType"] = principal_type
    return props


def run(policy_name: str, props: dict[str, Any], **kw: Any) -> list[str]:
    return check_resource(policy_name, t.ROLE_ASSIGNMENT, props, name="prod-access", **kw)


@pytest.mark.parametrize("policy_name", ["aoai-no-privileged-roles", "aoai-no-user-principals",
                                         "aoai-known-role-definitions"])
@pytest.mark.parametrize("role", ["Cognitive Services OpenAI User", "Monitoring Reader", "Log Analytics Reader",
                                  "Key Vault Crypto Service Encryption User"])
def test_least_privilege_assignments_to_groups_pass(policy_name: str, role: str) -> None:
    assert run(policy_name, assignment(role)) == []


@pytest.mark.parametrize(("role", "scope", "kind"), [
    ("Owner", f"{SUB}/resourceGroups/rg-aoai", "resource group"),
    ("Contributor", SUB, "subscription"),
    ("User Access Administrator", ACCOUNT, "resource"),
    ("Cognitive Services Contributor", ACCOUNT, "resource"),
])
def test_privileged_roles_are_reported_at_every_scope(role: str, scope: str, kind: str) -> None:
    (message,) = run("aoai-no-privileged-roles", assignment(role, scope))
    assert message.startswith(f"Remove role assignment 'prod-access', which grants the privileged role '{role}' on "
                              f"the {kind} '{scope}': grant a least-privilege role such as 'Cognitive Services "
                              f"OpenAI User' instead")


def test_the_privileged_role_list_is_configurable() -> None:
    contributor = assignment("Contributor", SUB)
    assert run("aoai-no-privileged-roles", contributor, privilegedRoles=["Owner"]) == []
    custom = "9f5b2a0e-1111-4222-8333-444455556666"
    custom_assignment = assignment(role_id=f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{custom}")
    assert run("aoai-no-privileged-roles", custom_assignment) == []
    assert run("aoai-no-privileged-roles", custom_assignment, privilegedRoleIds=[custom.upper()]) != []


def test_a_user_principal_is_reported_in_prod() -> None:
    (message,) = run("aoai-no-user-principals", assignment("Cognitive Services OpenAI Contributor",
                                                           principal_type="User"))
    assert message == ("Grant 'Cognitive Services OpenAI Contributor' in role assignment 'prod-access' to an Entra "
                       "ID group or a workload identity instead of user '7d3e1c52-2b8f-4f0a-9c61-5e4a3b2d1c03': "
                       "access follows group membership, which is reviewed and revoked in one place.")


def test_a_missing_principal_type_is_reported_where_users_are_refused() -> None:
    (message,) = run("aoai-no-user-principals", assignment(principal_type=None))
    assert message.startswith("Set principalType ('Group' or 'ServicePrincipal') on role assignment 'prod-access'")


def test_users_are_allowed_when_configured() -> None:
    assert run("aoai-no-user-principals", assignment(principal_type="User"), disallowUsers=False) == []


def test_dev_reports_users_as_advisory_and_prod_as_mandatory() -> None:
    users = policy("aoai-no-user-principals")
    assert enforcement_level(users, pack_config("dev")) == EnforcementLevel.ADVISORY
    assert enforcement_level(users, pack_config("prod")) == EnforcementLevel.MANDATORY
    assert run("aoai-no-user-principals", assignment(principal_type="User"), stack="dev") != []


def test_an_unknown_role_definition_is_reported() -> None:
    unknown = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/9f5b2a0e-1111-4222-8333-444455556666"
    (message,) = run("aoai-known-role-definitions", assignment(role_id=unknown))
    assert message == (f"Use a built-in role from the pack's role table in role assignment 'prod-access' (e.g. "
                       f"'Cognitive Services OpenAI User', 5e0bd9bd-7b93-4f28-af87-19fc36ad61bd): '{unknown}' is not "
                       f"one; add a reviewed custom role's GUID to additionalRoleIds.")
    assert run("aoai-known-role-definitions", assignment(role_id=unknown),
               additionalRoleIds=["9f5b2a0e-1111-4222-8333-444455556666"]) == []


def test_a_malformed_role_definition_id_is_reported() -> None:
    assert run("aoai-known-role-definitions", assignment(role_id="Owner")) != []


def test_access_policies_ignore_other_types() -> None:
    assert check_resource("aoai-no-privileged-roles", t.ACCOUNT, assignment("Owner")) == []


def test_a_user_is_reported_even_while_the_role_id_is_computed() -> None:
    props = assignment(principal_type="User", role_id=UNKNOWN_STRING_VALUE)
    (message,) = run("aoai-no-user-principals", props)
    assert message.startswith("Grant its role in role assignment 'prod-access' to an Entra ID group")
    assert run("aoai-no-user-principals", assignment(principal_type="Group", role_id=UNKNOWN_STRING_VALUE)) == []
