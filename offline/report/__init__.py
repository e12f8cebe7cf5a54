"""The compliance report for security review, in four parts: which control each policy serves (audit, from what the
pack announces over the Analyzer protocol), what the graph shows for each control (evidence), the architecture
diagram, and the Markdown document (rendering), with the provenance a reviewer signs against."""

from .audit import CONTROLS, OTHER, Control, PolicyAudit, audit, audit_policies
from .diagram import Diagram
from .provenance import Provenance, collect
from .rendering import OUT_OF_SCOPE, compliance_report

__all__ = ["CONTROLS", "OTHER", "OUT_OF_SCOPE", "Control", "Diagram", "PolicyAudit", "Provenance", "audit",
           "audit_policies", "collect", "compliance_report"]
