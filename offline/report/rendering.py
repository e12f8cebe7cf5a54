"""The compliance report as Markdown: provenance, summary (with every waiver in plain sight), architecture, one
section per control (settings, policies and verdicts, findings, framework references), alerts, network ids, cost,
what the report does not cover, inventory, and how to reproduce it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

from ..engine import Graph
from ..gate import CheckResult, Violation, group_violations
from ..prices import PriceTable
from ..values import display
from .audit import CONTROLS, OTHER, PolicyAudit, audit_policies, frameworks_of
from .diagram import Diagram
from .evidence import (
    ACCOUNT,
    SETTINGS,
    alert_conditions,
    cell,
    network_ids,
    provisioned_capacity,
    runtime_enforcement,
)
from .provenance import Provenance

VERDICT_TEXT = {"pass": "✅ pass", "fail": "❌ fail", "undecided": "❔ undecided", "disabled": "⏸ disabled"}
EXEMPTIONS = "exemptResources"

# What a reviewer must not read into the report: it judges what the program would send, nothing around it.
OUT_OF_SCOPE = (
    ("Quota beyond the snapshot", "Capacity is checked against the quota snapshot under settings/data/quota (taken "
     "by `python -m offline catalog refresh`); other deployments in the subscription, and quota Microsoft changes "
     "after the snapshot, are Azure's to refuse at `pulumi up`."),
    ("Inherited roles", "Only the role assignments this stack creates are judged. Roles granted at the subscription, "
     "a management group or another resource group (and Entra ID group membership) reach these resources too: "
     "review them in Azure (docs/access-reviews.md)."),
    ("Management-group policy", "Azure Policy assignments made above the subscription (and their exemptions) are not "
     "visible to the program or the pack; they may deny or modify what is deployed."),
    ("Microsoft's own abuse monitoring", "Azure OpenAI's abuse monitoring, its human review of flagged content and "
     "any modified-abuse-monitoring exemption are Microsoft's process, outside the stack; content filters here are "
     "the configurable part only."),
    ("The live state", "Values come from the program under the mock engine; ids, URIs and principal ids are "
     "stand-ins. Drift, manual changes and resources created outside Pulumi are seen only by `pulumi preview` "
     "against the real subscription and by the runtime guardrails."),
)


def _violation_line(v: Violation) -> str:
    return f"- **{v.enforcement_level}** `{v.policy}` on `{v.resource_name}`: {cell(v.message)}"


def _exempted(result: CheckResult) -> dict[str, list[str]]:
    """Policy -> the resources its config exempts (`exemptResources`), for the policies that exempt any."""
    return {name: [str(r) for r in config.properties.get(EXEMPTIONS) or []]
            for name, config in sorted(result.policy_config.items())
            if config.properties.get(EXEMPTIONS) and name in result.levels}


def _verdict(name: str, result: CheckResult, verdicts: Mapping[str, str], count: int,
             exempted: Mapping[str, list[str]]) -> str:
    """A policy's verdict cell: a waived rule never shows a plain green tick."""
    verdict = verdicts[name]
    text = VERDICT_TEXT[verdict] + (f" ({count})" if count else "")
    notes = []
    if result.levels.get(name) == "advisory":
        notes.append("advisory only: does not block")
    if name in exempted:
        notes.append(f"{len(exempted[name])} resource(s) exempted")
    if verdict == "pass" and notes:
        return "⚠️ pass, " + ", ".join(notes)
    return text + (f" ({', '.join(notes)})" if notes else "")


def _status(audits: list[PolicyAudit], result: CheckResult, verdicts: Mapping[str, str],
            violations: Mapping[str, list[Violation]], exempted: Mapping[str, list[str]]) -> str:
    """A control's status: failures, then every waiver (disabled, advisory-only, exempted); ✅ only with none."""
    if not audits:
        return "⚠️ no policy enforces it"
    names = [a.info.name for a in audits]
    mandatory = sum(1 for n in names for v in violations.get(n, []) if v.enforcement_level == "mandatory")
    advisory = sum(1 for n in names for v in violations.get(n, []) if v.enforcement_level == "advisory")
    undecided = sum(1 for n in names if verdicts.get(n) == "undecided")
    disabled = sum(1 for n in names if result.levels.get(n) == "disabled")
    advisory_only = sum(1 for n in names if result.levels.get(n) == "advisory")
    waived = sum(1 for n in names if n in exempted)
    parts = []
    if mandatory:
        parts.append(f"❌ {mandatory} mandatory violation(s)")
    if advisory:
        parts.append(f"⚠️ {advisory} advisory finding(s)")
    if disabled:
        parts.append(f"⏸ {disabled} polic{'y' if disabled == 1 else 'ies'} disabled")
    if advisory_only:
        parts.append(f"⚠️ {advisory_only} advisory only")
    if waived:
        parts.append(f"⚠️ {waived} with exemptions")
    if undecided:
        parts.append(f"❔ {undecided} undecided until apply")
    return ", ".join(parts) or "✅ all pass"


def _merge(rows: list[tuple[str, str, str]]) -> list[tuple[tuple[str, str], list[str]]]:
    """Rows with the same setting and value (the same choice in every region) become one row naming all resources."""
    merged: dict[tuple[str, str], list[str]] = {}
    for setting, value, resource in rows:
        merged.setdefault((setting, value), []).append(resource)
    return [(key, sorted(set(names))) for key, names in merged.items()]


def _anchor(title: str) -> str:
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c == "-")


def provenance_lines(p: Provenance) -> list[str]:
    """The table a reviewer signs against."""
    out = ["## Provenance", "", "| | |", "|---|---|", f"| Commit | `{p.commit}` |", f"| Working tree | {p.tree} |",
           f"| Generated | {p.generated} |"]
    hashes = dict(p.hashes)
    for what, path in p.files:
        out.append(f"| {what.capitalize()} | `{path}` sha256 `{hashes[path]}` |")
    out.append(f"| Policy pack | {p.pack_files} files, sha256 of their sorted hashes `{p.pack_digest}` |")
    out += ["", "<details><summary>SHA-256 of every input file</summary>", "", "| File | SHA-256 |", "|---|---|"]
    out += [f"| `{path}` | `{value}` |" for path, value in p.hashes]
    out += ["", "</details>"]
    return out


def waiver_lines(result: CheckResult, exempted: Mapping[str, list[str]]) -> list[str]:
    """Every rule that does not fully hold: disabled, advisory only, or exempting resources."""
    disabled = sorted(n for n, level in result.levels.items() if level == "disabled")
    advisory = sorted(n for n, level in result.levels.items() if level == "advisory")
    out = ["### Waivers: rules that do not fully hold", ""]
    if not (disabled or advisory or exempted):
        return [*out, "None: every policy is mandatory, none is disabled and none exempts a resource."]
    out += ["| Rule | Waiver | Detail |", "|---|---|---|"]
    out += [f"| `{n}` | ⏸ disabled | not evaluated at all ({result.config_source or 'pack defaults'}) |"
            for n in disabled]
    out += [f"| `{n}` | ⚠️ advisory only | reported, never blocks a deployment |" for n in advisory]
    out += [f"| `{n}` | ⚠️ exempts resources | {cell(', '.join(names))} |" for n, names in exempted.items()]
    return out


def cost_lines(graph: Graph, prices: PriceTable) -> list[str]:
    """Provisioned throughput per SKU and region, and what it costs a month where a price is configured."""
    capacity = provisioned_capacity(graph)
    out = ["## Provisioned capacity and monthly cost", ""]
    if not capacity:
        return [*out, "No provisioned deployment: pay-per-token deployments are billed by use, not estimated here."]
    out += ["| SKU | Region | Deployments | PTUs | Monthly cost |", "|---|---|---|---|---|"]
    total, missing = 0.0, 0
    for (sku, region), deployments in sorted(capacity.items()):
        ptus = sum(c for _, c in deployments)
        price = prices.lookup(sku, region)
        if price is None:
            money = prices.missing(sku, region)
            missing += 1
        else:
            money = (f"{ptus * price.monthly_per_ptu:,.2f} {prices.currency} ({price.monthly_per_ptu:g} per PTU, "
                     f"{price.source}, read {price.read})")
            total += ptus * price.monthly_per_ptu
        names = ", ".join(f"{n} ({c})" for n, c in deployments)
        out.append(f"| {sku} | {region} | {cell(names)} | {ptus} | {cell(money)} |")
    out.append("")
    if missing == len(capacity):
        out.append(f"No estimate: no PTU price is configured for these SKUs and regions ({prices.file}).")
    else:
        out.append(f"Estimated total: {total:,.2f} {prices.currency} a month" + (
            f", without {missing} SKU and region pair(s) that have no price" if missing else "") + ".")
    return out


def compliance_report(graph: Graph, result: CheckResult, pack_dir: Path | None = None,
                      provenance: Provenance | None = None, prices: PriceTable | None = None) -> str:
    """The whole report as Markdown. Policy metadata is what the pack announced over the protocol (`result.pack`);
    `pack_dir` is kept for callers that name the pack they served."""
    del pack_dir
    audits = audit_policies(result.pack.policies)
    verdicts = result.verdicts()
    exempted = _exempted(result)
    violations_by_policy: dict[str, list[Violation]] = defaultdict(list)
    for v in result.violations:
        violations_by_policy[v.policy].append(v)
    regions = sorted({display(r.inputs.get("location")) for r in graph.resources
                      if r.type == ACCOUNT and r.inputs.get("location")})
    custom = sum(r.custom for r in graph.resources)
    blocking_waivers = [n for n, level in result.levels.items() if level in ("disabled", "advisory")]
    verdict = "❌ FAIL" if result.mandatory else ("⚠️ PASS with waivers" if blocking_waivers or exempted
                                                  else "✅ PASS")

    out: list[str] = [
        f"# Compliance report: {graph.project}, stack `{graph.stack}`",
        "",
        "Generated offline by `python -m offline report --stack "
        f"{graph.stack}` from the stack's configuration, the real Pulumi program run under the mock engine and the "
        f"policy pack `{result.pack.name}` {result.pack.version} served as `pulumi preview --policy-pack` serves it. "
        "Values are what the program sends to Azure; ids and URIs are synthetic stand-ins for those Azure assigns. "
        "It shows how the environment is built and checked, not the state of a live subscription "
        "(see [Out of scope](#out-of-scope)).",
        "",
    ]
    if provenance is not None:
        out += [*provenance_lines(provenance), ""]
    out += [
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Gate verdict | {verdict}: {len(result.mandatory)} mandatory and {len(result.advisory)} advisory "
        f"violation(s) |",
        f"| Regions | {', '.join(regions) or 'none'} |",
        f"| Resources | {len(graph.resources)} ({custom} Azure resources, "
        f"{len(graph.resources) - custom} components) |",
        f"| Policy pack | {result.pack.name} {result.pack.version}, {len(result.pack.policies)} policies |",
        f"| Policy config | {result.config_source or 'pack defaults'} |",
        f"| Waived rules | {sum(1 for level in result.levels.values() if level == 'disabled')} disabled, "
        f"{sum(1 for level in result.levels.values() if level == 'advisory')} advisory only, {len(exempted)} with "
        f"exemptions (listed below) |",
    ]
    if result.first_preview:
        out.append(f"| Mode | first preview: {len(result.undecided)} checks cannot decide until resources exist |")
    out += ["", "| Control | Policies | Status |", "|---|---|---|"]
    sections = [*CONTROLS, OTHER]
    for control in sections:
        mine = [a for a in audits if a.control is control]
        if control is OTHER and not mine:
            continue
        out.append(f"| [{control.title}](#{_anchor(control.title)}) | {len(mine)} | "
                   f"{_status(mine, result, verdicts, violations_by_policy, exempted)} |")
    out += ["", *waiver_lines(result, exempted)]
    if result.violations:
        out += ["", "### Violations", ""]
        for group in group_violations(result.violations):
            if group.count == 1:
                out.append(_violation_line(next(v for v in result.violations if v.urn == group.findings[0].urns[0]
                                                and v.policy == group.policy)))
                continue
            out.append(f"- **{group.enforcement_level}** `{group.policy}` on {group.count} resources "
                       f"({cell(group.where)}):")
            for finding in group.findings:
                out.append(f"  - {cell(finding.message)} ({', '.join(f'`{n}`' for n, _ in finding.resources)})")
    if graph.warnings:
        out += ["", "### Warnings", "",
                "The program warned (a model version close to retirement, within `modelLifecycle.warningDays`):", ""]
        out += [f"- {warning}" for warning in graph.warnings]

    out += ["", "## Architecture", "",
            "Drawn from the resource graph: boxes are what the program creates, arrows follow the values one "
            "resource takes from another (🔒: protected or locked against deletion).", "",
            "```mermaid", Diagram(graph).render(), "```"]

    for control in sections:
        mine = sorted((a for a in audits if a.control is control), key=lambda a: a.info.name)
        if control is OTHER and not mine:
            continue
        out += ["", f"## {control.title}", "", control.objective, ""]
        if control.key == "runtime":
            out += runtime_enforcement(graph)
        if control.key == "network":
            out += network_id_lines(graph)
        if control.key == "logging":
            out += alert_lines(graph)
        rows = SETTINGS[control.key](graph)
        if rows:
            out += ["**Implemented by**", "", "| Setting | Value | Resources |", "|---|---|---|"]
            for (setting, value), names in _merge(rows):
                out.append(f"| {cell(setting)} | {cell(value)} | {cell(', '.join(names))} |")
            out.append("")
        out += ["**Enforced by**", ""]
        if not mine:
            out.append("No policy of the pack enforces this control: a gap to close before relying on it.")
        else:
            out += ["| Policy | Checks | Level | Verdict | Outside equivalents |", "|---|---|---|---|---|"]
            for audit in mine:
                info = audit.info
                count = len(violations_by_policy.get(info.name, []))
                out.append(f"| `{info.name}` | {cell(info.description)} | {result.levels.get(info.name, '')} | "
                           f"{_verdict(info.name, result, verdicts, count, exempted)} | "
                           f"{cell(', '.join(audit.equivalents)) or 'ours only'} |")
            found = [v for a in mine for v in violations_by_policy.get(a.info.name, [])]
            if found:
                out += ["", "Findings:", ""] + [_violation_line(v) for v in found]
                fixes = {a.info.name: a.remediation for a in mine if a.info.name in violations_by_policy
                         and a.remediation}
                out += ["", "Remediation:", ""] + [f"- `{name}`: {cell(text)}" for name, text in sorted(fixes.items())]
            undecided = sorted({u.policy for u in result.undecided} & {a.info.name for a in mine})
            if undecided:
                out += ["", "Cannot decide on a first preview (values unknown until the resources exist): "
                        + ", ".join(f"`{p}`" for p in undecided) + "."]
            frameworks = frameworks_of(mine)
            if frameworks:
                out += ["", "**Framework references**", ""]
                out += [f"- {name}: {', '.join(refs)}" for name, refs in frameworks.items()]

    if prices is not None:
        out += ["", *cost_lines(graph, prices)]
    out += ["", "## Out of scope", "", "What this report does not judge, and where it is judged instead:", ""]
    out += [f"- **{title}**: {text}" for title, text in OUT_OF_SCOPE]
    out += ["", "## Inventory", "", "| Type | Count |", "|---|---|"]
    for type_, count in sorted(Counter(r.type for r in graph.resources if r.custom).items()):
        out.append(f"| `{type_}` | {count} |")
    config = ("" if result.config_source == f"policies/config/{graph.stack}.json"
              else f" --policy-config {result.config_source}" if result.config_source else "")
    first = " --as-first-preview" if result.first_preview else ""
    out += ["", "## Reproduce", "", "```sh", f".venv/bin/python -m offline check --stack {graph.stack}{first}{config}",
            f".venv/bin/python -m offline report --stack {graph.stack}{first}{config}", "```", ""]
    return "\n".join(out)


def alert_lines(graph: Graph) -> list[str]:
    """The metric alerts as Azure Monitor will evaluate them, dimension filters included."""
    rows = alert_conditions(graph)
    out = ["**Alerts as Azure evaluates them**", ""]
    if not rows:
        return [*out, "No metric alert (`monitoring.alerts.enabled` is false or no receiver is set).", ""]
    out += ["| Alert | Condition | Evaluated | Severity | Watches |", "|---|---|---|---|---|"]
    out += [f"| {cell(a)} | {cell(c)} | {cell(e)} | {cell(s)} | {cell(w)} |" for a, c, e, s, w in rows]
    return [*out, ""]


def network_id_lines(graph: Graph) -> list[str]:
    """The subnet and DNS zone ids the private endpoints use, and whether a hub owns them."""
    rows = network_ids(graph)
    if not rows:
        return []
    out = ["**Subnets and private DNS zones, by id**", "", "| What | Id | Owner |", "|---|---|---|"]
    out += [f"| {cell(what)} | `{cell(value)}` | {cell(owner)} |" for what, value, owner in rows]
    return [*out, ""]

