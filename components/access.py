"""Entra ID access: the role assignments a stack grants on its account, vault and workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from settings.model import RoleAssignmentSettings

from .shared import RoleGrant, assign_role


@dataclass(frozen=True)
class AccessArgs:
    """The grants, and the resource each scope name (account, keyVault, workspace) stands for."""

    grants: Sequence[RoleAssignmentSettings]
    scopes: Mapping[str, pulumi.Input[str]]
    # Stable text per scope for the assignment GUIDs (the resource's name), known before Azure returns ids.
    scope_keys: Mapping[str, str]
    subscription_id: pulumi.Input[str]


class Access(pulumi.ComponentResource):
    """Least-privilege role assignments for groups, service principals and (outside prod) users.

    Privileged roles (Owner, Contributor, User Access Administrator, Cognitive Services Contributor) are refused by the
    settings, so they cannot arrive here.
    """

    def __init__(self, name: str, args: AccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:access:Access", name, None, opts)
        for grant in args.grants:
            scope_key = args.scope_keys[grant.scope]
            assign_role(
                f"{name}-{grant.scope}-{grant.principal_id[:8]}-{grant.role_id[:8]}",
                args.scopes[grant.scope], scope_key,
                RoleGrant(grant.principal_id, grant.principal_type, grant.role, grant.principal_id, grant.description),
                args.subscription_id, parent=self)
        self.register_outputs({"assignments": len(args.grants)})
