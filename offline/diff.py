"""`python -m offline diff`: what a change will do to a stack, before `pulumi up` does it.

Both plans come from the real program under the mock engine: the working tree's (this process), and a git ref's
(by default the merge base with main), whose committed files are extracted into a temporary directory with `git
archive` and run there with `python -m offline preview --json` in a process of its own (the two trees' modules must
not mix). Resources are matched by URN, as Pulumi matches them:
- a URN only in the working tree is created, one only in the ref is deleted;
- a URN in both with different inputs is updated, or replaced when a changed input is one the provider re-creates
  the resource for (offline/data/replacements.json, with its sources: the ARM path's parameters, create-only
  properties, the provider's own force-new list); an input Azure will not change in place is called out as refused;
- a resource deleted under one URN and created under another with the same Azure name is a URN change: Pulumi
  deletes and re-creates it unless an alias says they are one.
Hazards are listed first: anything holding data (account, vault, key, workspace) replaced or deleted, location moves,
renames, URN changes, refused changes and protected resources Pulumi would refuse to replace. Provisioned
deployments' capacity (PTUs) is summed per SKU and region, and priced from settings/data/prices.json when the platform
team has entered a price.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from settings import shapes

from .prices import PriceTable

REPLACEMENTS_FILE = Path(__file__).resolve().parent / "data" / "replacements.json"
PROVISIONED_SKUS = ("ProvisionedManaged", "DataZoneProvisionedManaged", "GlobalProvisionedManaged")
ACCOUNT = shapes.ACCOUNT
DEPLOYMENT = shapes.DEPLOYMENT
# The input holding each type's own Azure name (the last segment of its ARM id): a rename is a replacement.
NAME_INPUTS = {token: shapes.shape(token).name_input for token in (
    shapes.RESOURCE_GROUP, shapes.VIRTUAL_NETWORK, shapes.SUBNET, shapes.NETWORK_SECURITY_GROUP,
    shapes.PRIVATE_ENDPOINT, shapes.PRIVATE_DNS_ZONE_GROUP, shapes.PRIVATE_ZONE, shapes.VIRTUAL_NETWORK_LINK, ACCOUNT,
    DEPLOYMENT, shapes.RAI_POLICY, shapes.VAULT, shapes.KEY, shapes.USER_ASSIGNED_IDENTITY, shapes.WORKSPACE)}
LABELS = {ACCOUNT: "Azure OpenAI account", shapes.VAULT: "Key Vault", shapes.KEY: "key",
          shapes.WORKSPACE: "Log Analytics workspace", shapes.PRIVATE_ZONE: "private DNS zone",
          DEPLOYMENT: "model deployment"}


class DiffError(Exception):
    """The ref cannot be read or its program cannot run: the diff cannot be made."""


@dataclass(frozen=True)
class PropertyChange:
    """One changed input: its engine path, both values, and what Azure does with it (update, replace, refused)."""

    path: str
    old: Any
    new: Any
    effect: str = "update"
    reason: str = ""


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource: create, update, replace or delete, with the changed inputs and the hazards."""

    urn: str
    type: str
    name: str
    action: str
    changes: tuple[PropertyChange, ...] = ()
    hazards: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapacityChange:
    """Provisioned throughput of one SKU in one region, before and after, and its monthly price change."""

    sku: str
    region: str
    before: int
    after: int
    monthly_delta: float | None
    note: str

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class StackDiff:
    """The plan of the working tree against a ref, for one stack."""

    stack: str
    base: str
    base_commit: str
    changes: tuple[ResourceChange, ...]
    capacity: tuple[CapacityChange, ...] = ()
    currency: str = "USD"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def hazards(self) -> list[tuple[ResourceChange, str]]:
        return [(c, h) for c in self.changes for h in c.hazards]

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts


@cache
def replacement_table() -> dict[str, Any]:
    """offline/data/replacements.json, read once."""
    return json.loads(REPLACEMENTS_FILE.read_text())


# --- git ------------------------------------------------------------------------------------------------------------

def git(*args: str, cwd: Path) -> str:
    """Run git; a failure is a DiffError with git's own words."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    except OSError as error:
        raise DiffError(f"git cannot run: {error}") from error
    if done.returncode != 0:
        raise DiffError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def default_base(project_dir: Path) -> str:
    """The merge base of HEAD with main (or origin/main, as CI checks out)."""
    for branch in ("main", "origin/main"):
        try:
            return git("merge-base", "HEAD", branch, cwd=project_dir)
        except DiffError:
            continue
    raise DiffError("no branch main or origin/main to diff against: pass --base <ref> (a commit, tag or branch)")


def materialize(ref: str, project_dir: Path, into: Path) -> str:
    """Extract the committed files of `ref` into `into`; returns the commit id."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=project_dir)
    try:
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=project_dir, capture_output=True,
                                 timeout=300, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise DiffError(f"git archive {commit} failed: {error}") from error
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def stacks_at(ref: str, project_dir: Path) -> list[str]:
    """The stacks with a file at `ref` (Pulumi.<stack>.yaml at the top of the tree)."""
    names = git("ls-tree", "--name-only", f"{ref}^{{commit}}", cwd=project_dir).splitlines()
    return sorted(n[len("Pulumi."):-len(".yaml")] for n in names
                  if n.startswith("Pulumi.") and n.endswith(".yaml") and n != "Pulumi.yaml")


def plan_at(tree: Path, stack: str) -> dict[str, Any] | None:
    """The --json plan of `stack` in a checked-out tree, by that tree's own offline runner (None: no stack file)."""
    if not (tree / f"Pulumi.{stack}.yaml").exists():
        return None
    out = tree / "build" / f"plan-{stack}.json"
    done = subprocess.run([sys.executable, "-m", "offline", "preview", "--stack", stack, "--json", str(out)],
                          cwd=tree, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not out.exists():
        raise DiffError(f"the program of the base tree cannot run for stack {stack!r} (exit {done.returncode}):\n"
                        f"{(done.stderr or done.stdout).strip()[-3000:]}")
    return dict(json.loads(out.read_text()))


def base_plan(ref: str, stack: str, project_dir: Path) -> tuple[str, dict[str, Any] | None]:
    """The plan of `stack` at `ref`: (commit, plan or None when the stack did not exist there)."""
    with tempfile.TemporaryDirectory(prefix="aoai-diff-") as temp:
        tree = Path(temp)
        commit = materialize(ref, project_dir, tree)
        return commit, plan_at(tree, stack)


# --- comparing ------------------------------------------------------------------------------------------------------

def _changed(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every changed leaf (maps compared key by key, lists as whole values), with its dotted engine path."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            yield from _changed(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif old != new:
        yield path, old, new


WHY = {"path": "part of the resource's ARM id", "createOnly": "create-only in the REST API (x-ms-mutability)",
       "forceNewMap": "force-new in the azure-native provider"}


def _effect(type_: str, path: str) -> tuple[str, str]:
    """What Azure does when `path` of a resource of `type_` changes, and why (the table's source)."""
    table = replacement_table()
    rules = table["types"].get(type_, {})
    for kind, why in WHY.items():
        for key in rules.get(kind, ()):
            if path == key or path.startswith(key + "."):
                return "replace", f"{key} is {why} ({table['sources'][kind].split(':')[0]})"
    for key, source in (rules.get("refused") or {}).items():
        if path == key or path.startswith(key + "."):
            return "refused", table["sources"].get(source, source)
    return "update", ""


def _label(type_: str, name: str) -> str:
    return f"{LABELS.get(type_, type_.rsplit(':', 1)[-1])} '{name}'"


def compare(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[ResourceChange]:
    """Per URN: create, delete, update or replace, with each changed input and the hazards."""
    table = replacement_table()["types"]
    old = {r["urn"]: r for r in (base or {}).get("resources", []) if r.get("custom")}
    new = {r["urn"]: r for r in (head or {}).get("resources", []) if r.get("custom")}
    changes: list[ResourceChange] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if after is None:
            assert before is not None
            changes.append(ResourceChange(urn, before["type"], before["name"], "delete"))
            continue
        if before is None:
            changes.append(ResourceChange(urn, after["type"], after["name"], "create"))
            continue
        found = [PropertyChange(path, a, b, *_effect(after["type"], path))
                 for path, a, b in _changed(before.get("inputs") or {}, after.get("inputs") or {})]
        if not found and bool(before.get("protect")) == bool(after.get("protect")):
            continue
        action = "replace" if any(c.effect == "replace" for c in found) else "update"
        changes.append(ResourceChange(urn, after["type"], after["name"], action, tuple(found)))
    changes = _urn_changes(changes, old, new)
    changes = [_with_hazards(c, table.get(c.type, {}), old.get(c.urn) or new.get(c.urn) or {}) for c in changes]
    return [_group_contents(c, old) for c in changes]


RESOURCE_GROUP = "azure-native:resources:ResourceGroup"


def _group_contents(change: ResourceChange, old: Mapping[str, Any]) -> ResourceChange:
    """A resource group replaced or deleted takes everything in it along: name what that is."""
    if change.type != RESOURCE_GROUP or change.action not in ("replace", "delete"):
        return change
    group = (old[change.urn].get("inputs") or {}).get("resourceGroupName")
    inside = [r for r in old.values() if r["type"] != RESOURCE_GROUP
              and (r.get("inputs") or {}).get("resourceGroupName") == group]
    if not inside:
        return change
    counts: dict[str, list[str]] = defaultdict(list)
    for r in sorted(inside, key=lambda r: r["urn"]):
        counts[_label(r["type"], "").rsplit(" '", 1)[0]].append(_azure_name(r) or r["name"])
    what = "; ".join(f"{len(names)} {kind}: {', '.join(names)}" for kind, names in sorted(counts.items()))
    data = [r for r in inside if replacement_table()["types"].get(r["type"], {}).get("holdsData")]
    verb = "replaced" if change.action == "replace" else "deleted"
    hazard = (f"{'DATA: ' if data else ''}resource group {group!r} is {verb}: Azure deletes a resource group with "
              f"everything in it, so these go too ({what})")
    return ResourceChange(change.urn, change.type, change.name, change.action, change.changes,
                          (*change.hazards, hazard))


def _azure_name(resource: Mapping[str, Any]) -> str:
    value = (resource.get("inputs") or {}).get(NAME_INPUTS.get(resource["type"], ""), "")
    return value if isinstance(value, str) else ""


def _urn_changes(changes: list[ResourceChange], old: Mapping[str, Any], new: Mapping[str, Any],
                 ) -> list[ResourceChange]:
    """A delete and a create of one type with one Azure name: the same resource under a new URN."""
    deleted = {(c.type, _azure_name(old[c.urn])): c for c in changes
               if c.action == "delete" and _azure_name(old[c.urn])}
    result = []
    for change in changes:
        if change.action == "create":
            twin = deleted.get((change.type, _azure_name(new[change.urn])))
            if twin is not None:
                hazard = (f"URN change: {_label(change.type, _azure_name(new[change.urn]))} moves from {twin.urn} to "
                          f"{change.urn}; Pulumi deletes and re-creates it unless the new resource declares "
                          f"`aliases=[...]` naming the old URN")
                result.append(ResourceChange(change.urn, change.type, change.name, "create", change.changes,
                                             (hazard,)))
                continue
        result.append(change)
    return result


def _with_hazards(change: ResourceChange, rules: Mapping[str, Any], resource: Mapping[str, Any]) -> ResourceChange:
    hazards = list(change.hazards)
    label = _label(change.type, _azure_name(resource) or change.name)
    data = bool(rules.get("holdsData"))
    if change.action in ("replace", "delete") and data:
        verb = "replaced (deleted and re-created)" if change.action == "replace" else "deleted"
        hazards.append(f"DATA: {label} holds data or keys and would be {verb}; what it holds does not move "
                       f"to the new one")
    for c in change.changes:
        if c.effect == "replace":
            if c.path == "location":
                hazards.append(f"{label} moves from {c.old} to {c.new}: Azure cannot move it, so it is replaced")
            elif c.path == NAME_INPUTS.get(change.type):
                hazards.append(f"{label} is renamed from {c.old!r} to {c.new!r}: a rename is a replacement")
            elif change.type == "azure-native:privatedns:PrivateZone" or not data:
                hazards.append(f"{label} is replaced because {c.path} changes ({_short(c.old)} -> {_short(c.new)})")
        elif c.effect == "refused":
            hazards.append(f"{label}: Azure will not change {c.path} in place ({_short(c.old)} -> {_short(c.new)}): "
                           f"{c.reason}")
    if change.action in ("replace", "delete") and resource.get("protect"):
        hazards.append(f"{label} is protected: `pulumi up` refuses to {change.action} it until protect is lifted "
                       f"(docs/decommission.md)")
    return ResourceChange(change.urn, change.type, change.name, change.action, change.changes,
                          tuple(dict.fromkeys(hazards)))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


# --- capacity and cost --------------------------------------------------------------------------------------------

def provisioned(plan: Mapping[str, Any] | None) -> dict[tuple[str, str], int]:
    """PTUs per (SKU, region) of a plan's provisioned deployments (the region is their account's location)."""
    if not plan:
        return {}
    resources = [r for r in plan.get("resources", []) if r.get("custom")]
    location = {(r["inputs"].get("resourceGroupName"), r["inputs"].get("accountName")): r["inputs"].get("location")
                for r in resources if r["type"] == ACCOUNT}
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in resources:
        sku = (r["inputs"].get("sku") or {}) if r["type"] == DEPLOYMENT else {}
        if sku.get("name") in PROVISIONED_SKUS:
            region = location.get((r["inputs"].get("resourceGroupName"), r["inputs"].get("accountName")), "?")
            totals[(sku["name"], str(region))] += int(sku.get("capacity") or 0)
    return dict(totals)


def capacity_changes(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None,
                     prices: PriceTable) -> list[CapacityChange]:
    """Provisioned capacity before and after per SKU and region, priced when a price is configured."""
    before, after = provisioned(base), provisioned(head)
    result = []
    for sku, region in sorted(set(before) | set(after)):
        old, new = before.get((sku, region), 0), after.get((sku, region), 0)
        price = prices.lookup(sku, region)
        if price is None:
            result.append(CapacityChange(sku, region, old, new, None, prices.missing(sku, region)))
        else:
            result.append(CapacityChange(sku, region, old, new, (new - old) * price.monthly_per_ptu,
                                         f"{price.monthly_per_ptu:g} {prices.currency} per PTU a month "
                                         f"({price.source}, read {price.read})"))
    return result


def diff_stack(stack: str, head: Mapping[str, Any] | None, base_ref: str, project_dir: Path,
               prices: PriceTable, label: str | None = None) -> StackDiff:
    """The working tree's plan (`head`, None when the stack has no file) against `base_ref`'s; `label` is how the
    output names the base (default: the ref)."""
    commit, base = base_plan(base_ref, stack, project_dir)
    notes = []
    if base is None:
        notes.append(f"stack {stack} has no stack file at {commit[:12]}: everything is created")
    if head is None:
        notes.append(f"stack {stack} has no stack file in the working tree: everything is deleted")
    return StackDiff(stack, label or base_ref, commit, tuple(compare(base, head)),
                     tuple(capacity_changes(base, head, prices)), prices.currency, tuple(notes))


# --- rendering ----------------------------------------------------------------------------------------------------

def lines(diff: StackDiff) -> list[str]:
    """The diff for a terminal: counts, hazards first, then every change with its inputs, then capacity."""
    counts = diff.counts()
    out = [f"Stack {diff.stack}: working tree against {diff.base} ({diff.base_commit[:12]}): "
           + ", ".join(f"{n} to {action}" for action, n in counts.items())]
    out += [f"  note: {note}" for note in diff.notes]
    hazards = diff.hazards
    out += ["", f"hazards ({len(hazards)})"] + ([f"  ! {h}" for _, h in hazards] or ["  none"])
    for action in ("replace", "delete", "create", "update"):
        found = [c for c in diff.changes if c.action == action]
        if not found:
            continue
        out += ["", f"{action} ({len(found)})"]
        symbol = {"create": "+", "delete": "-", "update": "~", "replace": "+-"}[action]
        for change in found:
            out.append(f"  {symbol} {change.name}  {change.type}")
            for c in change.changes:
                mark = {"replace": " (replaces)", "refused": " (Azure refuses in place)"}.get(c.effect, "")
                out.append(f"      {c.path}: {_short(c.old)} -> {_short(c.new)}{mark}")
    if diff.capacity:
        out += ["", "provisioned throughput (PTU) per SKU and region"]
        for cap in diff.capacity:
            money = (f", {cap.monthly_delta:+,.2f} {diff.currency} a month" if cap.monthly_delta is not None
                     else "")
            out.append(f"  {cap.sku} {cap.region}: {cap.before} -> {cap.after} ({cap.delta:+d} PTU){money}; "
                       f"{cap.note}")
    if not diff.changes:
        out += ["", "no changes"]
    return out


def as_json(diff: StackDiff) -> dict[str, Any]:
    """The diff for machines (CI, the PR comment)."""
    return {
        "stack": diff.stack, "base": diff.base, "baseCommit": diff.base_commit, "summary": diff.counts(),
        "notes": list(diff.notes),
        "hazards": [{"urn": c.urn, "hazard": h} for c, h in diff.hazards],
        "changes": [{"urn": c.urn, "type": c.type, "name": c.name, "action": c.action,
                     "properties": [{"path": p.path, "old": p.old, "new": p.new, "effect": p.effect,
                                     "reason": p.reason} for p in c.changes]} for c in diff.changes],
        "capacity": [{"sku": c.sku, "region": c.region, "before": c.before, "after": c.after, "delta": c.delta,
                      "monthlyDelta": c.monthly_delta, "currency": diff.currency, "note": c.note}
                     for c in diff.capacity],
    }


def markdown(diffs: list[StackDiff]) -> str:
    """The pull request comment: one section per stack, hazards first."""
    out = ["## What this change does to each stack", "",
           "`make diff` (python -m offline diff): the working tree's plan under the mock engine against the merge "
           "base; replacements per offline/data/replacements.json.", ""]
    for diff in diffs:
        counts = diff.counts()
        out += [f"### Stack `{diff.stack}`", "",
                " · ".join(f"{n} to {action}" for action, n in counts.items()) + f" (base {diff.base_commit[:12]})",
                ""]
        out += [f"> {note}" for note in diff.notes]
        if diff.hazards:
            out += ["**Hazards**", ""] + [f"- ⚠️ {h}" for _, h in diff.hazards] + [""]
        changed = [c for c in diff.changes if c.action != "create" or c.hazards]
        if changed or diff.changes:
            out += ["| Action | Resource | Type | Changed inputs |", "|---|---|---|---|"]
            for c in diff.changes:
                inputs = ", ".join(f"`{p.path}`" + (" (replaces)" if p.effect == "replace" else "")
                                   for p in c.changes[:8]) + (" ..." if len(c.changes) > 8 else "")
                out.append(f"| {c.action} | `{c.name}` | `{c.type.rsplit(':', 1)[-1]}` | {inputs} |")
            out.append("")
        for cap in diff.capacity:
            money = (f", {cap.monthly_delta:+,.2f} {diff.currency} a month" if cap.monthly_delta is not None else "")
            out.append(f"- PTU {cap.sku} {cap.region}: {cap.before} → {cap.after} ({cap.delta:+d}){money}; {cap.note}")
        if not diff.changes:
            out.append("No changes.")
        out.append("")
    return "\n".join(out)
