# ruff: noqa: E501 - the lines are the Markdown page's prose, one source line each
"""The fleet benchmark's page (docs/explanation/fleet.md) and chart (fleet.png), from its results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fleet_model as model
from pydantic_aws_settings import _backoff

if TYPE_CHECKING:
    from pathlib import Path

NAMES = {
    "simultaneous": "all start at once (within 1 s)",
    "forked": "pre-forked: 1 loading parent, 16 workers a node",
    "rolling": "rolling start over 300 s",
    "agent-ideal": "one fetcher per node of 16 (the node's cache as the library's plan)",
    "agent": "Secrets Manager Agent per node of 16 (secrets only)",
    "simultaneous+what-if": "all at once, with the proposed changes",
    "forked+what-if": "pre-forked, with the proposed changes",
}


def _mark(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _scaled_table(scaled: dict[str, Any]) -> list[str]:
    real, sim = scaled["real"], scaled["model"]
    rows = [
        ("instances (fresh interpreters)", real["instances"], sim["instances"]),
        ("time until the whole fleet is up (from the launch)", f"{real['up']:.1f} s", f"{sim['up']:.1f} s"),
        (
            f"... from the first request; quota-bound minimum {scaled['minimum']:.0f} s",
            f"{real['up'] - scaled['spread'][0]:.1f} s",
            f"{sim['up'] - scaled['spread'][0]:.1f} s",
        ),
        ("failed starts", real["failed"], sim["failed"]),
        ("SSM requests (GetParameters)", real["ssm_requests"], sim["ssm_requests"]),
        ("all requests", real["requests"], sim["requests"]),
        ("throttled answers", real["throttles"], sim["throttles"]),
        ("busiest second (all requests)", real["busiest"], sim["busiest"]),
    ]
    for op in ("BatchGetSecretValue", "GetSecretValue"):
        rows.append((op, real["by_op"].get(op, 0), sim["by_op"].get(op, 0)))
    lines = ["| | real run | model |", "|---|---:|---:|"]
    lines += [f"| {name} | {a} | {b} |" for name, a, b in rows]
    return lines


def _tables(results: dict[str, Any]) -> list[str]:
    cold = [
        "| fleet | up after | failed starts | requests | throttled | busiest second | KMS Decrypt/s peak |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    steady = [
        "| fleet | SSM mean/s | share of quota | busiest SSM second | busiest / mean (1 s) | (10 s) "
        "| throttled | AWS requests | KMS Decrypt/s mean, peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in NAMES.items():
        c, s = results[key]["cold"], results[key]["steady"]
        cold.append(
            f"| {name} | {c['up']:.1f} s | {c['failed']} | {c['requests']:,} | {c['throttles']:,} "
            f"| {c['busiest']:,} | {c['kms_peak']:,} |"
        )
        steady.append(
            f"| {name} | {s['mean']:.1f} | {s['share']:.0%} | {s['busiest']:,} | {s['ratio']:.1f}x "
            f"| {s['ratio10']:.1f}x | {s['throttles']:,} | {s['aws_requests']:,} "
            f"| {s['kms_mean']:.0f}, {s['kms_peak']:,} |"
        )
    return ["### Cold start", "", *cold, "", "### The hour after it (TTL 300 s)", "", *steady]


def page(results: dict[str, Any]) -> str:
    """The whole Markdown page."""
    n = results["instances"]
    sim, forked, rolling = results["simultaneous"], results["forked"], results["rolling"]
    ideal, agent = results["agent-ideal"], results["agent"]
    fixed, fixed_forked = results["simultaneous+what-if"], results["forked+what-if"]
    minimum = 3 * n / model.QUOTAS["ssm"]
    up, failed = sim["cold"]["up"], sim["cold"]["failed"]
    worst_share = max(r["steady"]["share"] for r in (sim, forked))
    worst_ratio = max(r["steady"]["ratio"] for r in (sim, forked))
    fewer = sim["steady"]["aws_requests"] / max(1, agent["steady"]["aws_requests"])
    fewer_ideal = sim["steady"]["aws_requests"] / max(1, ideal["steady"]["aws_requests"])
    fewer_ssm = sim["steady"]["ssm_requests"] / max(1, agent["steady"]["ssm_requests"])
    scaled = results.get("scaled")
    lines = [
        "# Running a fleet",
        "",
        f"Every instance of a service shares its account's quotas. This page models {n:,} instances of one",
        "configuration (30 parameters of which 5 SecureString, 10 secrets) against them: SSM's 40 requests a",
        "second shared by GetParameter, GetParameters and GetParametersByPath, BatchGetSecretValue's 100,",
        "GetSecretValue's 10,000, and the KMS Decrypt behind every SecureString and secret (10,000 a second by",
        "default). Each load of the configuration is 3 GetParameters (10 names each) and 1 BatchGetSecretValue.",
        "",
        "The numbers come from `make bench-fleet` (`benchmarks/fleet.py`; `--instances`, `--real`, `--scale`,",
        "`--seed`), which writes this page and its chart. The model is a discrete-event simulation that imports",
        "what it models from the library and botocore rather than restating it: the request plan, the cache's",
        "throttled-retry backoff and timeout, the TTL jitter, the refresh-ahead window, botocore's standard retry",
        "mode. A scaled real run checks it first.",
        "",
        "## Goals",
        "",
        "| goal | result | |",
        "|---|---|---|",
        f"| {n:,} instances cold-starting at once: 0 failed starts | {failed} failed | {_mark(failed == 0)} |",
        f"| ... whole fleet up within 1.1x of the quota-bound minimum ({minimum:.0f} s) | {up:.1f} s, "
        f"{up / minimum:.2f}x | {_mark(up <= 1.1 * minimum)} |",
        f"| steady state at TTL 300 s: mean under 40% of the SSM quota (after a simultaneous start; "
        f"pre-forked) | {sim['steady']['share']:.0%}; {forked['steady']['share']:.0%} "
        f"| {_mark(worst_share < 0.4)} |",
        f"| ... busiest second under 1.5x the mean (same two fleets) | {sim['steady']['ratio']:.1f}x; "
        f"{forked['steady']['ratio']:.1f}x | {_mark(worst_ratio < 1.5)} |",
        f"| one agent per node of 16: AWS requests 16x fewer | Secrets Manager Agent: {fewer:.1f}x "
        f"(SSM {fewer_ssm:.1f}x); one fetcher per node: {fewer_ideal:.1f}x | {_mark(fewer >= 16)} |",
        "",
        "## Why the goals are missed, and what would meet them",
        "",
        f"- **A fleet starting at once is up in {up / minimum:.2f}x the quota-bound minimum.** A load with",
        "  nothing to fall back on retries what was throttled in rounds (`_backoff.throttled_rounds`): before",
        "  each, a full-jitter wait (`rand(0, 1)` of a base doubling from where botocore's own attempts left",
        f"  off, at most {_backoff.THROTTLE_CAP:.0f} s), so the fleet's retries spread over the whole window",
        "  instead of arriving in waves, and no instance sleeps long while the quota goes unused; in a round,",
        "  one request at a time of one botocore attempt, stopping at the first that is throttled again, so a",
        "  round that finds the quota spent costs one request. (Before: waits jittered between half and all",
        "  of a base capped at 60 s, and each retry the whole wave of botocore's 3 attempts a batch: waves",
        "  about 1, 3, 6, 12, 24 and 48 s after the start, the quota idle between them, up after 115.9 s,",
        "  1.54x.) No start fails: the 120 s throttle timeout outlasts it.",
        "- **Refreshes stay in step.** Each entry's life is jittered within the last 10% of the TTL, but a",
        "  `LiveSettings` reload happens when the *first* entry expires and refreshes every entry within the",
        "  refresh-ahead window (a tenth of the TTL, 30 s: as wide as the jitter), so every key of an instance",
        "  is refetched together, about 270.7 s after the last time, give or take 0.7 s: the minimum of 40",
        "  draws. A fleet's phases hardly drift, so the shape of its start persists: after a simultaneous start",
        f"  the refreshes of the whole fleet arrive in the same {up:.0f} s of every 271 s, faster than the quota, and",
        "  are throttled again; pre-forked workers inherit their parent's entries at fork, expiry times included,",
        "  so all workers of all nodes refresh within the same few seconds, every cycle. The expired entry is",
        "  also fetched on its own (the load waits for it) while the rest are refreshed ahead in another fetch:",
        "  4 GetParameters and 1 BatchGetSecretValue a cycle, or 3 and 2, where 3 and 1 would do (3.75",
        "  GetParameters on average: 25% more SSM requests).",
        f"  What would fix it: one jitter draw per load, over a wider range (here (1 - "
        f"{results['what_if']['load_jitter']:.1f}, 1] of the TTL), so that an",
        "  instance's keys stay one batch and its phase moves by up to half a TTL each cycle; and, after a fork,",
        "  each worker's inherited entries ending at a random point of their remaining life. With both, the",
        f"  mean is {fixed['steady']['share']:.0%} and {fixed_forked['steady']['share']:.0%} of the quota and "
        "nothing is throttled.",
        "- **Under 1.5x at the busiest second is out of reach for any randomised schedule.** Even a fleet whose",
        f"  starts are spread evenly over 300 s (no synchronisation at all) has a busiest second "
        f"{rolling['steady']['ratio']:.1f}x its mean",
        f"  ({rolling['steady']['ratio10']:.1f}x over 10 s): about {n / 271:.1f} instances refresh a second,",
        "  each sending its 3 or 4 requests at once, and the busiest of 3,600 seconds of such a random",
        "  (Poisson) stream is several times its mean. Only pacing (a fleet coordinated to take turns) or fewer",
        "  fetchers meet it; the what-if fleets come down to the randomised floor, not below it.",
        f"- **KMS takes the start's burst.** In the first second of a simultaneous start "
        f"{sim['cold']['kms_peak']:,}",
        "  Decrypts: most BatchGetSecretValue calls are throttled and fall back to GetSecretValue per secret,",
        "  whose quota is 10,000 a second, so nearly every instance's 10 secrets are read (and decrypted) at",
        f"  once: {sim['cold']['kms_peak'] / 10_000:.0%} of KMS's default quota, which the whole account shares. "
        f"In the steady state it is {sim['steady']['kms_mean']:.0f} a second.",
        "- **The Secrets Manager Agent serves secrets, not parameters** (it answers 404 for",
        "  `/systemsmanager/parameters/get`; see the contract's node-local caches), so every process still",
        "  reads its parameters from SSM, the busiest quota. Secrets Manager traffic falls to 10 GetSecretValue",
        "  per node, then 10 DescribeSecret per node per agent TTL (300 s, its default), against quotas of",
        f"  10,000 and 40,000 a second. AWS requests fall only {fewer:.1f}x. A node cache that served parameters",
        "  too, fetched once per node with the library's plan (the second agent line), gives "
        f"{fewer_ideal:.1f}x: 16x from",
        "  the node, more because a smaller fleet is no longer throttled. The Lambda extension does serve",
        "  parameters, but one GetParameter per name and one cache per execution environment: no fewer",
        "  requests than an in-process cache.",
        "",
        "## Results",
        "",
        "![Requests a second to SSM: the cold start and the hour after it](fleet.png)",
        "",
        *_tables(results),
        "",
        "'Throttled' counts throttled answers (each attempt of botocore's 3 counts). 'AWS requests' counts",
        "every request to SSM, Secrets Manager (GetSecretValue, BatchGetSecretValue, DescribeSecret) in the",
        "hour. A pre-forked fleet's cold start is its parents' (one load a node).",
        "",
    ]
    if scaled:
        quota = scaled["quotas"]
        lines += [
            "## The model checked against a real run",
            "",
            f"{scaled['real']['instances']} fresh interpreters, each loading the configuration once, started at once",
            "against moto's server on 127.0.0.1 behind a proxy (`benchmarks/fleet_proxy.py`) that enforces token",
            f"buckets of AWS's quotas divided by {model.QUOTAS['ssm'] / quota['ssm']:g} (SSM "
            f"{quota['ssm']:g}/s, BatchGetSecretValue {quota['BatchGetSecretValue']:g}/s) and answers",
            "`ThrottlingException` beyond them. The model replays it with the same instances and quotas, each",
            "instance starting when its real process sent its first request (the proxy tells the processes apart",
            f"by botocore's User-Agent: between {scaled['spread'][0]:.1f} and {scaled['spread'][1]:.1f} s after "
            "the launch, the",
            "interpreters sharing this machine's cores), with the round trip the real processes took from their",
            f"last request to their load's end ({scaled['rtt'] * 1000:.0f} ms, median), and with each attempt "
            "taking",
            f"{scaled['cpu'] * 1000:.0f} ms of one of the machine's cores before it is sent (its cores over the "
            "real run's busiest second:",
            "the real processes compete for CPU, so the real fleet cannot send its retries as fast as AWS's",
            "clients on a thousand machines would; the full-scale model has no such limit).",
            "",
            "The model agrees on failures and on the plan's requests, and is a little pessimistic on time and",
            "retries: on one machine the processes' retries are smeared by the CPU they wait for, so the quota",
            "idles a little less than in the model. The retries are jittered over the whole window, with waits",
            "of at most 8 s, so neither has waves to smear; the full-scale model's start times are an upper",
            "bound rather than a prediction.",
            "",
            *_scaled_table(scaled),
            "",
        ]
    lines += [
        "## The model's assumptions",
        "",
        "- Imported, not restated: the plan (`fetch.ssm.batches`, `fetch.secretsmanager.batches`,",
        "  `is_current`), the cold load's throttled retries (the library's own `_backoff.throttled_rounds`",
        "  drives them, with `ATTEMPTS_PER_ROUND`; `Options.throttle_timeout`),",
        "  jitter (`cache.JITTER`), the refresh-ahead window (`Options.refresh_window`), stale-if-error's",
        "  backoff (`cache.MAX_BACKOFF`), botocore's standard mode (`ExponentialBackoff`, its retry quota",
        "  and costs, 3 attempts from `Options.max_attempts`). A throttled BatchGetSecretValue falls back to",
        "  GetSecretValue per id, one after the other, as `fetch.secretsmanager` does.",
        "- Each quota is a token bucket refilled at its rate that holds one second of it; a throttled",
        "  request takes no token. SSM's 40 a second is shared by the three read operations.",
        "- One round trip is 30 ms; a process's first load starts within the first second (simultaneous),",
        "  over 300 s (rolling), or, for the real run's replay, when the real process began.",
        "- Each process keeps its settings with `LiveSettings.get()` called continually: a reload when the",
        "  first value is due; during failures, reloads 5 s apart (`retry_after`). Refresh-ahead and",
        "  stale-if-error follow `cache.ValueCache.get_many`.",
        "- One KMS Decrypt per SecureString and per secret in every answered request (AWS does not say",
        "  whether it caches data keys; this is the upper bound).",
        "- Pre-forked: one parent a node loads, then forks 16 workers that inherit its cache; nothing in the",
        "  library resets the cache at fork.",
        "- The Secrets Manager Agent: one per node of 16 processes, cache TTL 300 s, GetSecretValue per",
        "  secret on a miss and DescribeSecret per secret when its TTL ends; the processes' own cache stays",
        "  above it. Requests from processes to the agent never reach AWS.",
        "- Not modelled: credentials (STS), connection setup, other tenants of the same quotas.",
        "",
    ]
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    """Two panels: SSM requests a second during the simultaneous cold start, and over the hour after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    start = results["simultaneous"]["cold"]
    seconds = range(len(start["ssm_bins"]))
    answered = [a - t for a, t in zip(start["ssm_bins"], start["throttled_bins"], strict=True)]
    left.plot(seconds, answered, label="answered", color="tab:green")
    left.plot(seconds, start["throttled_bins"], label="throttled", color="tab:red", alpha=0.6)
    left.set_yscale("symlog")
    left.set_xlabel("seconds after a simultaneous start")
    left.set_ylabel("SSM requests a second")
    left.set_title(f"Cold start of {results['instances']:,} instances")
    left.legend()

    def smooth(bins: list[int], width: int = 10) -> list[float]:
        return [sum(bins[i : i + width]) / width for i in range(0, len(bins), width)]

    for key, colour in (
        ("simultaneous", "tab:red"),
        ("forked", "tab:purple"),
        ("simultaneous+what-if", "tab:green"),
        ("agent", "tab:orange"),
    ):
        series = smooth(results[key]["steady"]["bins"])
        right.plot([10 * i / 60 for i in range(len(series))], series, label=key, color=colour, lw=0.8)
    right.axhline(model.QUOTAS["ssm"], color="black", ls="--", lw=0.8, label="quota")
    right.set_xlabel("minutes after the fleet is up")
    right.set_ylabel("SSM requests a second (10 s mean)")
    right.set_title("The hour after (TTL 300 s)")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
