"""What each policy means to an auditor: severity, framework controls, remediation, equivalent outside rules.

`POLICY_METADATA` is the registry the README table and a compliance report read; policies register themselves in it
when their module is imported. Control mappings are engineering judgement, not an auditor's attestation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulumi_policy import Severity

# Frameworks in the order the README and reports show them.
FRAMEWORKS = ("SOC 2", "ISO 27001", "HIPAA", "NIST 800-53", "PCI DSS", "MCSB")


@dataclass(frozen=True)
class Controls:
    """Controls of each framework a policy helps meet (SOC 2 TSC 2017, ISO/IEC 27001:2022 Annex A, HIPAA Security
    Rule, NIST SP 800-53 Rev. 5 / FedRAMP, PCI DSS v4.0, Microsoft cloud security benchmark v1)."""

    soc2: tuple[str, ...] = ()
    iso27001: tuple[str, ...] = ()
    hipaa: tuple[str, ...] = ()
    nist: tuple[str, ...] = ()
    pci: tuple[str, ...] = ()
    mcsb: tuple[str, ...] = ()

    def by_framework(self) -> dict[str, tuple[str, ...]]:
        """Framework name -> controls, in FRAMEWORKS order, frameworks without a control left out."""
        pairs = zip(FRAMEWORKS, (self.soc2, self.iso27001, self.hipaa, self.nist, self.pci, self.mcsb), strict=True)
        return {name: controls for name, controls in pairs if controls}

    def summary(self) -> str:
        """One line naming every framework's controls, e.g. 'SOC 2: CC6.6; NIST 800-53: SC-7'."""
        return "; ".join(f"{name}: {', '.join(c)}" for name, c in self.by_framework().items())


@dataclass(frozen=True)
class PolicyMeta:
    """A policy's audit metadata: the registry row behind the README table and the compliance report."""

    name: str
    # The review control it serves: network, encryption, identity, logging, residency, protection, content, runtime,
    # other.
    control: str
    concern: str
    display_name: str
    severity: Severity
    controls: Controls
    remediation: str
    checkov: tuple[str, ...] = ()
    azure_policy: tuple[str, ...] = ()
    psrule: tuple[str, ...] = ()
    kind: str = "resource"
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ours_only(self) -> bool:
        """True when no outside rule set (Checkov, Azure Policy, PSRule) checks the same thing."""
        return not (self.checkov or self.azure_policy or self.psrule)


POLICY_METADATA: dict[str, PolicyMeta] = {}
"""Policy name -> metadata, filled as the policy modules are imported."""

# Control sets shared by several policies.
NETWORK_ISOLATION = Controls(
    soc2=("CC6.1", "CC6.6"), iso27001=("A.8.20", "A.8.22"), hipaa=("164.312(e)(1)",),
    nist=("SC-7", "AC-4"), pci=("1.3.1", "1.4.1"), mcsb=("NS-2",))
DATA_EXFILTRATION = Controls(
    soc2=("CC6.6", "CC6.7"), iso27001=("A.8.20", "A.8.12"), hipaa=("164.312(e)(1)",),
    nist=("SC-7(5)", "AC-4"), pci=("1.4.2",), mcsb=("NS-2", "DP-2"))
AUTHENTICATION = Controls(
    soc2=("CC6.1",), iso27001=("A.5.17", "A.8.5"), hipaa=("164.312(d)",),
    nist=("IA-2", "IA-5"), pci=("8.3.1", "8.6.1"), mcsb=("IM-1", "IM-3"))
ENCRYPTION_AT_REST = Controls(
    soc2=("CC6.1", "CC6.7"), iso27001=("A.8.24",), hipaa=("164.312(a)(2)(iv)",),
    nist=("SC-12", "SC-28", "SC-28(1)"), pci=("3.5.1", "3.6.1"), mcsb=("DP-5",))
KEY_MANAGEMENT = Controls(
    soc2=("CC6.1",), iso27001=("A.8.24",), hipaa=("164.312(a)(2)(iv)",),
    nist=("SC-12", "SC-13"), pci=("3.6.1", "3.7.1", "3.7.4"), mcsb=("DP-6",))
KEY_STORE = Controls(
    soc2=("CC6.1", "A1.2"), iso27001=("A.8.24", "A.8.13"), hipaa=("164.308(a)(7)(ii)(A)", "164.312(a)(1)"),
    nist=("SC-12", "SC-12(1)", "AC-3"), pci=("3.6.1.2", "3.7.2"), mcsb=("DP-8",))
LEAST_PRIVILEGE = Controls(
    soc2=("CC6.3",), iso27001=("A.5.15", "A.8.2"), hipaa=("164.308(a)(4)(ii)(B)", "164.308(a)(4)(ii)(C)"),
    nist=("AC-6", "AC-6(5)"), pci=("7.2.1", "7.2.2"), mcsb=("PA-1", "PA-7"))
DATA_RESIDENCY = Controls(
    soc2=("C1.1",), iso27001=("A.5.31", "A.5.34"), nist=("SA-9(5)",))
CHANGE_CONTROL = Controls(
    soc2=("CC8.1",), iso27001=("A.8.9", "A.8.32"), nist=("CM-2", "CM-3", "CM-7(5)"),
    pci=("6.5.1",), mcsb=("AM-2", "PV-1"))
AUDIT_LOGGING = Controls(
    soc2=("CC7.2",), iso27001=("A.8.15", "A.8.16"), hipaa=("164.312(b)",),
    nist=("AU-2", "AU-3", "AU-6", "AU-12"), pci=("10.2.1", "10.2.2"), mcsb=("LT-3", "LT-5"))
DELETION_PROTECTION = Controls(
    soc2=("A1.2", "CC6.1"), iso27001=("A.5.33", "A.8.13"), hipaa=("164.312(c)(1)",),
    nist=("CM-5", "AU-9", "CP-9"), pci=("10.3.2",), mcsb=("BR-2",))
CONTENT_SAFETY = Controls(nist=("SI-10", "SI-15"))
AVAILABILITY = Controls(soc2=("A1.1",), iso27001=("A.8.6",), nist=("CP-2(2)", "SC-5"))
ACCESS_GOVERNANCE = Controls(
    soc2=("CC6.2", "CC6.3"), iso27001=("A.5.16", "A.5.18"), hipaa=("164.308(a)(4)(ii)(C)",),
    nist=("AC-2", "AC-2(1)"), pci=("7.2.4",), mcsb=("PA-7", "IM-1"))
LOG_RETENTION = Controls(
    soc2=("CC7.2",), iso27001=("A.8.15",), hipaa=("164.312(b)", "164.316(b)(2)(i)"), nist=("AU-11",),
    pci=("10.5.1",), mcsb=("LT-6",))
ALERTING = Controls(
    soc2=("A1.1", "CC7.2"), iso27001=("A.8.6", "A.8.16"), nist=("SI-4", "CP-2(2)"), mcsb=("LT-1",))
SEPARATION_OF_DUTIES = Controls(
    soc2=("CC6.3",), iso27001=("A.5.3",), hipaa=("164.308(a)(4)(ii)(B)",), nist=("AC-5", "AC-6"),
    pci=("7.2.2",), mcsb=("PA-1",))
ASSET_INVENTORY = Controls(
    soc2=("CC6.1",), iso27001=("A.5.9", "A.5.12", "A.5.13"), nist=("CM-8", "RA-2"),
    pci=("12.5.1",), mcsb=("AM-1",))
# Runtime guardrails: configuration enforced in Azure after deployment, changes detected and threats watched.
RUNTIME_ENFORCEMENT = Controls(
    soc2=("CC6.8", "CC8.1"), iso27001=("A.8.9", "A.5.36"), hipaa=("164.308(a)(1)(ii)(D)",),
    nist=("CM-2", "CM-6", "CM-7"), pci=("2.2.1", "6.5.1"), mcsb=("PV-2", "AM-2"))
CHANGE_MONITORING = Controls(
    soc2=("CC7.2", "CC8.1"), iso27001=("A.8.15", "A.8.16", "A.8.32"), hipaa=("164.312(b)",),
    nist=("AU-6", "AU-12", "CM-3", "SI-4"), pci=("10.2.1.2", "10.4.1", "10.7.2"), mcsb=("LT-3", "LT-4", "PA-1"))
THREAT_DETECTION = Controls(
    soc2=("CC7.2", "CC7.3"), iso27001=("A.8.16", "A.5.7"), hipaa=("164.308(a)(1)(ii)(D)",),
    nist=("SI-4", "IR-4"), pci=("11.5.1",), mcsb=("LT-1",))


def register(meta: PolicyMeta) -> PolicyMeta:
    """Add a policy's metadata to the registry (idempotent, so re-importing a module is harmless)."""
    POLICY_METADATA[meta.name] = meta
    return meta
