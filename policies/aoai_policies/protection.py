"""Deletion protection for what holds data: Pulumi `protect` and Azure CanNotDelete locks."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    Config,
    Stack,
    Violation,
    extension_target,
    flag,
    get,
    norm_id,
    resource_group_id,
    resource_id,
    resource_policy,
    stack_policy,
    string_list,
    subject,
)
from .metadata import DELETION_PROTECTION, PolicyMeta
from .tokens import ACCOUNT, KEY, LOCK, VAULT, WORKSPACE

CONCERN = "protection"
DATA_TYPES = [ACCOUNT, VAULT, KEY, WORKSPACE]
_WHY = {
    ACCOUNT: "its deployments and configuration",
    VAULT: "the customer-managed key",
    KEY: "the key without which the account's data cannot be decrypted",
    WORKSPACE: "the audit and request logs",
}


def _protect(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    if args.resource_type not in cfg.strings("protectedTypes"):
        return
    if not args.opts.protect:
        yield (f"Set protect=True in the resource options of {subject(args.resource_type, args.name)}: it holds "
               f"{_WHY.get(args.resource_type, 'data')}, so `pulumi destroy` or a replacement must not delete it.")


PROTECT_DATA = resource_policy(
    PolicyMeta(
        name="aoai-protect-data-resources", control="protection", concern=CONCERN,
        display_name="Resources that hold data are protected in Pulumi", severity=Severity.HIGH,
        controls=DELETION_PROTECTION,
        remediation="Create the account, vault, key and workspace with ResourceOptions(protect=True) (the stack's "
                    "protection.protect setting); unprotect deliberately before a decommission."),
    "Accounts, Key Vaults, keys and Log Analytics workspaces must be created with Pulumi's protect option.",
    None,
    {"protectedTypes": string_list("Type tokens that must be protected.", DATA_TYPES)},
    _protect)


def _locks(stack: Stack, cfg: Config) -> Iterator[Violation]:
    locked: set[str] = set()
    for lock in stack.of_type(LOCK):
        if get(lock.props, "level") == "CanNotDelete":
            locked.add(norm_id(get(lock.props, "scope")) or extension_target(
                resource_id(lock), "Microsoft.Authorization/locks"))
    inherit = cfg.flag("acceptResourceGroupLocks")
    for resource in stack.of_type(*cfg.strings("protectedTypes")):
        rid = resource_id(resource)
        if rid in locked or (inherit and resource_group_id(rid) in locked):
            continue
        yield Violation(f"Add a ManagementLockByScope with level 'CanNotDelete' and scope set to the id of "
                        f"{subject(resource.resource_type, resource.name)}: it holds "
                        f"{_WHY.get(resource.resource_type, 'data')}, and even an Owner must remove the lock "
                        f"before deleting it.", resource.urn)


DELETE_LOCKS = stack_policy(
    PolicyMeta(
        name="aoai-delete-locks", control="protection", concern=CONCERN, kind="stack",
        display_name="Resources that hold data carry a CanNotDelete lock", severity=Severity.HIGH,
        controls=DELETION_PROTECTION,
        remediation="Create a ManagementLockByScope (level CanNotDelete, scope = the resource id) for the account, "
                    "vault, key and workspace (the stack's protection.locks setting)."),
    "Accounts, Key Vaults, keys and Log Analytics workspaces must carry an Azure CanNotDelete lock.",
    {"protectedTypes": string_list("Type tokens that must be locked.", DATA_TYPES),
     "acceptResourceGroupLocks": flag("Accept a CanNotDelete lock on the resource's resource group (locks are "
                                      "inherited).", False)},
    _locks)

POLICIES = [PROTECT_DATA, DELETE_LOCKS]
