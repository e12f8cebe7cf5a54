"""Which review control each policy serves, and what it maps to, from what the pack announces over the protocol.

The CLI learns a policy's name, description, severity, framework, tags and remediation from GetAnalyzerInfo, and so
does this report: nothing is imported from the pack. Our pack announces in its tags the review control
(`control:<key>`), every framework reference (`<framework>:<control>`, e.g. `NIST 800-53:SC-7`) and the outside rules
that check the same thing (`checkov:`, `azure-policy:`, `psrule:`); another pack's policies fall back to its
framework field and to words in their name and tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..analyzer_host import PolicyInfo

# The frameworks our pack names in its tags, in the order the report shows them (policies/aoai_policies/metadata.py).
FRAMEWORKS = ("SOC 2", "ISO 27001", "HIPAA", "NIST 800-53", "PCI DSS", "MCSB")
EQUIVALENTS = {"checkov": "Checkov", "azure-policy": "Azure Policy", "psrule": "PSRule"}


@dataclass(frozen=True)
class Control:
    """A control the security review asks about; policies are matched to it by their audit metadata."""

    key: str
    title: str
    objective: str
    control_sets: tuple[str, ...]  # names of the pack's shared control sets that belong here (for reference)
    keywords: tuple[str, ...]  # fallback for a pack that announces no `control:` tag: words in a name or concern


CONTROLS = (
    Control("network", "Network isolation",
            "The account and the key vault accept traffic only through private endpoints in the environment's VNet; "
            "public network access is off, network rules deny by default, and the account's outbound calls are "
            "restricted to an allow-list.",
            ("NETWORK_ISOLATION", "DATA_EXFILTRATION"),
            ("network", "private", "public", "dns", "endpoint", "outbound", "egress", "firewall", "subnet")),
    Control("encryption", "Encryption at rest with a customer-managed key",
            "Prompts, completions and fine-tuning data at rest are encrypted with an RSA key the organisation holds "
            "in its own Key Vault (HSM-backed in production), read by a dedicated identity with one narrow role.",
            ("ENCRYPTION_AT_REST", "KEY_MANAGEMENT", "KEY_STORE"),
            ("cmk", "key", "encryption", "vault", "crypto")),
    Control("identity", "Identity and access",
            "Only Entra ID principals reach the models (API keys are disabled); roles are least-privilege, granted "
            "to groups and workload identities, and never privileged at the account's scope.",
            ("AUTHENTICATION", "LEAST_PRIVILEGE"),
            ("role", "identity", "auth", "rbac", "access", "principal")),
    Control("logging", "Logging and monitoring",
            "Audit and request logs of the account and the vault go to a Log Analytics workspace in the same region, "
            "kept for the retention period; metric alerts notify the on-call team.",
            ("AUDIT_LOGGING",),
            ("diagnostic", "log", "alert", "monitor", "workspace", "retention")),
    Control("residency", "Data residency",
            "Every resource lives in an allowed region and every model deployment keeps processing in its region or "
            "data zone (no Global SKUs), so prompts and completions stay where the data may be.",
            ("DATA_RESIDENCY",),
            ("residency", "region", "location", "zone", "global")),
    Control("protection", "Deletion protection",
            "What holds data or keys cannot be deleted by accident: Pulumi `protect`, CanNotDelete locks, and soft "
            "delete with purge protection on the vault.",
            ("DELETION_PROTECTION",),
            ("protect", "lock", "purge", "soft-delete", "deletion", "delete")),
    Control("content", "Content safety",
            "Every model deployment names a content filter (RAI policy) that blocks hate, sexual, violence and "
            "self-harm content at the required severity, and jailbreak attempts.",
            ("CONTENT_SAFETY", "RESPONSIBLE_AI", "AI_SAFETY"),
            ("content", "filter", "rai", "jailbreak", "safety", "harm")),
    Control("runtime", "Runtime enforcement",
            "After deployment the controls keep holding: built-in Azure Policy assignments deny (or audit, where the "
            "definition offers no deny) what the pack forbids, exemptions are reasoned and expire, the "
            "subscription's Activity Log lands in the workspace, and changes to roles, locks, the account, the vault, "
            "the key and the policy assignments page the on-call; Defender for AI watches the accounts.",
            ("RUNTIME_ENFORCEMENT", "CHANGE_MONITORING", "THREAT_DETECTION"),
            ("guardrail", "exemption", "activity-log", "defender")),
)
OTHER = Control("other", "Other governance controls",
                "Policies that keep the environment reviewable and changes deliberate: model and version allow-lists, "
                "upgrade pinning, naming and tagging.", (), ())


@dataclass(frozen=True)
class PolicyAudit:
    """What the report says about a policy: the pack's own description plus its audit metadata."""

    info: PolicyInfo
    control: Control
    frameworks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    equivalents: tuple[str, ...] = ()
    remediation: str = ""




def audit_policies(policies: Iterable[PolicyInfo]) -> list[PolicyAudit]:
    """Each announced policy with its control, framework references, outside equivalents and remediation."""
    return [audit(info) for info in policies]


def audit(info: PolicyInfo) -> PolicyAudit:
    """One policy's audit row, from its GetAnalyzerInfo fields."""
    frameworks: dict[str, list[str]] = {}
    equivalents: list[str] = []
    declared = ""
    for tag in info.tags:
        prefix, sep, value = tag.partition(":")
        if not sep:
            continue
        if prefix == "control":
            declared = value
        elif prefix in EQUIVALENTS:
            equivalents.append(f"{EQUIVALENTS[prefix]} {value}")
        elif prefix in FRAMEWORKS:
            frameworks.setdefault(prefix, []).append(value)
    if not frameworks and info.framework:
        name = " ".join(filter(None, (info.framework.get("name"), info.framework.get("version"))))
        frameworks = {name or "framework": [r.strip() for r in info.framework.get("reference", "").split(",")
                                            if r.strip() and r.strip() != "-"]}
    ordered = {fw: tuple(frameworks[fw]) for fw in (*FRAMEWORKS, *frameworks) if fw in frameworks}
    return PolicyAudit(info, control_of(info, declared), ordered, tuple(equivalents), info.remediation_steps)


def control_of(info: PolicyInfo, declared: str) -> Control:
    """The declared control, else the first whose keywords appear in the policy's name or tags, else OTHER."""
    by_key = {c.key: c for c in (*CONTROLS, OTHER)}
    if declared in by_key:
        return by_key[declared]
    words = " ".join([info.name, *info.tags]).lower()
    for control in CONTROLS:
        if any(k in words for k in control.keywords):
            return control
    return OTHER


def frameworks_of(audits: Iterable[PolicyAudit]) -> dict[str, list[str]]:
    """Framework -> every control the given policies map to, frameworks in the report's order."""
    refs: dict[str, set[str]] = {}
    for a in audits:
        for framework, controls in a.frameworks.items():
            refs.setdefault(framework, set()).update(controls)
    return {name: sorted(refs[name]) for name in refs if refs[name]}


def by_control(audits: Iterable[PolicyAudit]) -> Mapping[str, list[PolicyAudit]]:
    """Audits per control key, each list by policy name."""
    result: dict[str, list[PolicyAudit]] = {}
    for a in sorted(audits, key=lambda a: a.info.name):
        result.setdefault(a.control.key, []).append(a)
    return result


__all__ = ["CONTROLS", "OTHER", "Control", "PolicyAudit", "audit", "audit_policies", "by_control", "control_of",
           "field", "frameworks_of"]
