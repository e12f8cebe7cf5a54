"""Role assignments judged by role *and* scope: which roles on which of the stack's own resources, who may manage the
customer-managed key, separation of duties, the CMK identity's single grant, and which principals may hold a role.

The older access rules look at a role alone; these follow each assignment's scope to the resource it lands on (or to
the resource group, subscription or management group above it) and its principal to the identities of the stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from .common import (
    UNKNOWN,
    Config,
    Stack,
    Violation,
    extension_target,
    flag,
    get,
    get_or_unknown,
    list_map,
    listing,
    names,
    norm_id,
    resource_id,
    resource_policy,
    same,
    scope_kind,
    show,
    stack_policy,
    string_list,
    subject,
)
from .encryption import cmk_links
from .metadata import LEAST_PRIVILEGE, SEPARATION_OF_DUTIES, PolicyMeta
from .roles import CMK_ROLE, ROLE_IDS, role_guid, role_guids, role_name
from .tokens import ACCOUNT, KEY, ROLE_ASSIGNMENT, USER_ASSIGNED_IDENTITY, VAULT, WORKSPACE

CONCERN = "access"
CMK_ROLE_ID = ROLE_IDS[CMK_ROLE]
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# What kind of scope each of the stack's resource types is, as allowedRolesByScope names them.
SCOPE_KINDS = {ACCOUNT: "account", VAULT: "vault", KEY: "key", WORKSPACE: "workspace"}
BROAD_SCOPES = ("management group", "subscription", "resource group", "unknown scope")

DEFAULT_ROLES_BY_SCOPE = {
    "account": ["Cognitive Services OpenAI User", "Monitoring Reader"],
    "workspace": ["Log Analytics Reader", "Monitoring Reader"],
    "key": [CMK_ROLE, "Key Vault Crypto Officer"],
    "vault": [CMK_ROLE, "Key Vault Crypto Officer", "Key Vault Administrator"],
}
KEY_VAULT_MANAGEMENT_ROLES = ["Key Vault Administrator", "Key Vault Crypto Officer", CMK_ROLE,
                              "Key Vault Contributor", "Key Vault Data Access Administrator"]
KEY_MANAGEMENT_ROLES = ["Key Vault Administrator", "Key Vault Crypto Officer", "Key Vault Contributor",
                        "Key Vault Data Access Administrator", "Owner", "Contributor", "User Access Administrator"]
ACCOUNT_USE_ROLES = ["Cognitive Services OpenAI User", "Cognitive Services OpenAI Contributor",
                     "Cognitive Services User", "Cognitive Services Contributor", "Azure AI Developer", "Owner",
                     "Contributor"]


def assignment_scope(assignment: PolicyResource) -> str:
    """The normalized scope of a role assignment: its `scope` output, else the part of its id before the extension."""
    scope = get(assignment.props, "scope")
    if isinstance(scope, str) and scope.strip():
        return norm_id(scope)  # the tenant root '/' is '' like every other id without its trailing slash
    return norm_id(extension_target(resource_id(assignment), "Microsoft.Authorization/roleAssignments"))


def covers(scope: str, target_id: str) -> bool:
    """Whether an assignment at `scope` reaches the resource `target_id` (the resource itself, a resource, resource
    group or subscription above it; a management group or the tenant root may hold any subscription)."""
    if scope_kind(scope) in ("management group", "unknown scope"):
        return True
    return bool(target_id) and (target_id == scope or target_id.startswith(scope + "/"))


@dataclass(frozen=True)
class Grant:
    """A role assignment of the stack, read once: principal, role GUID and normalized scope."""

    resource: PolicyResource
    principal: str
    role: str
    scope: str

    @property
    def role_name(self) -> str:
        return role_name(self.role)

    @property
    def who(self) -> str:
        return f"{subject(ROLE_ASSIGNMENT, self.resource.name)} ('{self.role_name}')"


def grants(stack: Stack) -> list[Grant]:
    """Every role assignment of the stack with its principal (lower-case), role GUID and scope."""
    found = []
    for assignment in stack.of_type(ROLE_ASSIGNMENT):
        principal = get(assignment.props, "principalId")
        found.append(Grant(assignment, principal.strip().lower() if isinstance(principal, str) else "",
                           role_guid(get(assignment.props, "roleDefinitionId")), assignment_scope(assignment)))
    return found


def cmk_principals(stack: Stack) -> dict[str, PolicyResource]:
    """Principal id -> account, for each identity an account may read its customer-managed key with: the
    user-assigned identity its encryption names by client id, and its own system-assigned identity (the two-step
    enablement grants that one the key before the account is encrypted)."""
    identities = stack.of_type(USER_ASSIGNED_IDENTITY)
    found: dict[str, PolicyResource] = {}
    for account in stack.of_type(ACCOUNT):
        client = get(account.props, "properties.encryption.keyVaultProperties.identityClientId")
        if client:
            identity = next((i for i in identities if same(get(i.props, "clientId"), client)), None)
            principal = get(identity.props, "principalId") if identity is not None else None
            if isinstance(principal, str) and principal:
                found[principal.lower()] = account
        if "SystemAssigned" in str(get(account.props, "identity.type", "")):
            principal = get(account.props, "identity.principalId")
            if isinstance(principal, str) and principal:
                found[principal.lower()] = account
    return found


# --- aoai-role-assignment-scope -----------------------------------------------------------------------------------

def _role_scopes(stack: Stack, cfg: Config) -> Iterator[Violation]:
    by_id = {resource_id(r): r for r in stack.resources if resource_id(r)}
    by_kind = {kind: role_guids(roles) for kind, roles in cfg.table("allowedRolesByScope").items()}
    other = {norm_id(scope): role_guids(roles) for scope, roles in cfg.table("allowedOtherScopeGrants").items()}
    for grant in grants(stack):
        raw_scope = get(grant.resource.props, "scope") or grant.scope
        if not grant.role:
            yield Violation(f"Name a role definition in {subject(ROLE_ASSIGNMENT, grant.resource.name)} that the "
                            f"pack can read (it is {show(get(grant.resource.props, 'roleDefinitionId'))}): its scope "
                            f"cannot be judged for an unknown role.", grant.resource.urn)
            continue
        if grant.scope in other:
            if grant.role not in other[grant.scope]:
                yield Violation(f"Grant only {names(other[grant.scope].values(), 'or')} at {show(raw_scope)} in "
                                f"{grant.who}, as allowedOtherScopeGrants lists for that scope.", grant.resource.urn)
            continue
        kind = scope_kind(grant.scope)
        target = by_id.get(grant.scope)
        if kind in BROAD_SCOPES:
            yield Violation(f"Scope {grant.who} to the resource it is for instead of the {kind} {show(raw_scope)}: a "
                            f"grant there reaches every resource below it; list a reviewed exception in "
                            f"allowedOtherScopeGrants.", grant.resource.urn)
        elif target is None:
            yield Violation(f"Scope {grant.who} to a resource of this stack (it is {show(raw_scope)}): this stack "
                            f"grants roles on its own account, vault, key and workspace only; list a reviewed "
                            f"exception in allowedOtherScopeGrants.", grant.resource.urn)
        else:
            scope_name = SCOPE_KINDS.get(target.resource_type, "")
            allowed = by_kind.get(scope_name, {})
            if grant.role not in allowed:
                yield Violation(f"Grant a role allowed on {subject(target.resource_type, target.name)} in "
                                f"{subject(ROLE_ASSIGNMENT, grant.resource.name)} instead of '{grant.role_name}': "
                                f"allowedRolesByScope.{scope_name or '<none>'} permits "
                                f"{names(allowed.values(), 'or')}.", grant.resource.urn)


ROLE_ASSIGNMENT_SCOPE = stack_policy(
    PolicyMeta(
        name="aoai-role-assignment-scope", control="identity", concern=CONCERN, kind="stack",
        display_name="Each role is granted only on the stack's own resources it is meant for",
        severity=Severity.CRITICAL, controls=LEAST_PRIVILEGE,
        remediation="Grant data roles on the stack's own account, vault, key or workspace (Cognitive Services OpenAI "
                    "User and Monitoring Reader on the account, Log Analytics Reader on the workspace, the "
                    "encryption role on the key); never at resource-group, subscription or management-group scope "
                    "unless allowedOtherScopeGrants lists it after review.",
        psrule=("Azure.RBAC.LimitMGDelegation",)),
    "Role assignments must grant an allowed role on a resource of this stack; resource-group, subscription and "
    "management-group scopes need a reviewed exception.",
    {"allowedRolesByScope": list_map("Scope kind (account, vault, key, workspace) -> roles (built-in names or role "
                                     "ids) that may be granted on a resource of that kind.", DEFAULT_ROLES_BY_SCOPE),
     "allowedOtherScopeGrants": list_map("Scope id outside the stack's resources (resource group, subscription, "
                                         "management group, another resource) -> roles reviewed for it.", {})},
    _role_scopes)


# --- aoai-key-vault-management-roles ------------------------------------------------------------------------------

def _vault_roles(stack: Stack, cfg: Config) -> Iterator[Violation]:
    targets = [(v, resource_id(v)) for v in stack.of_type(VAULT, KEY)]
    managed = role_guids(cfg.strings("managementRoles"))
    break_glass = {p.strip().lower() for p in cfg.strings("breakGlassPrincipalIds")}
    cmk = cmk_principals(stack)
    for grant in grants(stack):
        if grant.role not in managed:
            continue
        reached = [t for t, tid in targets if covers(grant.scope, tid)]
        if not reached or grant.principal in break_glass:
            continue
        if grant.role == CMK_ROLE_ID and grant.principal in cmk:
            continue  # the identity an account reads its key with (its scope: aoai-cmk-key-access)
        why = ("the encryption role belongs to the identity an account reads its key with, and to no one else"
               if grant.role == CMK_ROLE_ID else "it can read, change, delete or re-grant the key")
        yield Violation(f"Remove {grant.who} for principal {show(grant.principal)} on "
                        f"{listing(subject(t.resource_type, t.name) for t in reached)}: {why}; only the break-glass "
                        f"principals listed in breakGlassPrincipalIds may hold Key Vault management roles, through "
                        f"just-in-time elevation.", grant.resource.urn)


KEY_VAULT_MANAGEMENT = stack_policy(
    PolicyMeta(
        name="aoai-key-vault-management-roles", control="encryption", concern=CONCERN, kind="stack",
        display_name="Only break-glass principals manage the key vault", severity=Severity.CRITICAL,
        controls=LEAST_PRIVILEGE,
        remediation="Grant Key Vault Administrator, Crypto Officer, Contributor and Data Access Administrator on the "
                    "CMK vault (or above it) only to the break-glass principals in breakGlassPrincipalIds, and the "
                    "encryption role only to the account's CMK identity."),
    "Key Vault management roles on the CMK vault or key (or any scope above them) go only to listed break-glass "
    "principals, and the encryption role only to the CMK identity.",
    {"managementRoles": string_list("Roles (names or ids) that manage or use the CMK vault's keys.",
                                    KEY_VAULT_MANAGEMENT_ROLES),
     "breakGlassPrincipalIds": string_list("Object ids of the break-glass principals that may hold them.", [])},
    _vault_roles)


# --- aoai-role-separation-of-duties -------------------------------------------------------------------------------

def _separation(stack: Stack, cfg: Config) -> Iterator[Violation]:
    key_ids = [resource_id(r) for r in stack.of_type(VAULT, KEY)]
    account_ids = [resource_id(a) for a in stack.of_type(ACCOUNT)]
    manage = role_guids(cfg.strings("keyManagementRoles"))
    use = role_guids(cfg.strings("accountUseRoles"))
    all_grants = [g for g in grants(stack) if g.principal]
    managers = {g.principal: g for g in all_grants if g.role in manage and any(covers(g.scope, i) for i in key_ids)}
    for grant in all_grants:
        if grant.role in use and any(covers(grant.scope, i) for i in account_ids) and grant.principal in managers:
            other = managers[grant.principal]
            yield Violation(f"Separate duties for principal {show(grant.principal)}: it manages the customer-managed "
                            f"key through {other.who} and uses the account through {grant.who}; whoever can "
                            f"disable or delete the key must not also call the models (and read what the key "
                            f"protects).", grant.resource.urn)


SEPARATION = stack_policy(
    PolicyMeta(
        name="aoai-role-separation-of-duties", control="identity", concern=CONCERN, kind="stack",
        display_name="No principal both manages the key and uses the account", severity=Severity.HIGH,
        controls=SEPARATION_OF_DUTIES,
        remediation="Give key management and account use to different groups; a break-glass key administrator "
                    "holds no data role on the account."),
    "No principal may both manage the customer-managed key (vault or key scope or above) and use the account.",
    {"keyManagementRoles": string_list("Roles (names or ids) that manage the key when granted on its vault, the "
                                       "key or above.", KEY_MANAGEMENT_ROLES),
     "accountUseRoles": string_list("Roles (names or ids) that use the account when granted on it or above.",
                                    ACCOUNT_USE_ROLES)},
    _separation)


# --- aoai-cmk-identity-single-grant -------------------------------------------------------------------------------

def _single_grant(stack: Stack, cfg: Config) -> Iterator[Violation]:
    links = {link.account.urn: link for link in cmk_links(stack)}
    all_grants = grants(stack)
    for principal, account in cmk_principals(stack).items():
        link = links.get(account.urn)
        if link is not None and link.key is not None:
            own = [resource_id(link.key)] + ([resource_id(link.vault)] if link.vault is not None and
                                              cfg.flag("allowVaultScope") else [])
        else:  # not encrypted yet (step 1 of the two-step enablement): any key of the stack
            own = [resource_id(k) for k in stack.of_type(KEY)]
        held = [g for g in all_grants if g.principal == principal]
        good = next((g for g in held if g.role == CMK_ROLE_ID and g.scope in own), None)
        for grant in held:
            if grant is good:
                continue
            yield Violation(f"Remove {grant.who} from principal {show(principal)}, the identity "
                            f"{subject(ACCOUNT, account.name)} reads its key with: it holds exactly one grant, "
                            f"{CMK_ROLE} on that key, so a compromise of the account's identity reaches nothing "
                            f"else.", grant.resource.urn)


CMK_IDENTITY_SINGLE_GRANT = stack_policy(
    PolicyMeta(
        name="aoai-cmk-identity-single-grant", control="encryption", concern=CONCERN, kind="stack",
        display_name="The CMK identity holds exactly its one grant", severity=Severity.HIGH,
        controls=LEAST_PRIVILEGE,
        remediation="Grant the CMK identity Key Vault Crypto Service Encryption User on its key and nothing else; "
                    "callers of the account use their own identities."),
    "The identity an account reads its key with must hold exactly one role assignment: the encryption role on that "
    "key.",
    {"allowVaultScope": flag("Accept the single grant on the key's vault instead of the key.", False)},
    _single_grant)


# --- aoai-role-principal-types ------------------------------------------------------------------------------------

def _principal_types(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who = subject(ROLE_ASSIGNMENT, args.name)
    kind = get_or_unknown(args.props, "principalType")
    allowed = cfg.strings("allowedPrincipalTypes")
    if kind is None:
        yield (f"Set principalType on {who} to one of {names(allowed, 'or')}: without it Azure accepts any object "
               f"id, including a foreign or deleted principal, and the pack cannot tell what kind it is.")
    elif kind is not UNKNOWN and kind not in allowed:
        yield (f"Grant {who} to a principal of type {names(allowed, 'or')} instead of {show(kind)}: foreign groups "
               f"and devices are managed outside this tenant's access reviews.")
    delegated = get_or_unknown(args.props, "delegatedManagedIdentityResourceId")
    if delegated not in (None, "") and not cfg.flag("allowDelegatedManagedIdentity"):
        shown = "a value computed at update time" if delegated is UNKNOWN else show(delegated)
        yield (f"Remove delegatedManagedIdentityResourceId ({shown}) from {who}: it lets a managed identity of "
               f"another tenant act through this assignment (cross-tenant delegation), which this stack does not "
               f"allow.")
    principal = get_or_unknown(args.props, "principalId")
    if isinstance(principal, str) and not _GUID_RE.match(principal.strip()):
        yield f"Set principalId on {who} to an Entra object id (a GUID); it is {show(principal)}."


PRINCIPAL_TYPES = resource_policy(
    PolicyMeta(
        name="aoai-role-principal-types", control="identity", concern=CONCERN,
        display_name="Roles go to this tenant's users, groups and service principals only", severity=Severity.HIGH,
        controls=LEAST_PRIVILEGE,
        remediation="Set principalType to Group or ServicePrincipal (User outside production) and principalId to an "
                    "object of this tenant; never delegate to another tenant's managed identity."),
    "Role assignments must name an allowed principal type of this tenant and no cross-tenant delegated identity.",
    [ROLE_ASSIGNMENT],
    {"allowedPrincipalTypes": string_list("principalType values that may hold a role.",
                                          ["Group", "ServicePrincipal", "User"]),
     "allowDelegatedManagedIdentity": flag("Accept delegatedManagedIdentityResourceId (cross-tenant).", False)},
    _principal_types)

POLICIES = [ROLE_ASSIGNMENT_SCOPE, KEY_VAULT_MANAGEMENT, SEPARATION, CMK_IDENTITY_SINGLE_GRANT, PRINCIPAL_TYPES]
