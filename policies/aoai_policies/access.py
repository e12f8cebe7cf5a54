"""Entra ID access: no privileged roles, no direct user assignments in production, only known built-in roles."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, Severity

from .common import UNKNOWN, Config, flag, get, get_or_unknown, resource_policy, scope_kind, show, string_list, subject
from .metadata import ACCESS_GOVERNANCE, LEAST_PRIVILEGE, PolicyMeta
from .roles import PRIVILEGED_ROLES, ROLE_IDS, role_guid, role_name
from .tokens import ROLE_ASSIGNMENT

CONCERN = "access"


def _who(args: ResourceValidationArgs) -> str:
    return subject(ROLE_ASSIGNMENT, args.name)


def _privileged(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    guid = role_guid(str(get(args.props, "roleDefinitionId", "")))
    forbidden = {ROLE_IDS[name]: name for name in cfg.strings("privilegedRoles") if name in ROLE_IDS}
    forbidden.update({g.lower(): g.lower() for g in cfg.strings("privilegedRoleIds")})
    if guid in forbidden:
        scope = get(args.props, "scope")
        yield (f"Remove {_who(args)}, which grants the privileged role '{forbidden[guid]}' on the "
               f"{scope_kind(scope)} {show(scope)}: grant a least-privilege role such as 'Cognitive Services OpenAI "
               f"User' instead, and manage privileged access through PIM outside this stack.")


NO_PRIVILEGED_ROLES = resource_policy(
    PolicyMeta(
        name="aoai-no-privileged-roles", control="identity", concern=CONCERN,
        display_name="No privileged role assignments", severity=Severity.CRITICAL, controls=LEAST_PRIVILEGE,
        remediation="Replace Owner, Contributor, User Access Administrator and Cognitive Services Contributor "
                    "with the least-privileged data role (Cognitive Services OpenAI User, Monitoring Reader, "
                    "Log Analytics Reader); use just-in-time elevation (PIM) for administration."),
    "Role assignments must not grant privileged roles (control of the resource or of who may access it) at any "
    "scope: account, resource group or subscription.",
    [ROLE_ASSIGNMENT],
    {"privilegedRoles": string_list("Built-in role names that must not be assigned.", PRIVILEGED_ROLES),
     "privilegedRoleIds": string_list("Further role definition GUIDs (e.g. custom admin roles) that must not be "
                                      "assigned.", [])},
    _privileged)


def _users(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    kind = get(args.props, "principalType")
    if not cfg.flag("disallowUsers") or kind not in (None, "User"):
        return
    definition = get_or_unknown(args.props, "roleDefinitionId")
    role = "its role" if definition is UNKNOWN else f"'{role_name(str(definition or ''))}'"
    if kind is None:
        yield (f"Set principalType ('Group' or 'ServicePrincipal') on {_who(args)} so the assignment of {role} "
               f"can be verified not to go to an individual user.")
    else:
        yield (f"Grant {role} in {_who(args)} to an Entra ID group or a workload identity instead of user "
               f"{show(get(args.props, 'principalId'))}: access follows group membership, which is reviewed and "
               f"revoked in one place.")


NO_USER_PRINCIPALS = resource_policy(
    PolicyMeta(
        name="aoai-no-user-principals", control="identity", concern=CONCERN,
        display_name="Roles go to groups and workload identities, not users", severity=Severity.MEDIUM,
        controls=ACCESS_GOVERNANCE,
        remediation="Assign roles to an Entra ID group (or a service principal / managed identity for workloads) "
                    "and manage people through group membership and access reviews."),
    "Role assignments must go to groups or workload identities, not directly to users.",
    [ROLE_ASSIGNMENT],
    {"disallowUsers": flag("Refuse principalType User.", True)},
    _users)


def _known_roles(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    definition = get(args.props, "roleDefinitionId")
    # Any form ARM accepts (bare GUID, tenant-level, subscription-qualified, any case) names the same role.
    guid = role_guid(definition)
    known = set(ROLE_IDS.values()) | {role_guid(g) or g.lower() for g in cfg.strings("additionalRoleIds")}
    if guid not in known:
        yield (f"Use a built-in role from the pack's role table in {_who(args)} (e.g. 'Cognitive Services OpenAI "
               f"User', {ROLE_IDS['Cognitive Services OpenAI User']}): {show(definition)} is not one; add a "
               f"reviewed custom role's GUID to additionalRoleIds.")


KNOWN_ROLE_DEFINITIONS = resource_policy(
    PolicyMeta(
        name="aoai-known-role-definitions", control="identity", concern=CONCERN,
        display_name="Role assignments use known built-in roles", severity=Severity.MEDIUM,
        controls=LEAST_PRIVILEGE,
        remediation="Reference a built-in role by its id "
                    "(/subscriptions/<id>/providers/Microsoft.Authorization/roleDefinitions/<guid>) from the role "
                    "table; review custom roles and list them in additionalRoleIds."),
    "Role assignments must reference a known built-in role definition (or a reviewed custom role).",
    [ROLE_ASSIGNMENT],
    {"additionalRoleIds": string_list("GUIDs of reviewed custom roles that may be assigned.", [])},
    _known_roles)

POLICIES = [NO_PRIVILEGED_ROLES, NO_USER_PRINCIPALS, KNOWN_ROLE_DEFINITIONS]
