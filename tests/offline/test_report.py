"""The compliance report: every control with its settings, policies and verdicts, and a diagram drawn from the graph."""

from __future__ import annotations

import copy
import re

import pytest

from offline.engine import Graph
from offline.gate import CheckResult
from offline.report import CONTROLS, Diagram, audit_policies, compliance_report
from tests.offline.helpers import PACK, remove, resource, set_both, varied


@pytest.fixture(scope="module")
def prod_result(graphs: dict[str, Graph], gate) -> CheckResult:
    return gate(graphs["prod"])


@pytest.fixture(scope="module")
def prod_report(graphs: dict[str, Graph], prod_result: CheckResult) -> str:
    return compliance_report(graphs["prod"], prod_result, PACK)


def registry() -> dict:  # type: ignore[type-arg]
    """The pack's own metadata registry, imported as the pack's tests import it: what the report must agree with,
    although it reads only what the pack announces over the protocol."""
    import sys

    sys.path.insert(0, str(PACK))
    try:
        from aoai_policies.metadata import POLICY_METADATA
        from aoai_policies.pack import POLICIES  # noqa: F401 - importing the policies fills the registry
    finally:
        sys.path.remove(str(PACK))
    return dict(POLICY_METADATA)


def section(report: str, title: str) -> str:
    start = report.index(f"\n## {title}\n")
    end = report.find("\n## ", start + 1)
    return report[start:end if end != -1 else None]


def test_every_control_has_settings_policies_and_framework_references(prod_report: str) -> None:
    for control in CONTROLS:
        text = section(prod_report, control.title)
        assert "**Implemented by**" in text, control.title
        assert "| Policy | Checks | Level | Verdict |" in text, f"no policy enforces {control.title}"
        assert "**Framework references**" in text and "✅ pass" in text, control.title
        assert "❌" not in text


def test_settings_name_values_and_resources(prod_report: str) -> None:
    network = section(prod_report, "Network isolation")
    assert ("| Azure OpenAI account · `properties.publicNetworkAccess` | Disabled | aoai-prod-frc, aoai-prod-swc |"
            in network)
    assert "privatelink.cognitiveservices.azure.com, privatelink.openai.azure.com" in network
    encryption = section(prod_report, "Encryption at rest with a customer-managed key")
    assert "| Key · `properties.kty` | RSA-HSM | kv-aoai-prod-frc/aoai-cmk, kv-aoai-prod-swc/aoai-cmk |" in encryption
    assert "Key Vault Crypto Service Encryption User for id-aoai-prod-swc-cmk on Key kv-aoai-prod-swc/aoai-cmk" \
        in encryption
    residency = section(prod_report, "Data residency")
    assert "| `location` | swedencentral |" in residency and "DataZoneProvisionedManaged (50)" in residency
    assert "`aoai-allowed-regions`" in residency
    content = section(prod_report, "Content safety")
    assert "| Content filter · Jailbreak (Prompt) | blocking |" in content


def test_framework_references_come_from_what_the_pack_announces(prod_report: str) -> None:
    network = section(prod_report, "Network isolation")
    assert re.search(r"- NIST 800-53: .*SC-7", network)
    assert "Checkov CKV_AZURE_134" in network


def test_each_policy_is_reported_under_the_control_its_metadata_declares(prod_result: CheckResult) -> None:
    metadata = registry()
    audits = audit_policies(prod_result.pack.policies)
    assert {a.info.name for a in audits} == set(metadata)
    for audit in audits:
        meta = metadata[audit.info.name]
        assert audit.control.key == meta.control, audit.info.name
        assert audit.frameworks == meta.controls.by_framework(), audit.info.name
        assert audit.remediation == meta.remediation
        assert len(audit.equivalents) == len(meta.checkov) + len(meta.azure_policy) + len(meta.psrule)


def test_every_policy_is_listed_with_its_verdict_and_its_framework_controls(prod_report: str,
                                                                           prod_result: CheckResult) -> None:
    for audit in audit_policies(prod_result.pack.policies):
        text = section(prod_report, audit.control.title)
        row = next((line for line in text.splitlines() if line.startswith(f"| `{audit.info.name}` |")), None)
        assert row is not None and "✅ pass" in row, audit.info.name
        for framework, controls in audit.frameworks.items():
            assert all(c in text for c in controls), (audit.info.name, framework)


def test_summary_lists_the_verdict_and_each_control(prod_report: str) -> None:
    summary = section(prod_report, "Summary")
    assert "| Gate verdict | ✅ PASS: 0 mandatory and 0 advisory violation(s) |" in summary
    assert "| Policy config | policies/config/prod.json |" in summary
    for control in CONTROLS:
        assert f"| [{control.title}](#" in summary


def test_a_failing_stack_shows_the_failure_where_a_reviewer_looks(graphs: dict[str, Graph], gate) -> None:
    graph = varied(graphs["prod"])
    set_both(resource(graph, "aoai-prod-swc-openai-account"), "properties.publicNetworkAccess", "Enabled")
    remove(graph, "aoai-prod-swc-cmk-key-lock")
    report = compliance_report(graph, gate(graph), PACK)
    assert "| Gate verdict | ❌ FAIL: 2 mandatory" in report
    network = section(report, "Network isolation")
    assert "| Azure OpenAI account · `properties.publicNetworkAccess` | Enabled | aoai-prod-swc |" in network
    assert "`aoai-account-public-network-disabled`" in network and "❌ fail (1)" in network
    assert "Remediation:" in network and "Set properties.publicNetworkAccess to 'Disabled'" in network
    assert "❌ 1 mandatory violation(s)" in section(report, "Summary")
    assert "aoai-delete-locks" in section(report, "Deletion protection")


def test_diagram_draws_the_architecture_from_the_graph(graphs: dict[str, Graph]) -> None:
    text = Diagram(graphs["prod"]).render()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = dict(re.findall(r'^\s+(n\d+)\["([^"]*)"\]$', text, re.MULTILINE))
    declared = set(nodes) | set(re.findall(r"subgraph (\w+)\[", text))
    edges = re.findall(r'^\s+(\w+) -->\|"([^"]*)"\| (\w+)$', text, re.MULTILINE)
    assert edges and all(a in declared and b in declared for a, _, b in edges), "every edge joins drawn boxes"
    assert sum(line.strip().startswith("subgraph") for line in lines) == sum(line.strip() == "end" for line in lines)
    labels = " | ".join(nodes.values())
    for part in ("Azure OpenAI account aoai-prod-swc 🔒", "Key Vault kv-aoai-prod-frc 🔒",
                 "Key kv-aoai-prod-swc/aoai-cmk", "Managed identity id-aoai-prod-swc-cmk", "Private endpoint pe-aoai-prod-swc",
                 "Private DNS zone privatelink.openai.azure.com", "Log Analytics log-aoai-prod-swc",
                 "Model deployments (5)", "Role assignments (4)", "Metric alerts (4)", "Content filter"):
        assert part in labels, part
    by_label = {label.split("<br/>")[0]: node for node, label in nodes.items()}
    account, key = by_label["Azure OpenAI account aoai-prod-swc 🔒"], by_label["Key kv-aoai-prod-swc/aoai-cmk 🔒"]
    identity = by_label["Managed identity id-aoai-prod-swc-cmk"]
    assert (account, "encrypted with", key) in edges
    assert (identity, "Key Vault Crypto Service Encryption User", key) in edges
    assert (by_label["Private endpoint pe-aoai-prod-swc"], "private link", account) in edges
    assert 'subgraph s2["Subnet vnet-aoai-prod-swc/private-endpoints 10.40.1.0/24 · NSG"]' in text


def test_runtime_enforcement_says_which_assignment_enforces_which_control_and_how(prod_report: str) -> None:
    runtime = section(prod_report, "Runtime enforcement")
    assert ("| vaultDeletionProtection | Key vaults should have deletion protection enabled "
            "(`0b60c0b2-2dc2-4e1c-b5c9-abbed971de53`) | Deny | Resource group rg-aoai-prod-frc, Resource group "
            "rg-aoai-prod-swc | `aoai-key-vault-protection` |") in runtime
    assert "| accountPrivateLink | Azure AI Services resources should use Azure Private Link" in runtime
    assert "| Audit | Resource group rg-aoai-prod-frc" in runtime
    assert "None: every assignment applies to its whole scope." in runtime
    assert "- `aoai-deployment-sku-residency`: No built-in definition checks deployment SKUs" in runtime
    assert ("| Activity Log setting · subscription Activity Log | Administrative, Security, Policy, Alert, "
            "ServiceHealth, Recommendation, Autoscale, ResourceHealth → Log Analytics log-aoai-prod-swc |") in runtime
    assert "| Defender plan · `pricingTier` | Standard | AI on the subscription (kept on destroy) |" in runtime
    for policy in ("aoai-guardrail-assignments", "aoai-change-alerts", "aoai-key-expiry-alert",
                   "aoai-defender-for-ai", "aoai-activity-log-routed", "aoai-guardrail-exemptions"):
        assert f"`{policy}`" in runtime


def test_runtime_enforcement_lists_each_exemption_with_its_end(graphs: dict[str, Graph], gate) -> None:
    graph = varied(graphs["prod"])
    group = resource(graph, "aoai-prod-swc-rg").outputs["id"]
    assignment = resource(graph, "aoai-prod-guardrails-swc-kv-rbac")
    exemption = copy.deepcopy(assignment)
    exemption.type, exemption.name = "azure-native:authorization:PolicyExemption", "aoai-prod-guardrails-exemption-x"
    exemption.urn = assignment.urn.replace("PolicyAssignment::aoai-prod-guardrails-swc-kv-rbac",
                                           "PolicyExemption::aoai-prod-guardrails-exemption-x")
    exemption.inputs = {"policyExemptionName": "aoai-prod-x", "scope": group, "policyAssignmentId": assignment.id,
                        "exemptionCategory": "Waiver", "expiresOn": "2027-02-28T00:00:00Z",
                        "description": "CHG-7: legacy vault until the migration, approved by the CISO",
                        "metadata": {"aoaiControl": "vaultRbac"}}
    exemption.property_dependencies = {"scope": [resource(graph, "aoai-prod-swc-rg").urn]}
    graph.resources.append(exemption)
    runtime = section(compliance_report(graph, gate(graph), PACK), "Runtime enforcement")
    assert ("| vaultRbac | Resource group rg-aoai-prod-swc | 2027-02-28 | Waiver | CHG-7: legacy vault until the "
            "migration, approved by the CISO |") in runtime


def test_provenance_names_the_commit_the_tree_and_a_hash_of_every_input(graphs: dict[str, Graph], gate) -> None:
    import hashlib
    import subprocess

    from offline.report import collect
    from tests.offline.helpers import ROOT

    stack_file, config = ROOT / "Pulumi.dev.yaml", ROOT / "policies" / "config" / "dev.json"
    provenance = collect(stack_file, config, PACK)
    text = section(compliance_report(graphs["dev"], gate(graphs["dev"]), PACK, provenance), "Provenance")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert f"| Commit | `{head}` |" in text
    assert "| Working tree | clean" in text or "| Working tree | DIRTY:" in text
    for path in (stack_file, config, ROOT / "Pulumi.yaml", PACK / "aoai_policies" / "common.py"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in text, path
    assert re.search(r"\| Policy pack \| \d+ files, sha256 of their sorted hashes `[0-9a-f]{64}` \|", text)


def test_provenance_sees_an_uncommitted_change_and_a_changed_pack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    from offline.report import collect

    pack = tmp_path / "policies"
    shutil.copytree(PACK, pack, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text("config: {}\n")
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base"]):
        subprocess.run(["git", *command], cwd=tmp_path, check=True)
    clean = collect(stack, None, pack, project_dir=tmp_path)
    assert clean.tree.startswith("clean") and len(clean.commit) == 40
    (pack / "aoai_policies" / "tagging.py").write_text("# changed\n")
    dirty = collect(stack, None, pack, project_dir=tmp_path)
    assert dirty.tree.startswith("DIRTY: 1 uncommitted change(s) (policies/aoai_policies/tagging.py)")
    assert dirty.pack_digest != clean.pack_digest


def test_waived_rules_are_never_shown_as_passing(graphs: dict[str, Graph], gate, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.offline.helpers import ROOT

    config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    config["aoai-account-local-auth-disabled"] = {"exemptResources": ["aoai-dev-swc-openai-account"]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(config))
    report = compliance_report(graphs["dev"], gate(graphs["dev"], config=path), PACK)
    summary = section(report, "Summary")
    assert "| Gate verdict | ⚠️ PASS with waivers: 0 mandatory and 1 advisory violation(s) |" in summary
    assert "| Waived rules | 2 disabled, 1 advisory only, 1 with exemptions (listed below) |" in summary
    protection = next(line for line in summary.splitlines() if line.startswith("| [Deletion protection]"))
    assert "✅" not in protection and "⏸ 2 policies disabled" in protection
    identity = next(line for line in summary.splitlines() if line.startswith("| [Identity and access]"))
    assert "✅" not in identity and "advisory only" in identity and "with exemptions" in identity
    assert "| `aoai-delete-locks` | ⏸ disabled |" in summary
    assert "| `aoai-no-user-principals` | ⚠️ advisory only |" in summary
    assert "| `aoai-account-local-auth-disabled` | ⚠️ exempts resources | aoai-dev-swc-openai-account |" in summary
    row = next(line for line in section(report, "Identity and access").splitlines()
               if line.startswith("| `aoai-account-local-auth-disabled` |"))
    assert "✅" not in row and "⚠️ pass, 1 resource(s) exempted" in row
    locks = next(line for line in section(report, "Deletion protection").splitlines()
                 if line.startswith("| `aoai-delete-locks` |"))
    assert "✅" not in locks and "⏸ disabled" in locks


def test_a_stack_without_waivers_says_so(prod_report: str) -> None:
    assert "None: every policy is mandatory, none is disabled and none exempts a resource." in \
        section(prod_report, "Summary")


def test_alerts_are_shown_as_azure_evaluates_them(prod_report: str) -> None:
    logging = section(prod_report, "Logging and monitoring")
    assert ("| alert-aoai-prod-swc-throttling | Total of AzureOpenAIRequests where StatusCode is 429 > 10 | over "
            "PT5M, every PT1M | 2 | Azure OpenAI account aoai-prod-swc |") in logging
    assert "Total of AzureOpenAIRequests where StatusCode is 500, 502, 503, 504 > 5" in logging
    assert "Average of AzureOpenAIProvisionedManagedUtilizationV2 where ModelDeploymentName is chat > 80" in logging


def test_subnet_and_zone_ids_are_listed_with_their_owner(graphs: dict[str, Graph], gate) -> None:
    from tests.support import scenario_graph, scenario_values

    hub = scenario_values("hub-and-spoke")
    zones, subnet = hub["privateDns"]["existingZoneIds"], hub["regions"][0]["existingSubnetId"]
    graph = scenario_graph("hub-and-spoke")
    network = section(compliance_report(graph, gate(graph, config=None), PACK), "Network isolation")
    assert f"| subnet of pe-aoai-dev-swc | `{subnet}` | existing (hub): not managed here |" in network
    assert f"| private DNS zone | `{zones['vault']}` | existing (hub): not managed here |" in network
    prod = section(compliance_report(graphs["prod"], gate(graphs["prod"]), PACK), "Network isolation")
    assert "privateDnsZones/privatelink.openai.azure.com` | created by this stack |" in prod


def test_cost_and_scope_sections(graphs: dict[str, Graph], prod_result: CheckResult, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from offline.prices import load_prices

    empty = compliance_report(graphs["prod"], prod_result, PACK, prices=load_prices())
    cost = section(empty, "Provisioned capacity and monthly cost")
    assert ("| DataZoneProvisionedManaged | swedencentral | aoai-prod-swc/chat (50) | 50 | no price configured for "
            "DataZoneProvisionedManaged in swedencentral: add it to settings/data/prices.json |") in cost
    assert "No estimate: no PTU price is configured" in cost
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "EUR", "prices": [
        {"sku": "DataZoneProvisionedManaged", "region": "*", "monthlyPerPtu": 2.5,
         "source": "test agreement CHG-1", "read": "2026-11-30"}]}))
    priced = section(compliance_report(graphs["prod"], prod_result, PACK, prices=load_prices(prices, "p.json")),
                     "Provisioned capacity and monthly cost")
    assert "| 50 | 125.00 EUR (2.5 per PTU, test agreement CHG-1, read 2026-11-30) |" in priced
    assert "Estimated total: 250.00 EUR a month." in priced
    scope = section(empty, "Out of scope")
    for title in ("Quota beyond the snapshot", "Inherited roles", "Management-group policy",
                  "Microsoft's own abuse monitoring"):
        assert f"- **{title}**:" in scope
