"""The compliance report: every control with its settings, policies and verdicts, and a diagram drawn from the graph."""

from __future__ import annotations

import copy
import re

import pytest

from offline.analyzer_host import PolicyInfo
from offline.engine import Graph
from offline.report import CONTROLS, Diagram, audit_policies, compliance_report, load_policy_metadata
from tests.offline.helpers import PACK, remove, resource, set_both, varied


@pytest.fixture(scope="module")
def prod_report(graphs: dict[str, Graph], gate) -> str:
    return compliance_report(graphs["prod"], gate(graphs["prod"]), PACK)


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


def test_framework_references_come_from_the_pack_registry(prod_report: str) -> None:
    registry, control_sets = load_policy_metadata(PACK)
    assert "aoai-account-public-network-disabled" in registry and "NETWORK_ISOLATION" in control_sets.values()
    network = section(prod_report, "Network isolation")
    assert re.search(r"- NIST 800-53: .*SC-7", network)
    assert "Checkov CKV_AZURE_134" in network


def test_each_policy_is_reported_under_the_control_its_metadata_declares() -> None:
    registry, control_sets = load_policy_metadata(PACK)
    infos = [PolicyInfo(name=name, description="", enforcement_level="mandatory", policy_type="resource")
             for name in registry]
    for audit in audit_policies(infos, registry, control_sets):
        assert audit.control.key == registry[audit.info.name].control, audit.info.name


def test_every_policy_is_listed_with_its_verdict_and_its_framework_controls(prod_report: str) -> None:
    registry, control_sets = load_policy_metadata(PACK)
    infos = [PolicyInfo(name=name, description="", enforcement_level="mandatory", policy_type="resource")
             for name in registry]
    for audit in audit_policies(infos, registry, control_sets):
        text = section(prod_report, audit.control.title)
        row = next((line for line in text.splitlines() if line.startswith(f"| `{audit.info.name}` |")), None)
        assert row is not None and "✅ pass" in row, audit.info.name
        for framework, controls in registry[audit.info.name].controls.by_framework().items():
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
