"""Built-in Azure role definition ids: the pack's own copy (a test holds it equal to the program's table)."""

from __future__ import annotations

import re
from collections.abc import Iterable

ROLE_IDS: dict[str, str] = {
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Cognitive Services OpenAI Contributor": "a001fd3d-188f-4b5d-821b-7da978bf7442",
    "Cognitive Services User": "a97b65f3-24c7-4388-baec-2e87135dc908",
    "Cognitive Services Contributor": "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
    "Azure AI Developer": "64702f94-c441-49e6-a78b-ef80e0188fee",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    "Log Analytics Reader": "73c42c96-874c-492b-b04d-ab87d138a893",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}
# Key Vault roles the program never grants, which the pack must still recognise (Learn, "Provide access to Key Vault
# keys, certificates, and secrets with Azure role-based access control", built-in roles table,
# https://learn.microsoft.com/azure/key-vault/general/rbac-guide, read 2026-11-30).
KEY_VAULT_MANAGEMENT_ROLE_IDS: dict[str, str] = {
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
    "Key Vault Data Access Administrator": "8b54135c-b56d-4d72-a534-26097cfdc8d8",
}
ROLE_NAMES: dict[str, str] = {role_id: name for name, role_id in {**ROLE_IDS, **KEY_VAULT_MANAGEMENT_ROLE_IDS}.items()}

# Roles that control the resource itself or who may access it.
PRIVILEGED_ROLES = ("Owner", "Contributor", "User Access Administrator", "Cognitive Services Contributor")

# The role the account's identity needs on its customer-managed key: get, wrapKey and unwrapKey, nothing more.
CMK_ROLE = "Key Vault Crypto Service Encryption User"


_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Every form ARM accepts for a role definition: the bare GUID, tenant-level, subscription- or resource-group-qualified.
_ROLE_DEFINITION = re.compile(
    rf"^(?:(?:/subscriptions/[^/]+(?:/resourceGroups/[^/]+)?)?/providers/Microsoft\.Authorization/roleDefinitions/)?"
    rf"\{{?({_GUID})\}}?/?$", re.IGNORECASE)


def role_guid(role_definition_id: object) -> str:
    """The role's GUID, lower-case, from any form of its id (bare, tenant-level, subscription- or resource-group-
    qualified, any case, a trailing slash); '' for a value that is none of them (not a string, another provider)."""
    if not isinstance(role_definition_id, str):
        return ""
    match = _ROLE_DEFINITION.match(role_definition_id.strip())
    return match.group(1).lower() if match else ""


def role_name(role_definition_id: object) -> str:
    """The built-in role's name for a role definition id, or the GUID itself for roles not in the table."""
    guid = role_guid(role_definition_id)
    return ROLE_NAMES.get(guid, guid or "(none)")


def role_guids(names_or_ids: Iterable[str]) -> dict[str, str]:
    """Config entries naming roles (a built-in name from the tables, or any form of a role id) -> {GUID: name}."""
    known = {**ROLE_IDS, **KEY_VAULT_MANAGEMENT_ROLE_IDS}
    found = {}
    for entry in names_or_ids:
        guid = known.get(entry) or role_guid(entry)
        if guid:
            found[guid] = ROLE_NAMES.get(guid, entry)
    return found
