"""Roles by role and scope: allowed roles on the stack's own resources, Key Vault management for break-glass only,
separation of duties, the CMK identity's single grant, principal types, and role ids in every form."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from aoai_policies.roles import ROLE_IDS, role_guid, role_name
from policy_fixtures import SUB, arm, environment, stack
from policy_harness import Res, check_resource, check_stack, messages

GROUP = "7d3e1c52-2b8f-4f0a-9c61-5e4a3b2d1c03"
OPS = "2e4d6c8b-0a1f-4e3d-9b5c-7a6f8e9d0c05"
OWNER = ROLE_IDS["Owner"]


def role_id(role: str) -> str:
    return f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS.get(role, role)}"


def grant(env: dict[str, Res], name: str, role: str, scope: str, principal: str = GROUP,
          principal_type: str = "Group") -> Res:
    """A role assignment added to `env` (outputs, as stack policies read them)."""
    env[name] = Res(t.ROLE_ASSIGNMENT, name, {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "scope": scope,
        "principalId": principal, "principalType": principal_type, "roleDefinitionId": role_id(role)})
    return env[name]


def ids(env: dict[str, Res]) -> dict[str, str]:
    return {k: env[k].props["id"] for k in ("account", "vault", "key", "workspace")}


def cmk_principal(env: dict[str, Res]) -> str:
    return str(env["identity"].props["principalId"])


# --- role definition ids ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", [
    OWNER, OWNER.upper(), f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}",
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}/",
    f"/SUBSCRIPTIONS/{SUB}/Providers/microsoft.authorization/ROLEDEFINITIONS/{OWNER.upper()}",
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/{OWNER}",
    "{" + OWNER + "}",
])
def test_a_role_is_recognised_in_every_form_arm_accepts(form: str) -> None:
    assert role_guid(form) == OWNER and role_name(form) == "Owner"
    (message,) = check_resource("aoai-no-privileged-roles", t.ROLE_ASSIGNMENT,
                                {"roleDefinitionId": form, "scope": f"/subscriptions/{SUB}"})
    assert "grants the privileged role 'Owner'" in message
    assert check_resource("aoai-known-role-definitions", t.ROLE_ASSIGNMENT, {"roleDefinitionId": form}) == []


@pytest.mark.parametrize("form", ["", "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/",
                                  f"/providers/Microsoft.Other/things/{OWNER}", "owner", 42])
def test_an_unreadable_role_id_is_refused(form: Any) -> None:
    assert role_guid(form) == ""
    (message,) = check_resource("aoai-known-role-definitions", t.ROLE_ASSIGNMENT, {"roleDefinitionId": form})
    assert message.startswith("Use a built-in role from the pack's role table")


# --- aoai-role-assignment-scope -----------------------------------------------------------------------------------

def scope_messages(env: dict[str, Res], **config: Any) -> list[str]:
    return messages(check_stack("aoai-role-assignment-scope", stack(env), **config))


def test_data_roles_on_the_stacks_own_resources_pass() -> None:
    env = environment()
    grant(env, "users", "Cognitive Services OpenAI User", ids(env)["account"])
    grant(env, "readers", "Log Analytics Reader", ids(env)["workspace"], OPS)
    assert scope_messages(env) == []


@pytest.mark.parametrize(("scope", "kind"), [
    (f"/subscriptions/{SUB}", "subscription"), (f"/subscriptions/{SUB}/resourceGroups/rg-swc", "resource group"),
    ("/providers/Microsoft.Management/managementGroups/corp", "management group"), ("/", "unknown scope"),
])
def test_a_data_role_above_the_stacks_resources_is_refused(scope: str, kind: str) -> None:
    env = environment()
    grant(env, "wide", "Cognitive Services OpenAI User", scope)
    (message,) = scope_messages(env)
    assert message.startswith(f"Scope role assignment 'wide' ('Cognitive Services OpenAI User') to the resource it "
                              f"is for instead of the {kind}")
    assert scope_messages(env, allowedOtherScopeGrants={scope: ["Cognitive Services OpenAI User"]}) == []
    assert scope_messages(env, allowedOtherScopeGrants={scope: ["Monitoring Reader"]}) != []


def test_a_role_on_another_stacks_resource_is_refused() -> None:
    env = environment()
    grant(env, "elsewhere", "Cognitive Services OpenAI User",
          arm("rg-other", "Microsoft.CognitiveServices/accounts/someone-elses"))
    (message,) = scope_messages(env)
    assert message.startswith("Scope role assignment 'elsewhere' ('Cognitive Services OpenAI User') to a resource "
                              "of this stack")


def test_a_role_not_meant_for_its_scope_is_refused_and_config_decides() -> None:
    env = environment()
    grant(env, "contributors", "Cognitive Services OpenAI Contributor", ids(env)["account"])
    (message,) = scope_messages(env)
    assert message == ("Grant a role allowed on Azure OpenAI account 'swc-account' in role assignment 'contributors' "
                       "instead of 'Cognitive Services OpenAI Contributor': allowedRolesByScope.account permits "
                       "'Cognitive Services OpenAI User' or 'Monitoring Reader'.")
    relaxed = {"account": ["Cognitive Services OpenAI User", "Cognitive Services OpenAI Contributor"],
               "key": ["Key Vault Crypto Service Encryption User"]}
    assert scope_messages(env, allowedRolesByScope=relaxed) == []


# --- aoai-key-vault-management-roles ------------------------------------------------------------------------------

def vault_messages(env: dict[str, Res], **config: Any) -> list[str]:
    return messages(check_stack("aoai-key-vault-management-roles", stack(env), **config))


def test_only_the_cmk_identity_holds_the_encryption_role() -> None:
    env = environment()
    assert vault_messages(env) == []
    grant(env, "app-crypto", "Key Vault Crypto Service Encryption User", ids(env)["vault"], principal=GROUP)
    (message,) = vault_messages(env)
    assert message.startswith(f"Remove role assignment 'app-crypto' ('Key Vault Crypto Service Encryption User') "
                              f"for principal '{GROUP}' on Key Vault 'swc-vault' and key 'swc-key': the encryption "
                              f"role belongs to the identity an account reads its key with")


@pytest.mark.parametrize(("role", "scope_key"), [
    ("Key Vault Administrator", "vault"), ("Key Vault Crypto Officer", "key"),
    ("f25e0fa2-a7c8-4377-a976-54943a77a395", "vault"), ("8b54135c-b56d-4d72-a534-26097cfdc8d8", "resource group"),
])
def test_key_vault_management_roles_go_to_break_glass_principals_only(role: str, scope_key: str) -> None:
    env = environment()
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-swc" if scope_key == "resource group" else ids(env)[scope_key]
    grant(env, "admins", role, scope, principal=OPS)
    (message,) = vault_messages(env)
    assert "only the break-glass principals listed in breakGlassPrincipalIds" in message
    assert vault_messages(env, breakGlassPrincipalIds=[OPS.upper()]) == []


def test_the_cmk_identity_may_hold_nothing_else_from_the_vault() -> None:
    env = environment()
    grant(env, "cmk-officer", "Key Vault Crypto Officer", ids(env)["key"], principal=cmk_principal(env),
          principal_type="ServicePrincipal")
    (message,) = vault_messages(env)
    assert message.startswith("Remove role assignment 'cmk-officer' ('Key Vault Crypto Officer')")


# --- aoai-role-separation-of-duties -------------------------------------------------------------------------------

def test_a_principal_that_manages_the_key_may_not_use_the_account() -> None:
    env = environment()
    grant(env, "key-admin", "Key Vault Crypto Officer", ids(env)["vault"], principal=OPS)
    assert check_stack("aoai-role-separation-of-duties", stack(env)) == []
    grant(env, "caller", "Cognitive Services OpenAI User", ids(env)["account"], principal=OPS)
    (finding,) = check_stack("aoai-role-separation-of-duties", stack(env))
    assert finding.urn == env["caller"].urn
    assert finding.message.startswith(f"Separate duties for principal '{OPS}': it manages the customer-managed key "
                                      f"through role assignment 'key-admin' ('Key Vault Crypto Officer') and uses the "
                                      f"account through role assignment 'caller'")
    assert check_stack("aoai-role-separation-of-duties", stack(env),
                       accountUseRoles=["Cognitive Services OpenAI Contributor"]) == []


# --- aoai-cmk-identity-single-grant -------------------------------------------------------------------------------

def test_the_cmk_identity_holds_exactly_its_one_grant() -> None:
    env = environment()
    assert check_stack("aoai-cmk-identity-single-grant", stack(env)) == []
    grant(env, "cmk-reader", "Monitoring Reader", ids(env)["account"], principal=cmk_principal(env).upper(),
          principal_type="ServicePrincipal")
    (finding,) = check_stack("aoai-cmk-identity-single-grant", stack(env))
    assert finding.urn == env["cmk-reader"].urn
    assert finding.message.startswith("Remove role assignment 'cmk-reader' ('Monitoring Reader') from principal")


def test_a_second_encryption_grant_on_the_vault_is_one_too_many_unless_configured() -> None:
    env = environment()
    del env["key_access"]
    env["account"].depends = []
    grant(env, "vault-grant", "Key Vault Crypto Service Encryption User", ids(env)["vault"],
          principal=cmk_principal(env), principal_type="ServicePrincipal")
    (message,) = messages(check_stack("aoai-cmk-identity-single-grant", stack(env)))
    assert message.startswith("Remove role assignment 'vault-grant'")
    assert check_stack("aoai-cmk-identity-single-grant", stack(env), allowVaultScope=True) == []


# --- aoai-role-principal-types ------------------------------------------------------------------------------------

def assignment(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"principalId": GROUP, "principalType": "Group",
                             "roleDefinitionId": role_id("Cognitive Services OpenAI User")}
    props.update(changes)
    return {k: v for k, v in props.items() if v is not None}


def types(props: dict[str, Any], **config: Any) -> list[str]:
    return check_resource("aoai-role-principal-types", t.ROLE_ASSIGNMENT, props, name="grant", **config)


def test_groups_and_service_principals_of_this_tenant_pass() -> None:
    assert types(assignment()) == []
    assert types(assignment(principalType="ServicePrincipal")) == []


def test_foreign_groups_and_devices_are_refused() -> None:
    (message,) = types(assignment(principalType="ForeignGroup"))
    assert message.startswith("Grant role assignment 'grant' to a principal of type 'Group', 'ServicePrincipal' or "
                              "'User' instead of 'ForeignGroup'")
    assert types(assignment(principalType="User"), allowedPrincipalTypes=["Group"]) == []  # extends the default
    assert types(assignment(principalType="User"), allowedPrincipalTypes=["Group"], replace=["allowedPrincipalTypes"]) != []


def test_a_missing_principal_type_and_a_malformed_principal_are_refused() -> None:
    (message,) = types(assignment(principalType=None))
    assert message.startswith("Set principalType on role assignment 'grant'")
    (message,) = types(assignment(principalId="not-a-guid"))
    assert message == "Set principalId on role assignment 'grant' to an Entra object id (a GUID); it is 'not-a-guid'."


def test_cross_tenant_delegation_is_refused_unless_allowed() -> None:
    delegated = "/subscriptions/99999999-0000-4000-8000-000000000000/resourceGroups/partner/providers/" \
                "Microsoft.ManagedIdentity/userAssignedIdentities/their-identity"
    props = assignment(delegatedManagedIdentityResourceId=delegated)
    (message,) = types(props)
    assert message.startswith(f"Remove delegatedManagedIdentityResourceId ('{delegated}') from role assignment")
    assert types(props, allowDelegatedManagedIdentity=True) == []
