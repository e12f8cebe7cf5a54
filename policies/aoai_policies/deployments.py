"""Model deployments: approved models and versions, pinned versions, provisioned throughput, content filters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from .catalog import DEFAULT_MODEL_VERSIONS, HARM_CATEGORIES, PROVISIONED_SKUS, SEVERITY_ORDER
from .common import (
    Config,
    Stack,
    Violation,
    child_parent,
    choice,
    flag,
    get,
    integer,
    items,
    list_map,
    names,
    number,
    resource_group_name,
    resource_id,
    resource_policy,
    same,
    show,
    stack_policy,
    string_list,
    subject,
)
from .metadata import AVAILABILITY, CHANGE_CONTROL, CONTENT_SAFETY, PolicyMeta
from .tokens import ACCOUNT, DEPLOYMENT, RAI_POLICY

CONCERN = "deployments"


def _who(args: ResourceValidationArgs) -> str:
    return subject(DEPLOYMENT, args.name)


def _model_allowed(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    model = get(args.props, "properties.model") or {}
    name, version, fmt = get(model, "name"), get(model, "version"), get(model, "format")
    formats = cfg.strings("allowedFormats")
    if fmt not in formats:
        yield f"Set properties.model.format of {_who(args)} to one of {names(formats)} (it is {show(fmt)})."
    approved = cfg.table("allowedModels")
    if not isinstance(name, str) or name not in approved:
        yield (f"Deploy one of the approved models ({names(sorted(approved))}) in {_who(args)} instead of "
               f"{show(name)}, or add it to allowedModels after review.")
    elif version not in (None, "") and str(version) not in approved[str(name)]:
        yield (f"Pin {_who(args)} to an approved version of {name} ({names(approved[str(name)])}) instead of "
               f"{show(version)}, or add the version to allowedModels after evaluation.")


MODEL_ALLOWED = resource_policy(
    PolicyMeta(
        name="aoai-deployment-model-allowed", control="other", concern=CONCERN,
        display_name="Deployment uses an approved model and version", severity=Severity.MEDIUM,
        controls=CHANGE_CONTROL,
        remediation="Deploy a model and version from the approved list (the program's model catalogue); add a new "
                    "model or version to allowedModels in the stack's policy config after its evaluation."),
    "Model deployments must use an approved model at an approved version.",
    [DEPLOYMENT],
    {"allowedModels": list_map("Model name -> approved versions.", DEFAULT_MODEL_VERSIONS),
     "allowedFormats": string_list("Allowed model formats.", ["OpenAI"])},
    _model_allowed)


def _version_pinned(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    version = get(args.props, "properties.model.version")
    if version in (None, ""):
        yield (f"Set properties.model.version on {_who(args)}: an unpinned deployment takes whatever default "
               f"version Azure chooses, so its behaviour can change without a review.")
    upgrade = get(args.props, "properties.versionUpgradeOption")
    if cfg.flag("requireNoAutoUpgrade") and upgrade != "NoAutoUpgrade":
        yield (f"Set properties.versionUpgradeOption to 'NoAutoUpgrade' on {_who(args)} (it is {show(upgrade)}; "
               f"Azure's default upgrades automatically): model upgrades go through review.")


VERSION_PINNED = resource_policy(
    PolicyMeta(
        name="aoai-deployment-version-pinned", control="other", concern=CONCERN,
        display_name="Deployment pins its model version", severity=Severity.MEDIUM, controls=CHANGE_CONTROL,
        remediation="Set properties.model.version and properties.versionUpgradeOption 'NoAutoUpgrade'; upgrade by "
                    "changing the version in a reviewed pull request."),
    "Model deployments must pin their model version and (in production) not upgrade automatically.",
    [DEPLOYMENT],
    {"requireNoAutoUpgrade": flag("Require versionUpgradeOption NoAutoUpgrade.", True)},
    _version_pinned)


def _provisioned(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    model = get(args.props, "properties.model.name")
    sku = get(args.props, "sku.name")
    name = get(args.props, "deploymentName")
    if model in cfg.strings("provisionedModels") and sku not in PROVISIONED_SKUS:
        yield (f"Deploy {model} in {_who(args)} with a provisioned SKU ({names(PROVISIONED_SKUS)}; it is "
               f"{show(sku)}): production traffic for this model needs reserved throughput, not shared quota.")
    elif name in cfg.strings("provisionedDeployments") and sku not in PROVISIONED_SKUS:
        yield (f"Deploy {_who(args)} (deployment {show(name)}) with a provisioned SKU ({names(PROVISIONED_SKUS)}; "
               f"it is {show(sku)}): production traffic through it needs reserved throughput, not shared quota.")
    if sku in PROVISIONED_SKUS:
        capacity = number(get(args.props, "sku.capacity"))
        low, high = cfg.number("minCapacity"), cfg.number("maxCapacity")
        if capacity is None or not low <= capacity <= high:
            yield (f"Set sku.capacity of {_who(args)} between {show(low)} and {show(high)} PTUs (it is "
                   f"{show(capacity)}).")


PROVISIONED_THROUGHPUT = resource_policy(
    PolicyMeta(
        name="aoai-deployment-provisioned-throughput", control="other", concern=CONCERN,
        display_name="Named models run on provisioned throughput within capacity bounds", severity=Severity.MEDIUM,
        controls=AVAILABILITY,
        remediation="Deploy the listed models and deployments with sku.name ProvisionedManaged (or "
                    "DataZoneProvisionedManaged) and a capacity within the configured PTU bounds."),
    "Models listed in provisionedModels and deployments listed in provisionedDeployments must use a provisioned SKU; "
    "provisioned capacity must stay within bounds.",
    [DEPLOYMENT],
    {"provisionedModels": string_list("Models that must run on provisioned throughput (PTU) in every deployment.",
                                      []),
     "provisionedDeployments": string_list("Deployment names (deploymentName) that must run on provisioned "
                                           "throughput; their pay-per-token spillover twins may share the model.",
                                           []),
     "minCapacity": integer("Smallest provisioned capacity in PTUs.", 15, 1),
     "maxCapacity": integer("Largest provisioned capacity in PTUs (a cost guard).", 1000, 1)},
    _provisioned)


def _filter_key(name: object) -> str:
    return str(name or "").replace(" ", "").replace("_", "").replace("-", "").lower()


def _account_of(deployment: PolicyResource, accounts: list[PolicyResource]) -> PolicyResource | None:
    parent = child_parent(resource_id(deployment), "deployments")
    for account in accounts:
        if parent and resource_id(account) == parent:
            return account
    name, group = get(deployment.props, "accountName"), get(deployment.props, "resourceGroupName")
    for account in accounts:
        account_name = get(account.props, "accountName") or get(account.props, "name")
        account_group = get(account.props, "resourceGroupName") or resource_group_name(resource_id(account))
        if same(account_name, name) and same(account_group, group):
            return account
    return None


def _rai_policy(account: PolicyResource, policy_name: str, policies: list[PolicyResource]) -> PolicyResource | None:
    expected = f"{resource_id(account)}/raipolicies/{policy_name.lower()}"
    for policy in policies:
        if resource_id(policy) == expected:
            return policy
    account_name = get(account.props, "accountName") or get(account.props, "name")
    for policy in policies:
        if same(get(policy.props, "raiPolicyName") or get(policy.props, "name"), policy_name) \
                and same(get(policy.props, "accountName"), account_name):
            return policy
    return None


def _check_filters(policy: PolicyResource, cfg: Config) -> Iterator[Violation]:
    who = subject(RAI_POLICY, policy.name)
    filters = items(get(policy.props, "properties.contentFilters"))
    by_key = {(_filter_key(get(f, "name")), _filter_key(get(f, "source"))): f for f in filters}
    weakest = cfg.text("maxSeverityThreshold")
    for category in cfg.strings("categories"):
        for source in ("Prompt", "Completion"):
            found = by_key.get((_filter_key(category), _filter_key(source)))
            where = f"the {category} filter on {source}"
            if found is None:
                yield Violation(f"Add {where} to {who} (enabled, blocking, severityThreshold '{weakest}' or "
                                f"stricter).", policy.urn)
                continue
            if get(found, "enabled") is not True:
                yield Violation(f"Enable {where} in {who}.", policy.urn)
            if cfg.flag("requireBlocking") and get(found, "blocking") is not True:
                yield Violation(f"Set blocking to true for {where} in {who}: annotate-only filters let harmful "
                                f"content through.", policy.urn)
            threshold = get(found, "severityThreshold")
            if threshold not in SEVERITY_ORDER or SEVERITY_ORDER.index(threshold) > SEVERITY_ORDER.index(weakest):
                yield Violation(f"Set severityThreshold of {where} in {who} to '{weakest}' or stricter (it is "
                                f"{show(threshold)}; 'Low' blocks the most).", policy.urn)
    if cfg.flag("requireJailbreak"):
        jailbreak = [f for f in filters if _filter_key(get(f, "name")) == "jailbreak"]
        if not any(get(f, "enabled") is True and get(f, "blocking") is True for f in jailbreak):
            yield Violation(f"Enable and block the Jailbreak (prompt shield) filter on Prompt in {who}.", policy.urn)
    mode = get(policy.props, "properties.mode")
    modes = cfg.strings("allowedModes")
    if mode is not None and mode not in modes:
        yield Violation(f"Set properties.mode of {who} to one of {names(modes)} (it is {show(mode)}): the content "
                        f"must be filtered before it reaches the caller.", policy.urn)


def _content_filter(stack: Stack, cfg: Config) -> Iterator[Violation]:
    accounts = stack.of_type(ACCOUNT)
    policies = stack.of_type(RAI_POLICY)
    checked: set[str] = set()
    for deployment in stack.of_type(DEPLOYMENT):
        who = subject(DEPLOYMENT, deployment.name)
        name = get(deployment.props, "properties.raiPolicyName")
        if name in (None, ""):
            yield Violation(f"Set properties.raiPolicyName on {who} to a content filter defined in this stack: "
                            f"without one the deployment runs with Microsoft's default filter, which this stack "
                            f"does not control.", deployment.urn)
            continue
        account = _account_of(deployment, accounts)
        policy = _rai_policy(account, str(name), policies) if account is not None else None
        if policy is None:
            yield Violation(f"Define the RaiPolicy '{name}' that {who} names on the same account in this stack, so "
                            f"its filters can be reviewed.", deployment.urn)
            continue
        if policy.urn not in checked:
            checked.add(policy.urn)
            yield from _check_filters(policy, cfg)


CONTENT_FILTER = stack_policy(
    PolicyMeta(
        name="aoai-deployment-content-filter", control="content", concern=CONCERN, kind="stack",
        display_name="Deployment has a strong content filter of this stack", severity=Severity.HIGH,
        controls=CONTENT_SAFETY,
        remediation="Define a RaiPolicy on the account with hate, sexual, violence and selfharm filters enabled and "
                    "blocking on Prompt and Completion at 'Medium' or stricter, Jailbreak enabled, and name it in "
                    "each deployment's properties.raiPolicyName (deployments depend on it)."),
    "Every deployment must name a content filter of this stack, on its account, that blocks harmful content at the "
    "configured severity or stricter and blocks jailbreaks.",
    {"maxSeverityThreshold": choice("Weakest severityThreshold accepted (Low is strictest, High weakest).",
                                    list(SEVERITY_ORDER), "Medium"),
     "categories": string_list("Harm categories that must be filtered on Prompt and Completion.", HARM_CATEGORIES),
     "requireBlocking": flag("Require the category filters to block, not only annotate.", True),
     "requireJailbreak": flag("Require the Jailbreak (prompt shield) filter, enabled and blocking.", True),
     "allowedModes": string_list("Allowed properties.mode values (absent means Default).", ["Default", "Blocking"])},
    _content_filter)

def _protected_material(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    if not cfg.flag("requireProtectedMaterial"):
        return
    who = subject(RAI_POLICY, args.name)
    filters = [f for f in items(get(args.props, "properties.contentFilters")) if isinstance(f, Mapping)]
    for name in cfg.strings("filters"):
        found = [f for f in filters if _filter_key(get(f, "name")) == _filter_key(name)
                 and _filter_key(get(f, "source")) == "completion"]
        if not any(get(f, "enabled") is True and get(f, "blocking") is True for f in found):
            state = (f"it is enabled {show(get(found[0], 'enabled'))}, blocking {show(get(found[0], 'blocking'))}"
                     if found else "it is missing")
            yield (f"Enable and block the {show(name)} filter on Completion in {who} ({state}): completions must "
                   f"not reproduce protected text or code verbatim.")


PROTECTED_MATERIAL = resource_policy(
    PolicyMeta(
        name="aoai-protected-material-filter", control="content", concern=CONCERN,
        display_name="Content filters block protected material", severity=Severity.HIGH, controls=CONTENT_SAFETY,
        remediation="Add 'Protected Material Text' and 'Protected Material Code' filters on Completion, enabled and "
                    "blocking, to every RAI policy (the stack's contentFilters.<name>.protectedMaterial: true)."),
    "Every content filter (RAI policy) must enable and block the protected material filters on completions.",
    [RAI_POLICY],
    {"requireProtectedMaterial": flag("Require the protected material filters.", True),
     "filters": string_list("Filter names required on Completion, enabled and blocking.",
                            ["Protected Material Text", "Protected Material Code"])},
    _protected_material)

POLICIES = [MODEL_ALLOWED, VERSION_PINNED, PROVISIONED_THROUGHPUT, CONTENT_FILTER, PROTECTED_MATERIAL]
