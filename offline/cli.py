"""`python -m offline preview | check | report`: the resource tree, the policy gate and the compliance report of a
stack, on a machine with neither the Pulumi CLI nor Azure.

Exit codes are the gate's contract with CI: 0 no mandatory violation, 1 at least one, 2 the run could not be judged
(a project or stack file the Pulumi CLI would refuse, a bad stack or policy config, or a policy pack that would not
start), each with a message and no traceback. The CLI's own checks of Pulumi.yaml and the stack file come first
(offline/project_files.py), then the program's settings validation, as under `pulumi preview`.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import RunError

from . import project_files
from .analyzer_host import HostPool, PackStartError, PolicyPackHost, StackContext
from .engine import PROJECT_DIR, Graph, run_program
from .gate import CheckResult, default_policy_config, display_path, policy_schemas, run_check, stack_context
from .loader import LoadError, Problem
from .policy_config import PolicyConfigError, check_file, read_policy_config
from .quota import as_json as quota_json
from .quota import format_report, project_settings, quota_report
from .render import check_lines, document, dumps, tree_lines, unknown_summary

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2
DEFAULT_PACK = PROJECT_DIR / "policies"


class QuotaError(RunError):
    """The stacks together ask for more capacity than the subscription's quota snapshot allows."""


class UsageError(Exception):
    """A command-line value that cannot work (a file that does not exist); reported with exit code 2."""


@dataclass(frozen=True)
class Run:
    """What a gated run produced: the graph and the pack's verdicts (report renders both)."""

    graph: Graph
    result: CheckResult


EXIT_CODES = """exit codes:
  0  done (check: no mandatory violation)
  1  check: at least one mandatory violation (the deployment would be blocked)
  2  the run could not be judged: a stack file or policy config with a problem (each named with file, line and key),
     a missing file, a policy pack that would not start; with --json the problems are written there too
make turns any non-zero exit into its own 2 (GNU make exits 0 or 2); call .venv/bin/python -m offline directly when a
script needs the code itself"""

EXAMPLES = {
    "preview": """examples:
  .venv/bin/python -m offline preview --stack dev
  .venv/bin/python -m offline preview --stack prod --as-first-preview --json build/plan-prod.json""",
    "check": """examples:
  .venv/bin/python -m offline check --stack prod
  .venv/bin/python -m offline check --stack dev --stack-file /tmp/Pulumi.dev.yaml --json build/check-dev.json
  make check STACK=prod""",
    "report": """examples:
  .venv/bin/python -m offline report --stack prod              # writes build/report-prod.md
  make report STACK=prod""",
    "diff": """examples:
  .venv/bin/python -m offline diff                            # every stack, against the merge base with main
  .venv/bin/python -m offline diff --stack prod --base HEAD~1 --json build/diff.json --markdown build/diff.md
  make diff STACK=prod""",
    "quota": """examples:
  .venv/bin/python -m offline quota
  .venv/bin/python -m offline quota --stack prod --json build/quota.json""",
    "catalog refresh": """examples:
  .venv/bin/python -m offline catalog refresh --location swedencentral --subscription-id <id> --subscription prod""",
}


def _epilog(command: str) -> str:
    return f"{EXAMPLES[command]}\n\n{EXIT_CODES}"


def build_parser() -> argparse.ArgumentParser:
    """The commands; `--json` on each, the gate's options on check and report; examples and exit codes in --help."""
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__.split("\n\n")[0],
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{preview,check,report,diff,quota,catalog}")

    def command(name: str, help_: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_, description=help_, epilog=_epilog(epilog),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
        sub.add_argument("--stack-file", type=Path, help="another stack file with the same stack's settings")
        sub.add_argument("--as-first-preview", action="store_true",
                         help="leave computed values (ids, principal ids, URIs) unknown, as a first preview does")

    def gate(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--policy-pack", type=Path, default=DEFAULT_PACK, help="policy pack directory "
                         "(default: policies/)")
        sub.add_argument("--policy-config", type=Path, help="policy pack config "
                         "(default: <pack>/config/<stack>.json when it exists)")

    preview = command("preview", "print the resource tree with each resource's key settings", "preview")
    common(preview)
    preview.add_argument("--json", type=Path, help="also write the machine-readable run to this file")
    preview.set_defaults(handler=preview_command)

    check = command("check", "run the policy pack over the stack; exit 1 on mandatory violations", "check")
    common(check)
    gate(check)
    check.add_argument("--json", type=Path, help="also write resources and violations (or the problems) to this file")
    check.set_defaults(handler=check_command)

    report = command("report", "write the Markdown compliance report for security review", "report")
    common(report)
    gate(report)
    report.add_argument("--out", type=Path, help="report file (default: build/report-<stack>.md)")
    report.add_argument("--json", type=Path, help="also write resources and violations to this file")
    report.set_defaults(handler=report_command)

    diff = command("diff", "what the working tree changes per stack against a git ref: create, update, replace, "
                           "delete, hazards, provisioned capacity and its monthly cost", "diff")
    diff.add_argument("--stack", action="append", help="stack name (repeat for several; default: every stack file "
                                                       "of the working tree or the base)")
    diff.add_argument("--base", help="git ref to compare with (default: the merge base of HEAD with main)")
    diff.add_argument("--json", type=Path, help="also write the diff of every stack to this file")
    diff.add_argument("--markdown", type=Path, help="also write the diff as Markdown (the pull request comment)")
    diff.set_defaults(handler=diff_command)

    quota = command("quota", "add up every stack's deployment capacity per subscription and region and compare it "
                             "with the quota snapshots; exit 2 when over", "quota")
    quota.add_argument("--stack", help="also name this stack in messages (every stack file is read either way)")
    quota.add_argument("--stack-file", type=Path, help="read this file instead of Pulumi.<stack>.yaml")
    quota.add_argument("--json", type=Path, help="also write the quota lines to this file")
    quota.set_defaults(handler=quota_command)

    catalog = commands.add_parser("catalog", help="the model catalogue and quota snapshots under settings/data")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, metavar="{refresh}")
    refresh = catalog_commands.add_parser(
        "refresh", help="ask Azure (Models and Usages APIs) what a region offers and what quota the subscription has "
                        "there, and rewrite the snapshot files (needs Azure credentials: az login)",
        epilog=_epilog("catalog refresh"), formatter_class=argparse.RawDescriptionHelpFormatter)
    refresh.add_argument("--location", required=True, action="append", help="region, e.g. swedencentral (repeat for "
                                                                             "several)")
    refresh.add_argument("--subscription-id", required=True, help="the Azure subscription to ask")
    refresh.add_argument("--subscription", default="default",
                         help="the name the stacks give it (their `subscription` setting; default: 'default')")
    refresh.set_defaults(handler=refresh_command, stack="(catalog)")
    return parser


def main(argv: Sequence[str] | None = None, pool: HostPool | None = None) -> int:
    """Run one command. A `pool` keeps policy packs running between calls (warm runs); without one, the pack
    started for this call is stopped before returning."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, HostPool], int] = args.handler
    own_pool = pool is None
    pool = pool or HostPool()
    try:
        return handler(args, pool)
    except LoadError as error:  # what the Pulumi CLI refuses before the program runs: file, line, key, why
        return _fail(args, f"{error.file} cannot be used: the Pulumi CLI would stop here, before the program runs",
                     error.problems)
    except RunError as error:  # settings.SettingsError among them: the message lists every problem
        problems = _settings_problems(args, error)
        return _fail(args, f"the stack configuration of {args.stack!r} cannot be used", problems)
    except PolicyConfigError as error:
        return _fail(args, "the policy configuration cannot be used", error.problems)
    except (PackStartError, UsageError) as error:
        return _fail(args, "the policy gate cannot run", [Problem("", str(error))])
    except FileNotFoundError as error:
        return _fail(args, "a file is missing", [Problem("", str(error))])
    except Exception:  # a bug in the program or a component: show where, still with the gate's exit code
        return _fail(args, f"the program failed for stack {getattr(args, 'stack', '')!r}",
                     [Problem("", traceback.format_exc())])
    finally:
        if own_pool:
            pool.close()


def _fail(args: argparse.Namespace, what: str, problems: Sequence[Problem]) -> int:
    """Print what went wrong, every problem on a line of its own, and write it to --json when asked."""
    detail = "\n".join(str(p) if p.file else p.message for p in problems)
    print(f"error: {what}:\n{detail.rstrip()}", file=sys.stderr)
    path = getattr(args, "json", None)
    if isinstance(path, Path):
        _write_json(path, {"exitCode": EXIT_UNUSABLE, "error": what, "problems": [
            {"file": p.file or None, "line": p.position.line if p.position else None,
             "column": p.position.column if p.position else None, "key": p.key or None, "message": p.message}
            for p in problems]})
    return EXIT_UNUSABLE


_SETTING = re.compile(r"^(?P<key>[A-Za-z][\w.\[\]-]*): (?P<message>.*)$", re.DOTALL)


def _settings_problems(args: argparse.Namespace, error: RunError) -> list[Problem]:
    """A settings error's problems, each placed at its key in the stack file (file, line, column), so the operator
    is sent to the line to change."""
    raw = getattr(error, "problems", None)
    if not isinstance(raw, list):
        return [Problem("", str(error))]
    path = args.stack_file if getattr(args, "stack_file", None) else _default_stack_file(args.stack)
    display = str(args.stack_file) if getattr(args, "stack_file", None) else path.name
    try:
        project = project_files.load_project(PROJECT_DIR)
        stack_file = project_files.load_stack_file(project, path, display)
    except (LoadError, OSError):
        return [Problem(display, str(p)) for p in raw]
    located = []
    for text in raw:
        match = _SETTING.match(str(text))
        if match is None:
            located.append(Problem(display, str(text)))
            continue
        key = match.group("key")
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", key)]
        full = f"{project.name}:{parts[0]}"
        if full in stack_file.key_paths:
            where = stack_file.document.position(*stack_file.key_paths[full], *parts[1:])
        else:
            where = stack_file.document.position("config")
        located.append(Problem(display, match.group("message"), key, where))
    return located


def _stack_file(args: argparse.Namespace) -> Path | None:
    """The --stack-file, refused early when it does not exist (else the engine reads Pulumi.<stack>.yaml)."""
    if args.stack_file is not None and not args.stack_file.exists():
        raise UsageError(f"--stack-file {args.stack_file}: no stack file there (give the path of a "
                         "Pulumi.<stack>.yaml)")
    return args.stack_file


def program(args: argparse.Namespace) -> Graph:
    """Run the program for the stack (settings errors propagate as RunError)."""
    return run_program(args.stack, stack_file=_stack_file(args), first_preview=args.as_first_preview)


def preview_command(args: argparse.Namespace, pool: HostPool) -> int:
    """Print the resource tree; with --as-first-preview also which inputs stay unknown until apply."""
    graph = program(args)
    lines = [*warning_lines(graph), *tree_lines(graph)]
    if args.as_first_preview:
        unknown = unknown_summary(graph)
        lines += ["", f"Unknown until apply on a first preview ({len(unknown)} resources):", *unknown]
    print("\n".join(lines))
    _write_json(args.json, document(graph))
    return EXIT_OK


def gate_run(args: argparse.Namespace, pool: HostPool) -> Run:
    """Start the pack, run the program while it boots, then analyze: the pack's startup costs nothing extra."""
    pack_dir: Path = args.policy_pack
    if not (pack_dir / "PulumiPolicy.yaml").exists():
        raise PackStartError(f"no policy pack at {pack_dir} (PulumiPolicy.yaml is missing)")
    config_path = args.policy_config
    if config_path is not None and not config_path.exists():
        raise UsageError(f"--policy-config {config_path}: no policy config there (policies/config/<stack>.json by "
                         "default)")
    config_path = config_path or default_policy_config(pack_dir, args.stack)
    if config_path is not None:  # a malformed file fails here, before a second is spent on the program
        read_policy_config(config_path, display_path(config_path))
    resolved = project_files.stack_config(args.stack, _stack_file(args))
    _check_quota(args)
    context = StackContext(project=resolved.project, stack=args.stack, config=dict(resolved.values),
                           secret_keys=resolved.secret_keys)
    host: PolicyPackHost = pool.get(pack_dir, context)
    if config_path is not None and host.info is not None:  # a warm pack: refuse a bad config before the program runs
        check_file(read_policy_config(config_path, display_path(config_path)), policy_schemas(host), host.info.name)
    graph = program(args)
    result = run_check(host, graph, config_path, stack_context(graph, resolved.values, resolved.secret_keys),
                       first_preview=args.as_first_preview,
                       stack_file=str(args.stack_file) if args.stack_file else None)
    return Run(graph, result)


def _check_quota(args: argparse.Namespace) -> None:
    """Azure refuses a deployment over quota only at `pulumi up`; refuse it here, across every stack file (another
    stack's broken file is its own check's business: it is left out, not fatal here)."""
    overrides = {args.stack: args.stack_file} if args.stack_file else {args.stack: _default_stack_file(args.stack)}
    problems = quota_report(project_settings(overrides=overrides, skipped=[])).problems()
    if problems:
        raise QuotaError("\n".join(problems))


def _default_stack_file(stack: str) -> Path:
    return PROJECT_DIR / f"Pulumi.{stack}.yaml"


def check_command(args: argparse.Namespace, pool: HostPool) -> int:
    """Print the verdicts grouped by enforcement level; the exit code is the gate's."""
    run = gate_run(args, pool)
    print("\n".join([*warning_lines(run.graph), *check_lines(run.result)]))
    _write_json(args.json, document(run.graph, run.result))
    return run.result.exit_code


def report_command(args: argparse.Namespace, pool: HostPool) -> int:
    """Write the compliance report. It documents failures too, so a written report exits 0."""
    from .prices import load_prices
    from .report import collect, compliance_report

    run = gate_run(args, pool)
    out: Path = args.out or PROJECT_DIR / "build" / f"report-{args.stack}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    config = args.policy_config or default_policy_config(args.policy_pack, args.stack)
    provenance = collect(args.stack_file or _default_stack_file(args.stack), config, args.policy_pack)
    out.write_text(compliance_report(run.graph, run.result, args.policy_pack, provenance, load_prices()))
    _write_json(args.json, document(run.graph, run.result))
    result = run.result
    print(f"wrote {out}: {len(result.mandatory)} mandatory and {len(result.advisory)} advisory violation(s)")
    return EXIT_OK


def diff_command(args: argparse.Namespace, pool: HostPool) -> int:
    """Print (and write) what the working tree changes per stack against the base ref; exit 0 whatever it finds."""
    from .diff import DiffError, as_json, default_base, diff_stack, lines, markdown, stacks_at
    from .prices import load_prices
    from .render import document as plan_document

    prices = load_prices()
    try:
        base = args.base or default_base(PROJECT_DIR)
        stacks = args.stack or sorted(set(project_files.stack_names(PROJECT_DIR)) | set(stacks_at(base, PROJECT_DIR)))
        diffs = []
        for stack in stacks:
            head_file = _default_stack_file(stack)
            head = plan_document(run_program(stack)) if head_file.exists() else None
            diffs.append(diff_stack(stack, head, base, PROJECT_DIR, prices,
                                    args.base or "the merge base with main"))
    except DiffError as error:
        return _fail(args, "the diff cannot be made", [Problem("", str(error))])
    print("\n\n".join("\n".join(lines(d)) for d in diffs))
    _write_json(args.json, {"base": base, "stacks": [as_json(d) for d in diffs]})
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(diffs))
    return EXIT_OK


def quota_command(args: argparse.Namespace, pool: HostPool) -> int:
    """Print every quota line; exit 2 when a usage is over its limit (Azure would refuse the deployment)."""
    stack_file = _stack_file(args)
    overrides = {args.stack: stack_file} if args.stack and stack_file is not None else {}
    report = quota_report(project_settings(overrides=overrides))
    print("\n".join(format_report(report)) or "no deployments")
    _write_json(args.json, quota_json(report))
    for problem in report.problems():
        print(f"error: {problem}", file=sys.stderr)
    return EXIT_UNUSABLE if report.over else EXIT_OK


def refresh_command(args: argparse.Namespace, pool: HostPool) -> int:
    """Rewrite the catalogue and quota snapshots from Azure for each --location."""
    from .catalog_refresh import RefreshError, make_client, refresh

    try:
        client = make_client(args.subscription_id)
        for location in args.location:
            result = refresh(client, location, args.subscription_id, args.subscription)
            print(f"wrote {display_path(result.models_file)} ({result.models} models) and "
                  f"{display_path(result.quota_file)} ({result.usages} usages)")
    except RefreshError as error:
        return _fail(args, "the catalogue could not be refreshed", [Problem("", str(error))])
    return EXIT_OK


def warning_lines(graph: Graph) -> list[str]:
    """What the program warned about, as the CLI prints it (`warning: ...`), then a blank line."""
    return [*(f"warning: {w}" for w in graph.warnings), *([""] if graph.warnings else [])]


def _write_json(path: Path | None, doc: dict[str, Any]) -> None:
    """Write the --json document when one was asked for."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(doc))
