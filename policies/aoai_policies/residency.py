"""Data residency: where every resource lives, how far a deployment SKU carries prompts, and where logs go."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, Severity

from .catalog import DATA_ZONE_SKUS, GLOBAL_SKUS, REGIONAL_SKUS
from .common import (
    Config,
    Stack,
    Violation,
    choice,
    extension_target,
    flag,
    get,
    names,
    norm_id,
    region,
    resource_id,
    resource_policy,
    show,
    stack_policy,
    string_list,
    subject,
    text_map,
)
from .metadata import DATA_RESIDENCY, PolicyMeta
from .tokens import DEPLOYMENT, DIAGNOSTIC_SETTING, WORKSPACE

CONCERN = "residency"


def _location(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    location = get(args.props, "location")
    if args.resource_type.startswith("pulumi:") or location is None or region(location) == "global":
        return  # the engine's own resources, resources without location (child, extension), or global ones
    allowed = cfg.strings("allowedRegions")
    if region(location) not in {region(r) for r in allowed}:
        yield (f"Move {subject(args.resource_type, args.name)} from {show(location)} to one of {names(allowed)} "
               f"(allowedRegions): the stack's data must stay in the approved regions.")


ALLOWED_REGIONS = resource_policy(
    PolicyMeta(
        name="aoai-allowed-regions", control="residency", concern=CONCERN,
        display_name="Every resource is in an approved region", severity=Severity.HIGH, controls=DATA_RESIDENCY,
        remediation="Deploy to a region listed in allowedRegions (the stack's residency.allowedRegions); global "
                    "resources (private DNS zones, alerts, action groups) are exempt."),
    "Every resource with a location must be in one of the approved regions.",
    None,
    {"allowedRegions": string_list("Azure regions resources may be created in.", ["swedencentral", "francecentral"])},
    _location)


def allowed_skus(mode: str, allow_global: bool) -> list[str]:
    """Deployment SKUs a residency mode permits: regional, plus data-zone SKUs in dataZone mode, plus Global* only
    with the explicit allowGlobalSkus waiver."""
    skus = list(REGIONAL_SKUS)
    if mode == "dataZone":
        skus += DATA_ZONE_SKUS
    if allow_global:
        skus += GLOBAL_SKUS
    return skus


def _deployment_sku(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    sku = get(args.props, "sku.name")
    mode = cfg.text("residencyMode")
    allowed = allowed_skus(mode, cfg.flag("allowGlobalSkus"))
    if sku not in allowed:
        why = ("Global SKUs process prompts in any Azure region, which breaks data residency"
               if sku in GLOBAL_SKUS else f"it is not allowed under residency mode '{mode}'")
        yield (f"Set sku.name of {subject(DEPLOYMENT, args.name)} to one of {names(allowed)} (it is {show(sku)}): "
               f"{why}.")


DEPLOYMENT_SKU_RESIDENCY = resource_policy(
    PolicyMeta(
        name="aoai-deployment-sku-residency", control="residency", concern=CONCERN,
        display_name="Deployment SKU keeps prompts in the allowed geography", severity=Severity.CRITICAL,
        controls=DATA_RESIDENCY,
        remediation="Use Standard or ProvisionedManaged (regional), or DataZone* SKUs when residency mode is "
                    "dataZone; Global* SKUs need an explicit, reviewed allowGlobalSkus waiver."),
    "Model deployment SKUs must keep prompts and completions within the stack's residency boundary.",
    [DEPLOYMENT],
    {"residencyMode": choice("How far prompts may travel: the account's region, or its data zone (EU, US).",
                             ["regional", "dataZone"], "regional"),
     "allowGlobalSkus": flag("Allow Global* SKUs (processing in any region): a residency waiver.", False)},
    _deployment_sku)


def _diagnostics_region(stack: Stack, cfg: Config) -> Iterator[Violation]:
    sources = {resource_id(r): r for r in stack.resources if resource_id(r) and get(r.props, "location")}
    workspaces = stack.by_id(WORKSPACE)
    external = {norm_id(k): v for k, v in cfg.mapping("externalWorkspaceLocations").items()}
    for setting in stack.of_type(DIAGNOSTIC_SETTING):
        target = norm_id(get(setting.props, "resourceUri")) or extension_target(
            resource_id(setting), "Microsoft.Insights/diagnosticSettings")
        source = sources.get(target)
        workspace_id = norm_id(get(setting.props, "workspaceId"))
        if source is None or not workspace_id or region(get(source.props, "location")) == "global":
            continue
        workspace = workspaces.get(workspace_id)
        where = get(workspace.props, "location") if workspace is not None else external.get(workspace_id)
        who = subject(DIAGNOSTIC_SETTING, setting.name)
        if where is None:
            yield Violation(f"Declare the region of workspace {show(get(setting.props, 'workspaceId'))} that {who} "
                            f"sends to in externalWorkspaceLocations, or manage the workspace in this stack: its "
                            f"region cannot be verified.", setting.urn)
        elif region(where) != region(get(source.props, "location")):
            yield Violation(f"Send {who} to a workspace in {show(get(source.props, 'location'))}, the region of "
                            f"{subject(source.resource_type, source.name)} (the workspace is in {show(where)}): "
                            f"request and audit logs must not leave the region.", setting.urn)


DIAGNOSTICS_SAME_REGION = stack_policy(
    PolicyMeta(
        name="aoai-diagnostics-same-region", control="residency", concern=CONCERN, kind="stack",
        display_name="Diagnostic logs stay in their source's region", severity=Severity.HIGH,
        controls=DATA_RESIDENCY,
        remediation="Send each diagnostic setting to the Log Analytics workspace of its source's region (one "
                    "workspace per regional environment)."),
    "Diagnostic settings must send logs to a workspace in the same region as the resource they come from.",
    {"externalWorkspaceLocations": text_map("Region of each workspace id not managed in this stack.", {})},
    _diagnostics_region)

POLICIES = [ALLOWED_REGIONS, DEPLOYMENT_SKU_RESIDENCY, DIAGNOSTICS_SAME_REGION]
