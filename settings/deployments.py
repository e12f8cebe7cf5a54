"""Model deployments, checked against what Azure offers in each region the deployment lands in.

No model is special-cased here: the region snapshot (`settings/data/models/<region>.json`) decides which model
versions exist, on which SKUs, with which capacity bounds, and until when. A request Azure would refuse at
`pulumi up` (a retired version, a SKU the region does not offer, a capacity out of bounds) is a settings error now,
naming what Azure offers instead and how old the snapshot is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import catalog
from .model import ContentFilterSettings, DeploymentSettings, RegionSettings, ResidencySettings
from .model_catalog import ModelCatalog, ModelOffer, RegionCatalog
from .reader import Reader, choices, suggestion

_DEPLOYMENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
_VERSION_RE = re.compile(r"^[0-9][0-9A-Za-z.-]{0,31}$")
DEPLOYMENT_KEYS = ("name", "model", "version", "sku", "capacity", "versionUpgradeOption", "contentFilter", "regions",
                   "spilloverTo")


def _snapshot(region: RegionCatalog) -> str:
    return f"model catalogue of {region.location} read {region.retrieved.isoformat()}"


def _offered_versions(region: RegionCatalog, model: str, today: dt.date) -> str:
    live = [o.version for o in region.versions(model) if not o.retired(today)]
    return ", ".join(live) or "none"


def _replacement(models: ModelCatalog, offer_region: RegionCatalog, model: str, version: str,
                 today: dt.date) -> str:
    """What to ask for instead of a retired (or missing) model version in this region."""
    current = offer_region.current(model, today)
    if current is not None and current.version != version:
        return f"Azure offers {model} {current.version} instead in {offer_region.location}"
    successor = models.successor(model, version)
    if successor is not None:
        return f"Microsoft names {successor.replacement} as its successor"
    return f"Azure offers no other version of {model} in {offer_region.location}"


def check_offer(r: Reader, key: str, models: ModelCatalog, region: RegionCatalog, model: str, version: str,
                sku: str, capacity: int | None, today: dt.date, warn_days: int) -> ModelOffer | None:
    """Record a problem for anything this region would refuse, and a warning for a retirement within `warn_days`."""
    where = f"in {region.location} ({_snapshot(region)})"
    if not region.versions(model):
        successor = models.successor(model, version)
        hint = (f"; Microsoft names {successor.replacement} as its successor" if successor is not None
                else f"; offered there: {', '.join(region.models())}")
        r.problem(f"{key}.model", model, f"a model Azure offers {where}{hint}", "is not offered",
                  suggestion(model, region.models()))
        return None
    offer = region.offers.get((model, version))
    if offer is None:
        schedule = models.schedule(model, version)
        if schedule is not None and schedule.retirement is not None and schedule.retirement <= today:
            r.problem(f"{key}.version", version, f"a version Azure still serves: "
                      f"{_replacement(models, region, model, version, today)}",
                      f"of {model} was retired on {schedule.retirement.isoformat()}")
        else:
            r.problem(f"{key}.version", version,
                      f"a version of {model} offered {where}: {_offered_versions(region, model, today)}",
                      "is not offered")
        return None
    if offer.retired(today):
        when = (f"on {offer.retirement.isoformat()}" if offer.retirement is not None and offer.retirement <= today
                else "(the Models API lists it as Deprecated, its word for retired)")
        r.problem(f"{key}.version", version, f"a version Azure still serves: "
                  f"{_replacement(models, region, model, version, today)} ({_snapshot(region)})",
                  f"of {model} was retired {when}")
        return None
    if offer.existing_customers_only:
        r.warn(f"{key}.version", f"{model} {version} is Deprecating in {region.location}: Azure lets only "
               f"subscriptions that already deploy it create new deployments, so a new subscription's `pulumi up` "
               f"fails; {_replacement(models, region, model, version, today)}")
    if offer.retirement is not None and (offer.retirement - today).days <= warn_days:
        r.warn(f"{key}.version", f"{model} {version} retires on {offer.retirement.isoformat()} in {region.location} "
               f"({(offer.retirement - today).days} days): {_replacement(models, region, model, version, today)}")
    sku_offer = offer.skus.get(sku)
    if sku_offer is None:
        r.problem(f"{key}.sku", sku, f"{choices(sorted(offer.skus)) if offer.skus else 'no SKU'} for {model} "
                  f"{version} {where}", "is not offered")
        return offer
    if sku_offer.deprecation is not None:
        if sku_offer.deprecation <= today:
            r.problem(f"{key}.sku", sku, f"another SKU of {choices(sorted(offer.skus))} {where}",
                      f"was retired for {model} {version} on {sku_offer.deprecation.isoformat()}")
        elif (sku_offer.deprecation - today).days <= warn_days:
            r.warn(f"{key}.sku", f"{sku} for {model} {version} retires on {sku_offer.deprecation.isoformat()} in "
                   f"{region.location}")
    if capacity is not None:
        why = sku_offer.capacity.problem(capacity)
        if why is not None:
            unit = "PTUs" if sku in catalog.PROVISIONED_SKUS else "units of 1,000 tokens per minute"
            r.problem(f"{key}.capacity", capacity, f"{sku_offer.capacity.describe()} {unit} for {model} {version} "
                      f"on {sku} {where}", f"is {why}")
    return offer


def _regions_of(r: Reader, item: Mapping[str, Any], key: str, regions: Sequence[RegionSettings]) -> tuple[str, ...]:
    """The stack regions a deployment lands in: all of them unless `regions` names a subset."""
    locations = tuple(region.location for region in regions)
    if "regions" not in item:
        return locations
    chosen: list[str] = []
    for j, location in enumerate(r.items(item.get("regions"), f"{key}.regions")):
        if location not in locations:
            r.problem(f"{key}.regions[{j}]", location, f"{choices(locations)} (the stack's regions)")
        elif location in chosen:
            r.problem(f"{key}.regions[{j}]", location, "each region once", "is listed twice")
        else:
            chosen.append(location)
    if not chosen and "regions" in item and isinstance(item.get("regions"), list):
        r.problem(f"{key}.regions", item.get("regions"), "one or more of the stack's regions", "is empty")
    return tuple(chosen)


def parse_deployments(r: Reader, raw: Mapping[str, Any], filters: Mapping[str, ContentFilterSettings],
                      residency: ResidencySettings, regions: Sequence[RegionSettings], models: ModelCatalog,
                      today: dt.date, warn_days: int) -> tuple[DeploymentSettings, ...]:
    """Every deployment, checked in every region it lands in; spillover targets checked once all are known."""
    entries = r.items(raw.get("deployments"), "deployments")
    if not entries:
        r.missing("deployments", "a list of one or more model deployments")
    result: list[DeploymentSettings] = []
    names: set[str] = set()
    default_filter = "default" if "default" in filters else next(iter(filters), None)
    for i, entry in enumerate(entries):
        key = f"deployments[{i}]"
        item = r.obj(entry, key, DEPLOYMENT_KEYS)
        model = r.string(item, "model", f"{key}.model", allowed="a model name such as gpt-4.1 "
                                                                 "(see settings/data/models/<region>.json)")
        name = r.string(item, "name", f"{key}.name", model, pattern=_DEPLOYMENT_NAME_RE,
                        allowed="2-64 letters, digits, '.', '-' or '_'")
        if name is not None:
            if name in names:
                r.problem(f"{key}.name", name, "a name used by one deployment only", "is used twice")
            names.add(name)
        targets = _regions_of(r, item, key, regions)
        catalogs = [models.region(location) for location in targets]
        for location, region_catalog in zip(targets, catalogs, strict=True):
            if region_catalog is None:
                r.problem(f"{key}.regions", location, "a region with a model catalogue file "
                          f"(settings/data/models/{location}.json): create it with `python -m offline catalog refresh "
                          f"--location {location}`", "has no model catalogue")
        known = [c for c in catalogs if c is not None]
        default_version = None
        if model is not None and known:
            current = known[0].current(model, today)
            default_version = current.version if current is not None else None
        if isinstance(item.get("version"), (int, float)) and not isinstance(item.get("version"), bool):
            # YAML reads `version: 1` as a number and `version: 0613` as octal 395: Azure's versions are text.
            r.problem(f"{key}.version", item["version"], f'the version in quotes, as Azure lists it: version: '
                      f'"{item["version"]}" (a leading 0 must be written too, e.g. "001")',
                      "is a number, not a version")
            item = {k: v for k, v in item.items() if k != "version"}
        version = r.string(item, "version", f"{key}.version", default_version, pattern=_VERSION_RE,
                           allowed=f"a model version such as 2025-04-14 (Azure's current version of {model} in "
                                   f"{targets[0] if targets else 'the region'} when left out)")
        sku = r.enum(item, "sku", f"{key}.sku", sorted(catalog.ALL_DEPLOYMENT_SKUS), "Standard")
        if sku is not None and sku not in residency.allowed_skus:
            r.problem(f"{key}.sku", sku, f"{choices(sorted(residency.allowed_skus))} under residency.mode "
                                         f"{residency.mode}", "breaks data residency")
            sku = None
        if sku in catalog.DATA_ZONE_SKUS:
            for location in targets:
                zone = catalog.REGIONS[location].data_zone
                if zone not in catalog.DATA_ZONES or (residency.data_zone and zone != residency.data_zone):
                    r.problem(f"{key}.sku", sku, f"a regional SKU in {location}, which is in no "
                              f"{residency.data_zone or 'EU or US'} data zone", "keeps data in no allowed data zone")
        capacity = r.integer(item, "capacity", f"{key}.capacity", 1, 100000)
        if None not in (model, version, sku):
            assert model is not None and version is not None and sku is not None
            for region_catalog in known:
                check_offer(r, key, models, region_catalog, model, version, sku, capacity, today, warn_days)
        upgrade = r.enum(item, "versionUpgradeOption", f"{key}.versionUpgradeOption",
                         catalog.VERSION_UPGRADE_OPTIONS, "NoAutoUpgrade")
        content_filter = r.enum(item, "contentFilter", f"{key}.contentFilter", sorted(filters), default_filter)
        spillover = r.string(item, "spilloverTo", f"{key}.spilloverTo", None, pattern=_DEPLOYMENT_NAME_RE,
                             allowed="the name of a pay-per-token deployment of this stack")
        if None not in (name, model, version, sku, capacity, upgrade, content_filter) and targets:
            result.append(DeploymentSettings(name, model, version, sku, capacity, upgrade, content_filter,
                                             targets, spillover))
    _check_spillover(r, result)
    return tuple(result)


def _check_spillover(r: Reader, deployments: Sequence[DeploymentSettings]) -> None:
    """A provisioned deployment may name a pay-per-token deployment of the same stack to take its overflow (the
    deployment's spilloverDeploymentName): it must exist in every region the provisioned one does."""
    by_name = {d.name: d for d in deployments}
    for i, d in enumerate(deployments):
        if d.spillover is None:
            continue
        key = f"deployments[{i}].spilloverTo"
        target = by_name.get(d.spillover)
        if d.sku not in catalog.PROVISIONED_SKUS:
            r.problem(key, d.spillover, f"nothing on {d.sku}: only a provisioned deployment "
                      f"({choices(sorted(catalog.PROVISIONED_SKUS))}) spills over", "has no effect")
        elif target is None:
            r.problem(key, d.spillover, choices(sorted(n for n in by_name if n != d.name)) or "another deployment",
                      "is not a deployment of this stack")
        elif target.sku != catalog.SPILLOVER_TARGET_SKUS[d.sku]:
            r.problem(key, d.spillover, f"a {catalog.SPILLOVER_TARGET_SKUS[d.sku]} deployment (the pay-per-token "
                      f"SKU of {d.sku}'s data processing level)", f"is on {target.sku}")
        elif missing := [loc for loc in d.regions if loc not in target.regions]:
            r.problem(key, d.spillover, f"a deployment present in {', '.join(d.regions)}",
                      f"is missing in {', '.join(missing)}")
        elif (target.model, target.version) != (d.model, d.version):
            # The Foundry portal offers as spillover targets only standard deployments of the same model and version
            # on the same resource; the spillover page (ms.date 2026-03-04) says "standard deployment" only. The
            # stricter reading keeps callers on one model whichever deployment answers.
            r.problem(key, d.spillover, f"a deployment of {d.model} {d.version}",
                      f"serves {target.model} {target.version}")
