"""The benchmark's report: Markdown tables, the targets of issue 4, the docs page and the chart."""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
from importlib import metadata
from typing import TYPE_CHECKING

import scenario

if TYPE_CHECKING:
    from pathlib import Path

    from run import LatencyResults, Results, Series

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"

#: Rows of the in-process tables: (loader key, state, label), in order.
ROWS: list[tuple[str, str, str]] = [
    ("rtt", "cold", "round trip: 1 GetParameter, client reused"),
    ("floor", "cold", "floor: new session + first client + 1 GetParameter"),
    ("floor2", "cold", "floor, two services: new session + 2 clients + 1 GetParameter"),
    ("floor_core", "cold", "floor without boto3: new botocore session + first client + 1 GetParameter"),
    ("ours", "cold", "**pydantic-aws-settings**, cold"),
    ("ours", "cache", "**pydantic-aws-settings**, cold cache, clients reused"),
    ("ours", "warm", "**pydantic-aws-settings**, warm"),
    ("ours_role", "cold", "**pydantic-aws-settings** with a role, cold"),
    ("pt_batch", "cold", "Powertools by_name (batch), cold"),
    ("pt_batch", "cache", "Powertools by_name (batch), cold cache, clients reused"),
    ("pt_batch", "warm", "Powertools by_name (batch), warm"),
    ("pt_single", "cold", "Powertools get_secret x10, cold"),
    ("pt_single", "cache", "Powertools get_secret x10, cold cache, clients reused"),
    ("pt_single", "warm", "Powertools get_secret x10, warm"),
    ("ps_aws", "cold", "pydantic-settings AWS sources, cold"),
    ("ps_aws", "warm", "pydantic-settings AWS sources, later loads (no cache)"),
    ("plain", "warm", "plain pydantic-settings, values in env"),
]
#: What each row's ratio compares with: ours in this state.
RATIO_BASE = {"cold": "cold", "cache": "cache", "warm": "warm"}
PEERS = ("pt_batch", "pt_single", "ps_aws")
PEER_NAMES = {
    "pt_batch": "Powertools get_parameters_by_name + get_secrets_by_name",
    "pt_single": "Powertools get_parameters_by_name + get_secret x10",
    "ps_aws": "pydantic-settings AWSSystemsManagerSettingsSource + 10 AWSSecretsManagerSettingsSource",
}
PROCESS_LABELS = {
    "bare": "`python -c pass` (the interpreter alone)",
    "plain": "plain pydantic-settings from the environment",
    "floor": "floor: plain pydantic-settings, then import boto3, first client, 1 GetParameter",
    "ours": "**pydantic-aws-settings**, cold",
    "powertools": "Powertools get_parameters_by_name + get_secrets_by_name, cold",
    "agent": "**pydantic-aws-settings** through the Lambda extension (fake, its cache warm)",
    "agent_sm": "**pydantic-aws-settings** through the Secrets Manager Agent (fake, its cache warm)",
}
CHART_LABELS = {
    "floor": "floor: first client\n+ 1 round trip",
    "ours": "pydantic-aws-settings",
    "ours_role": "pydantic-aws-settings\nwith a role",
    "pt_batch": "Powertools\nby_name (batch)",
    "pt_single": "Powertools\nget_secret x10",
    "ps_aws": "pydantic-settings\nAWS sources",
    "plain": "plain pydantic-settings\n(values in env)",
}


def ms(seconds: float) -> str:
    """Seconds as milliseconds with three significant figures or so."""
    value = seconds * 1000
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def verdict(ok: bool | None) -> str:
    """The cell of the targets table that says whether a target is met."""
    if ok is None:
        return "not measured"
    return "met" if ok else "**not met**"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One paragraph on the machine and the versions measured."""
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in (
            "pydantic-aws-settings",
            "pydantic",
            "pydantic-settings",
            "boto3",
            "botocore",
            "aws-lambda-powertools",
            "moto",
        )
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: {os.cpu_count()} cores ({_cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}; load average at the end {load}. Versions: {versions}."
    )


def _latency(results: Results, seconds: float) -> LatencyResults | None:
    return next((r for r in results.latencies if abs(r.latency - seconds) < 1e-9), None)


def _waves(count: int) -> str:
    return "1 wave" if count == 1 else f"{count} waves"


def latency_table(measured: LatencyResults) -> list[str]:
    """The in-process table at one latency."""
    lines = [
        f"#### {measured.latency * 1000:g} ms per request",
        "",
        "| loader | requests per load | peak in flight | waves | median ms | min ms | max ms | x ours |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for key, state, label in ROWS:
        series = measured.get(key, state)
        if series is None:
            continue
        base_state = {"floor": "cold", "floor2": "cold", "floor_core": "cold", "rtt": "cache"}.get(
            key, RATIO_BASE[state]
        )
        base = measured.get("ours", base_state)
        ratio = f"{series.median / base.median:.2f}" if base is not None else ""
        lines.append(
            f"| {label} | {series.requests()} | {series.peak} | {series.waves} | {ms(series.median)} | "
            f"{ms(min(series.times))} | {ms(max(series.times))} | {ratio} |"
        )
    return lines


def _fastest_peer(measured: LatencyResults, state: str) -> tuple[str, Series] | None:
    peers = [(key, s) for key in PEERS if (s := measured.get(key, state)) is not None]
    return min(peers, key=lambda p: p[1].median) if peers else None


def paired(numerator: Series, denominator: Series) -> float:
    """The median, over runs, of the ratio of two loads measured in the same run (one load a run each).

    Loads of one run follow each other within a second, so the ratio cancels most of the drift of a
    shared machine's load that a ratio of medians over the whole run keeps.
    """
    pairs = zip(numerator.times, denominator.times, strict=False)
    return statistics.median(a / b for a, b in pairs)


def targets(results: Results) -> list[str]:
    """The targets of issue 4, measured."""
    rows: list[tuple[str, str, str, bool | None]] = []
    at20 = _latency(results, 0.02)
    at0 = _latency(results, 0.0)

    if at20 is not None and (ours := at20.get("ours", "cold")) is not None:
        fastest = _fastest_peer(at20, "cold")
        if fastest is not None:
            key, peer = fastest
            ratio = paired(peer, ours)
            rows.append(
                (
                    "cold load at 20 ms, against the fastest peer (cold)",
                    f"{ratio:.2f}x faster, run by run ({ms(ours.median)} ms against {ms(peer.median)} ms, "
                    f"{PEER_NAMES[key]})",
                    ">= 4x",
                    ratio >= 4,
                )
            )
        reused = at20.get("ours", "cache")
        fastest_reused = _fastest_peer(at20, "cache")
        if reused is not None and fastest_reused is not None:
            key, peer = fastest_reused
            ratio = paired(peer, reused)
            rows.append(
                (
                    "(for comparison) cold cache, clients reused, at 20 ms, against the fastest peer",
                    f"{ratio:.2f}x faster, run by run ({ms(reused.median)} ms against {ms(peer.median)} ms)",
                    "",
                    None,
                )
            )
        floor = at20.get("floor", "cold")
        if floor is not None:
            ratio = paired(ours, floor)
            rows.append(
                (
                    "cold load at 20 ms, against the floor (first client + 1 round trip)",
                    f"{ratio:.2f}x the floor, run by run ({ms(ours.median)} ms against "
                    f"{ms(floor.median)} ms: {ours.median / floor.median:.2f}x); its requests in "
                    f"{_waves(ours.waves)}, {ours.peak} in flight at once",
                    "<= 1.2x, all batches in one wave",
                    ratio <= 1.2 and ours.waves == 1,
                )
            )
        core = at20.get("floor_core", "cold")
        if core is not None:
            rows.append(
                (
                    "(for comparison) cold load at 20 ms, against the floor without boto3 (botocore alone)",
                    f"{paired(ours, core):.2f}x, run by run "
                    f"({ms(ours.median)} ms against {ms(core.median)} ms)",
                    "",
                    None,
                )
            )
    for measured in results.latencies:
        ours = measured.get("ours", "cold")
        role = measured.get("ours_role", "cold")
        if ours is None:
            continue
        wanted = {"GetParameters": 3.0, "BatchGetSecretValue": 1.0}
        text = f"{ours.requests()} in {_waves(ours.waves)}, {ours.peak} in flight at once"
        ok = ours.per_load() == wanted and max(ours.totals) == 4
        if role is not None:
            text += f"; with a role {role.requests()} in {_waves(role.waves)}"
            ok = ok and role.per_load() == {**wanted, "AssumeRole": 1.0}
        rows.append(
            (
                f"requests of a cold load at {measured.latency * 1000:g} ms",
                text,
                "3 GetParameters + 1 BatchGetSecretValue (+ 1 AssumeRole)",
                ok,
            )
        )
    if at0 is not None:
        ours_warm, plain = at0.get("ours", "warm"), at0.get("plain", "warm")
        if ours_warm is not None and plain is not None:
            ratio = ours_warm.median / plain.median
            rows.append(
                (
                    "warm load at 0 ms against plain pydantic-settings (medians of the table)",
                    f"{ratio:.2f}x ({ms(ours_warm.median)} ms against {ms(plain.median)} ms)",
                    "<= 1.25x",
                    ratio <= 1.25,
                )
            )
    inter = results.interleaved
    rows.append(
        (
            f"warm load against plain pydantic-settings, {inter.loads} alternated loads each: process time",
            f"{inter.cpu_ratio:.2f}x ({ms(inter.cpu_ours / inter.loads)} ms against "
            f"{ms(inter.cpu_plain / inter.loads)} ms a load)",
            "<= 1.25x",
            inter.cpu_ratio <= 1.25,
        )
    )
    rows.append(
        (
            "same loop: median wall time",
            f"{inter.wall_ratio:.2f}x ({ms(statistics.median(inter.wall_ours))} ms against "
            f"{ms(statistics.median(inter.wall_plain))} ms)",
            "<= 1.25x",
            inter.wall_ratio <= 1.25,
        )
    )
    for latency, processes in results.processes.items():
        ours_p, powertools = processes.get("ours"), processes.get("powertools")
        if ours_p is not None and powertools is not None:
            ratio = paired(ours_p, powertools)
            rows.append(
                (
                    f"whole process at {latency * 1000:g} ms, against Powertools",
                    f"{ratio:.2f}x, run by run ({ms(ours_p.median)} ms against {ms(powertools.median)} ms)",
                    "<= 0.6x",
                    ratio <= 0.6,
                )
            )
        floor_p = processes.get("floor")
        if ours_p is not None and floor_p is not None:
            rows.append(
                (
                    f"(for comparison) whole process at {latency * 1000:g} ms, against its floor",
                    f"{paired(ours_p, floor_p):.2f}x, run by run ({ms(ours_p.median)} ms against "
                    f"{ms(floor_p.median)} ms: plain pydantic-settings + boto3 + first client "
                    "+ 1 round trip)",
                    "",
                    None,
                )
            )
    extra = results.imports.get("pydantic_settings>pydantic_aws_settings")
    ours_import = results.imports.get(">pydantic_aws_settings")
    base_import = results.imports.get(">pydantic_settings")
    if extra is not None:
        apart = ""
        if ours_import is not None and base_import is not None:
            apart = (
                f"; in separate processes {ms(ours_import.median)} ms against {ms(base_import.median)} ms "
                f"({(ours_import.median - base_import.median) * 1000:+.1f} ms)"
            )
        rows.append(
            (
                "import pydantic_aws_settings over import pydantic_settings",
                f"+{ms(extra.median)} ms (imported after pydantic_settings, in one process{apart})",
                "<= +15 ms",
                extra.median <= 0.015,
            )
        )
    leaked = results.boto3_imported
    rows.append(
        (
            "boto3 after import pydantic_aws_settings",
            "imported: " + ", ".join(leaked) if leaked else "neither boto3 nor botocore imported",
            "not imported",
            not leaked,
        )
    )
    if results.agents is not None:
        import agent_bench

        rows.extend(agent_bench.target_rows(results.agents, results.processes, results.agent_imported))
    lines = ["| target | measured | goal | |", "|---|---|---|---|"]
    lines.extend(
        f"| {what} | {measured} | {goal} | {verdict(ok) if goal else ''} |"
        for what, measured, goal, ok in rows
    )
    return lines


def process_table(latency: float, processes: dict[str, Series]) -> list[str]:
    """Whole processes at one latency."""
    ours = processes.get("ours")
    lines = [
        f"#### Whole process at {latency * 1000:g} ms per request: interpreter start to settings loaded",
        "",
        "| process | requests | median ms | min ms | max ms | x ours |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for key, label in PROCESS_LABELS.items():
        series = processes.get(key)
        if series is None:
            continue
        ratio = f"{series.median / ours.median:.2f}" if ours is not None else ""
        lines.append(
            f"| {label} | {series.requests()} | {ms(series.median)} | {ms(min(series.times))} | "
            f"{ms(max(series.times))} | {ratio} |"
        )
    return lines


def import_table(results: Results) -> list[str]:
    """Cumulative import times, and where ours spends its own."""
    lines = [
        "#### Import cost: `python -X importtime -c 'import MODULE'`, the module's cumulative time",
        "",
        "| module | imported after | median ms | min ms | max ms |",
        "|---|---|--:|--:|--:|",
    ]
    for cost in results.imports.values():
        after = f"`{cost.after}`" if cost.after else "(nothing)"
        lines.append(
            f"| `{cost.module}` | {after} | {ms(cost.median)} | {ms(min(cost.times))} "
            f"| {ms(max(cost.times))} |"
        )
    extra = results.imports.get("pydantic_settings>pydantic_aws_settings")
    if extra is not None:
        own = sorted(((statistics.median(times), name) for name, times in extra.own.items()), reverse=True)
        parts = ", ".join(f"`{name}` {ms(seconds)}" for seconds, name in own[:8])
        lines.extend(["", f"Self time of our modules (median ms, after pydantic_settings): {parts}."])
    return lines


def render(results: Results) -> str:
    """The whole Markdown report."""
    args = results.args
    lines = [
        machine(),
        "",
        f"Configuration: {scenario.PARAMETERS} SSM parameters ({scenario.SECURE} SecureString), "
        f"{scenario.SECRETS} Secrets Manager secrets ({scenario.JSON_SECRETS} JSON, one key read); "
        f"{args.runs} runs of every cold state, {args.runs} x {args.warm_loads} warm loads, the loaders "
        f"interleaved run by run; whole processes {args.process_runs} runs each; imports "
        f"{args.import_runs} runs each. The run took {results.seconds:.0f} s.",
        "",
        "### Targets",
        "",
        *targets(results),
        "",
        "### Loads in one process",
        "",
        "*x ours* divides the row's median by pydantic-aws-settings' median in the same state "
        "(the floors by its cold load, the round trip by its load with clients reused, plain "
        "pydantic-settings by its warm load). *Run by run* in the targets is the median of the ratios "
        "of the two loads of each run, which were measured within a second of each other.",
        "",
    ]
    for measured in results.latencies:
        lines.extend([*latency_table(measured), ""])
    inter = results.interleaved
    lines.extend(
        [
            f"Warm loads alternated with plain pydantic-settings in one loop ({inter.loads} each, 0 ms): "
            f"process time {ms(inter.cpu_ours / inter.loads)} ms against "
            f"{ms(inter.cpu_plain / inter.loads)} ms a load ({inter.cpu_ratio:.2f}x); median wall time "
            f"{ms(statistics.median(inter.wall_ours))} ms against "
            f"{ms(statistics.median(inter.wall_plain))} ms ({inter.wall_ratio:.2f}x).",
            "",
            "### Whole processes and imports",
            "",
        ]
    )
    for latency, processes in results.processes.items():
        lines.extend([*process_table(latency, processes), ""])
    lines.extend([*import_table(results), ""])
    if results.agents is not None:
        import agent_bench

        section = agent_bench.section(
            results.agents, results.processes, results.agent_imported, with_targets=False
        )
        lines.extend([*section, ""])
    return "\n".join(lines).rstrip() + "\n"


def write_page(page: Path, markdown: str) -> None:
    """Replace what is between the bench markers of the docs page with the report."""
    text = page.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{page} has no {START} ... {END} markers")
    page.write_text(pattern.sub(lambda _: f"{START}\n\n{markdown}\n{END}", text, count=1))


def chart(results: Results, path: Path) -> None:
    """Two bar charts: cold loads at 20 ms and warm loads at 0 ms, with the requests of each loader."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    at20 = _latency(results, 0.02) or results.latencies[-1]
    at0 = _latency(results, 0.0) or results.latencies[0]
    cold_keys = ["ours", "ours_role", "pt_batch", "pt_single", "ps_aws", "floor"]
    warm_keys = ["ours", "pt_batch", "pt_single", "ps_aws", "plain"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    panels = (
        (left, at20, cold_keys, "cold", f"Cold load at {at20.latency * 1000:g} ms per request", False),
        (right, at0, warm_keys, "warm", f"Warm load at {at0.latency * 1000:g} ms per request", True),
    )
    for axes, measured, keys, state, title, log in panels:
        present = [(k, s) for k in keys if (s := measured.get(k, state)) is not None]
        labels = [CHART_LABELS[k] for k, _ in present]
        medians = [s.median * 1000 for _, s in present]
        colors = [
            "#1f77b4" if k.startswith("ours") else "#bbbbbb" if k in ("floor", "plain") else "#ff7f0e"
            for k, _ in present
        ]
        bars = axes.barh(labels, medians, color=colors)
        axes.invert_yaxis()
        axes.set_title(title)
        axes.set_xlabel("median wall time, ms" + (" (log scale)" if log else ""))
        if log:
            axes.set_xscale("log")
        for bar, (key, series) in zip(bars, present, strict=True):
            requests = sum(series.per_load().values())
            note = f" {ms(series.median)} ms" + (
                f", {requests:g} requests" if key != "floor" else ", 1 request"
            )
            axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=8)
        if log:  # bars start at the left edge: put it below the smallest
            axes.set_xlim(min(medians) / 4, max(medians) * 40)
        else:
            axes.margins(x=0.45)
    figure.suptitle(
        f"{scenario.PARAMETERS} SSM parameters + {scenario.SECRETS} secrets on a loopback endpoint"
        " (lower is better)"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)
