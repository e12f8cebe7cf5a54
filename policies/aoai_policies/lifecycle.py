"""Model lifecycle and provisioned throughput: no retired model version, and no provisioned deployment that answers
its overflow with HTTP 429 when a pay-per-token deployment inside the residency boundary could take it.

The retirement dates are the pack's own copy (`data/model-retirements.json`), derived from the program's model
catalogue by `python -m offline catalog refresh`; a test holds the two equal. A stack's policy config may add or
override dates (`retirements`) without waiting for a refresh.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .catalog import DATA_ZONE_SKUS, PROVISIONED_SKUS, REGIONAL_SKUS
from .common import (
    Config,
    Stack,
    Violation,
    child_parent,
    choice,
    flag,
    get,
    names,
    resource_id,
    resource_policy,
    show,
    stack_policy,
    subject,
    text,
)
from .metadata import AVAILABILITY, CHANGE_CONTROL, PolicyMeta
from .tokens import DEPLOYMENT

CONCERN = "deployments"
_DATA = Path(__file__).resolve().parent / "data" / "model-retirements.json"


def default_retirements() -> dict[str, dict[str, str]]:
    """model -> version -> retirement date (YYYY-MM-DD), from the pack's data file."""
    document = json.loads(_DATA.read_text())
    return {str(model): {str(v): str(d) for v, d in versions.items()}
            for model, versions in document["retirements"].items()}


def _today(cfg: Config) -> dt.date:
    given = cfg.text("evaluationDate")
    return dt.date.fromisoformat(given) if given else dt.datetime.now(dt.UTC).date()


def _retirement(cfg: Config, model: str, version: str) -> dt.date | None:
    table: Mapping[str, Any] = cfg["retirements"]
    versions = table.get(model) if isinstance(table, Mapping) else None
    date = versions.get(version) if isinstance(versions, Mapping) else None
    try:
        return dt.date.fromisoformat(str(date)[:10]) if date else None
    except ValueError:
        return None


def _not_retired(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    model, version = get(args.props, "properties.model.name"), get(args.props, "properties.model.version")
    if not isinstance(model, str) or not isinstance(version, str):
        return  # aoai-deployment-model-allowed and aoai-deployment-version-pinned report these
    retired = _retirement(cfg, model, version)
    today = _today(cfg)
    if retired is not None and retired <= today:
        yield (f"Move {subject(DEPLOYMENT, args.name)} off {model} version {show(version)}, retired on "
               f"{retired.isoformat()}: Azure answers every request to a retired model with an error. Pin the "
               f"version Azure offers now (settings/data/models/<region>.json) in the stack file's "
               f"deployments[].version.")


NOT_RETIRED = resource_policy(
    PolicyMeta(
        name="aoai-deployment-not-retired", control="other", concern=CONCERN,
        display_name="Deployment does not use a retired model version", severity=Severity.HIGH,
        controls=CHANGE_CONTROL,
        remediation="Pin a model version that Azure still serves (the catalogue's current version for the region) "
                    "and refresh the catalogue (`python -m offline catalog refresh`) when Microsoft announces "
                    "retirements."),
    "Model deployments must not use a model version whose retirement date has passed.",
    [DEPLOYMENT],
    {"retirements": {"type": "object", "description": "model -> version -> retirement date (YYYY-MM-DD); "
                                                      "defaults to the pack's copy of the model catalogue.",
                     "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
                     "default": default_retirements()},
     "evaluationDate": text("Judge as of this date (YYYY-MM-DD) instead of today, e.g. to preview a release "
                            "date.", "")},
    _not_retired)


# The pay-per-token SKU a provisioned SKU spills over to: the same data processing level (Microsoft Learn "Manage
# traffic with spillover for provisioned deployments", ms.date 2026-03-04, read 2026-11-30).
SPILLOVER_TARGET_SKUS = {"ProvisionedManaged": "Standard", "DataZoneProvisionedManaged": "DataZoneStandard",
                         "GlobalProvisionedManaged": "GlobalStandard"}


def spillover_skus(mode: str) -> tuple[str, ...]:
    """Pay-per-token SKUs that keep prompts inside the residency boundary: regional, plus data zone in dataZone."""
    pay_per_token = tuple(s for s in REGIONAL_SKUS if s not in PROVISIONED_SKUS)
    if mode == "dataZone":
        pay_per_token += tuple(s for s in DATA_ZONE_SKUS if s not in PROVISIONED_SKUS and "Batch" not in s)
    return pay_per_token


def _spillover(stack: Stack, cfg: Config) -> Iterator[Violation]:
    if not cfg.flag("requireSpillover"):
        return
    deployments = stack.of_type(DEPLOYMENT)
    allowed = spillover_skus(cfg.text("residencyMode"))
    for deployment in deployments:
        if get(deployment.props, "sku.name") not in PROVISIONED_SKUS:
            continue
        who = subject(DEPLOYMENT, deployment.name)
        target_name = get(deployment.props, "properties.spilloverDeploymentName")
        if not isinstance(target_name, str) or not target_name:
            yield Violation(f"Name a pay-per-token deployment in properties.spilloverDeploymentName of {who} "
                            f"(stack file: deployments[].spilloverTo): requests above its reserved throughput are "
                            f"otherwise refused with HTTP 429.", deployment.urn)
            continue
        account = child_parent(resource_id(deployment), "deployments")
        target = next((d for d in deployments if child_parent(resource_id(d), "deployments") == account
                       and str(get(d.props, "name") or "").lower() == target_name.lower()), None)
        if target is None:
            yield Violation(f"Create the spillover deployment {show(target_name)} that {who} names on the same "
                            f"account in this stack.", deployment.urn)
            continue
        target_sku = get(target.props, "sku.name")
        expected = SPILLOVER_TARGET_SKUS.get(str(get(deployment.props, "sku.name")))
        if target_sku not in allowed:
            yield Violation(f"Deploy the spillover target {subject(DEPLOYMENT, target.name)} of {who} on "
                            f"{names(allowed, 'or')} (it is {show(target_sku)}): overflow must stay within the "
                            f"{cfg.text('residencyMode')} residency boundary and be pay-per-token.", deployment.urn)
        elif target_sku != expected:
            yield Violation(f"Deploy the spillover target {subject(DEPLOYMENT, target.name)} of {who} on "
                            f"{show(expected)} (it is {show(target_sku)}): Azure spills over only to the standard "
                            f"SKU of the same data processing level.", deployment.urn)


PROVISIONED_SPILLOVER = stack_policy(
    PolicyMeta(
        name="aoai-provisioned-spillover", control="other", concern=CONCERN, kind="stack",
        display_name="Provisioned deployments spill over inside the residency boundary", severity=Severity.MEDIUM,
        controls=AVAILABILITY,
        remediation="Set deployments[].spilloverTo on each provisioned deployment to a Standard (or, under dataZone "
                    "residency, DataZoneStandard) deployment of the same model in the same regions."),
    "Provisioned deployments must name a pay-per-token spillover deployment on the same account, within the stack's "
    "residency boundary.",
    {"requireSpillover": flag("Require a spillover target on every provisioned deployment.", True),
     "residencyMode": choice("Residency boundary the spillover target must keep: the region, or the data zone.",
                             ["regional", "dataZone"], "regional")},
    _spillover)

POLICIES = [NOT_RETIRED, PROVISIONED_SPILLOVER]
