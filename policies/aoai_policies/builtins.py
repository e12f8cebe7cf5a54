"""The Azure Policy built-in definitions the guardrails must assign: the pack's own copy of the program's catalogue
(settings/data/policy_definitions.json, which the pack may not read); a test holds the two equal.

Verified 2026-11-30 against GitHub Azure/azure-policy built-in-policies/policyDefinitions (snapshot of 2026-04-29).
"""

from __future__ import annotations

from typing import NamedTuple

BUILTIN_PREFIX = "/providers/microsoft.authorization/policydefinitions/"
ALLOWED_LOCATIONS = "e56962a6-4747-49cd-b67b-bf8b01975c4c"


class Builtin(NamedTuple):
    """A built-in definition as the guardrails assign it: its name, the parameter holding its effect, and whether
    the guardrails assign it with Deny when they enforce (False: Deny is not offered, or would lock the stack out)."""

    name: str
    effect_parameter: str
    denies: bool


BUILTINS: dict[str, Builtin] = {
    "71ef260a-8f18-47b7-abcb-62d0673d94dc": Builtin(
        "Azure AI Services resources should have key access disabled (disable local authentication)", "effect", True),
    "037eea7a-bd0a-46c5-9a66-03aea78705d3": Builtin(
        "Azure AI Services resources should restrict network access", "effect", True),
    "67121cc7-ff39-4ab8-b7e3-95b84dab487d": Builtin(
        "Azure AI Services resources should encrypt data at rest with a customer-managed key (CMK)", "effect", True),
    "fe3fd216-4f83-4fc1-8984-2bbec80a3418": Builtin(
        "Cognitive Services accounts should use a managed identity", "effect", True),
    "d6759c02-b87f-42b7-892e-71b3f471d782": Builtin(
        "Azure AI Services resources should use Azure Private Link", "effect", False),
    "1b4d1c4e-934c-4703-944c-27c82c06bebb": Builtin(
        "Diagnostic logs in Azure AI services resources should be enabled", "effect", False),
    "0b60c0b2-2dc2-4e1c-b5c9-abbed971de53": Builtin(
        "Key vaults should have deletion protection enabled", "effect", True),
    "405c5871-3e91-4644-8a63-58e19d68ff5b": Builtin(
        "Azure Key Vault should disable public network access", "effect", True),
    "12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5": Builtin(
        "Azure Key Vault should use RBAC permission model", "effect", True),
    "a6abeaec-4d90-4a02-805f-6b26c4d3fbe9": Builtin(
        "Azure Key Vaults should use private link", "audit_effect", False),
    "cf820ca0-f99e-4f3e-84fb-66e913812d21": Builtin(
        "Resource logs in Key Vault should be enabled", "effect", False),
    "152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0": Builtin(
        "Key Vault keys should have an expiration date", "effect", True),
    "5ff38825-c5d8-47c5-b70e-069a21955146": Builtin(
        "Keys should have more than the specified number of days before expiration", "effect", False),
    ALLOWED_LOCATIONS: Builtin("Allowed locations", "effect", True),
}


def builtin_guid(definition_id: object) -> str:
    """The GUID of a built-in definition id ('' for anything else, such as a custom definition that a subscription
    or management group holds under the same name)."""
    if not isinstance(definition_id, str):
        return ""
    normalized = definition_id.strip().rstrip("/").lower()
    return normalized[len(BUILTIN_PREFIX):] if normalized.startswith(BUILTIN_PREFIX) else ""
