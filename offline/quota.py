"""Quota before `pulumi up`: the capacity every stack asks for, added up per subscription, region and quota usage,
against the quota snapshot of that subscription.

Azure counts deployment capacity against a per-subscription, per-region quota named by the SKU's `usageName` in the
Models API (for example `OpenAI.Standard.gpt-4.1`); `InsufficientQuota` otherwise only shows when `pulumi up` creates
the deployment. Stacks that name the same `subscription` share its quota, so the check reads every stack file of the
project, not just the one being checked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import RunError

from settings import Settings
from settings.model_catalog import DATA_DIR, ModelCatalog, load_catalog

from .engine import PROJECT_DIR
from .loader import LoadError
from .stack_settings import stack_settings


@dataclass(frozen=True)
class Demand:
    """One deployment's capacity in one region, counted against one quota usage."""

    stack: str
    deployment: str
    capacity: int


@dataclass(frozen=True)
class QuotaLine:
    """A usage's total demand across stacks against its limit (None when the snapshot does not list it)."""

    subscription: str
    location: str
    usage: str
    demands: tuple[Demand, ...]
    limit: float | None
    current: float | None
    snapshot: str

    @property
    def total(self) -> int:
        return sum(d.capacity for d in self.demands)

    @property
    def over(self) -> bool:
        return self.limit is not None and self.total > self.limit

    def describe(self) -> str:
        who = ", ".join(f"{d.stack}:{d.deployment} ({d.capacity})" for d in self.demands)
        if self.limit is None:
            return (f"{self.subscription}/{self.location} {self.usage}: {self.total} asked by {who}; the quota "
                    f"snapshot {self.snapshot} does not list this usage")
        used = f", {self.current:g} in use today" if self.current else ""
        return (f"{self.subscription}/{self.location} {self.usage}: {self.total} of {self.limit:g}{used} "
                f"(asked by {who}; quota snapshot {self.snapshot})")


@dataclass(frozen=True)
class QuotaReport:
    """Every usage line, the ones over quota, and the subscription/regions that have no snapshot."""

    lines: tuple[QuotaLine, ...]
    unchecked: tuple[str, ...] = field(default=())

    @property
    def over(self) -> list[QuotaLine]:
        return [line for line in self.lines if line.over]

    def problems(self) -> list[str]:
        """One sentence per usage over quota, naming the stacks and deployments to change."""
        return [f"quota exceeded: {line.describe()}: lower a capacity, move a deployment to another region, or ask "
                f"Azure for more quota (then `python -m offline catalog refresh`)" for line in self.over]


def _usage_name(catalog: ModelCatalog, location: str, model: str, version: str, sku: str) -> str:
    region = catalog.region(location)
    offer = region.offers.get((model, version)) if region else None
    sku_offer = offer.skus.get(sku) if offer else None
    # The API names the usage for every SKU it lists; a SKU the snapshot lacks is refused by the settings already.
    return sku_offer.usage_name if sku_offer and sku_offer.usage_name else f"OpenAI.{sku}.{model}"


def read_quota(path: Path) -> dict[str, tuple[float | None, float | None]]:
    """usage name -> (limit, current value) from a snapshot in the Usages API's shape."""
    document = json.loads(path.read_text())
    result: dict[str, tuple[float | None, float | None]] = {}
    for usage in document.get("value", []):
        name = (usage.get("name") or {}).get("value")
        if isinstance(name, str):
            result[name] = (usage.get("limit"), usage.get("currentValue"))
    return result


def quota_report(settings: Iterable[Settings], catalog: ModelCatalog | None = None,
                 data_dir: Path | None = None) -> QuotaReport:
    """Add up every stack's deployments per (subscription, region, usage) and compare with the snapshots
    (`data_dir`: default settings/data)."""
    catalog = catalog or load_catalog()
    data_dir = data_dir or DATA_DIR
    demand: dict[tuple[str, str, str], list[Demand]] = {}
    for s in settings:
        for d in s.deployments:
            for location in d.regions:
                usage = _usage_name(catalog, location, d.model, d.version, d.sku)
                demand.setdefault((s.subscription, location, usage), []).append(Demand(s.stack, d.name, d.capacity))
    lines: list[QuotaLine] = []
    unchecked: set[str] = set()
    for (subscription, location, usage), demands in sorted(demand.items()):
        path = data_dir / "quota" / subscription / f"{location}.json"
        if not path.exists():
            unchecked.add(f"{subscription}/{location}")
            continue
        quota = read_quota(path)
        limit, current = quota.get(usage, (None, None))
        snapshot = str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)
        lines.append(QuotaLine(subscription, location, usage, tuple(demands), limit, current, snapshot))
    return QuotaReport(tuple(lines), tuple(sorted(unchecked)))


def project_settings(project_dir: Path = PROJECT_DIR, today: dt.date | None = None,
                     overrides: Mapping[str, Path] | None = None,
                     skipped: list[str] | None = None) -> list[Settings]:
    """The settings of every stack file of the project (`overrides`: stack -> another file for that stack). With a
    `skipped` list, a stack whose file has errors is left out and named there instead of failing the whole check
    (its own `check` reports the errors); without one, the first error is raised."""
    files = {path.name[len("Pulumi."):-len(".yaml")]: path for path in sorted(project_dir.glob("Pulumi.*.yaml"))}
    files.update(overrides or {})
    result = []
    for stack, path in sorted(files.items()):
        try:
            result.append(stack_settings(stack, path, project_dir, today=today))
        except (RunError, LoadError):
            if skipped is None or stack in (overrides or {}):
                raise
            skipped.append(stack)
    return result


def format_report(report: QuotaReport) -> Sequence[str]:
    """Lines for the terminal."""
    lines = [("OVER  " if line.over else "ok    ") + line.describe() for line in report.lines]
    lines += [f"not checked: no quota snapshot for {where} (settings/data/quota/{where}.json; create it with "
              f"`python -m offline catalog refresh`)" for where in report.unchecked]
    return lines


def as_json(report: QuotaReport) -> dict[str, Any]:
    """The report for machines."""
    return {"lines": [{"subscription": line.subscription, "location": line.location, "usage": line.usage,
                       "total": line.total, "limit": line.limit, "current": line.current, "over": line.over,
                       "demands": [d.__dict__ for d in line.demands]} for line in report.lines],
            "unchecked": list(report.unchecked)}
