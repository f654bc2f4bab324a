# ruff: noqa: E501 - the lines are the Markdown page's prose, one source line each
"""The fleet benchmark's page (docs/explanation/fleet.md) and chart (fleet.png), from its results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fleet_model as model
from pydantic_aws_settings import _backoff, cache

#: SSM requests one instance sends together when it refreshes (the plan's GetParameters).
SSM_BATCH = sum(op in model.QUOTA_OF for op, _ in model.plan(model.configuration()[0]))

if TYPE_CHECKING:
    from pathlib import Path

NAMES = {
    "simultaneous": "all start at once (within 1 s)",
    "forked": "pre-forked: 1 loading parent, 16 workers a node",
    "rolling": "rolling start over 300 s",
    "agent-ideal": "one fetcher per node of 16 (the node's cache as the library's plan)",
    "agent": "Secrets Manager Agent per node of 16 (secrets only)",
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
        "| floor (1 s; 10 s) | throttled | AWS requests | KMS Decrypt/s mean, peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in NAMES.items():
        c, s = results[key]["cold"], results[key]["steady"]
        cold.append(
            f"| {name} | {c['up']:.1f} s | {c['failed']} | {c['requests']:,} | {c['throttles']:,} "
            f"| {c['busiest']:,} | {c['kms_peak']:,} |"
        )
        steady.append(
            f"| {name} | {s['mean']:.1f} | {s['share']:.0%} | {s['busiest']:,} | {s['ratio']:.1f}x "
            f"| {s['ratio10']:.1f}x | {s['floor']:.1f}x; {s['floor10']:.1f}x "
            f"| {s['throttles']:,} | {s['aws_requests']:,} "
            f"| {s['kms_mean']:.0f}, {s['kms_peak']:,} |"
        )
    return ["### Cold start", "", *cold, "", "### The hour after it (TTL 300 s)", "", *steady]


def page(results: dict[str, Any]) -> str:
    """The whole Markdown page."""
    n = results["instances"]
    sim, forked, rolling = results["simultaneous"], results["forked"], results["rolling"]
    ideal, agent = results["agent-ideal"], results["agent"]
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
        f"{forked['steady']['ratio']:.1f}x (over 10 s: {sim['steady']['ratio10']:.1f}x; "
        f"{forked['steady']['ratio10']:.1f}x); a random fleet of that mean can expect "
        f"{sim['steady']['floor']:.1f}x ({sim['steady']['floor10']:.1f}x) | {_mark(worst_ratio < 1.5)} |",
        f"| one agent per node of 16: AWS requests 16x fewer | Secrets Manager Agent: {fewer:.1f}x "
        f"(SSM {fewer_ssm:.1f}x); one fetcher per node: {fewer_ideal:.1f}x | {_mark(fewer >= 16)} |",
        "",
        "## Why the numbers are what they are",
        "",
        f"- **A fleet starting at once is up in {up / minimum:.2f}x the quota-bound minimum.** A load with",
        "  nothing to fall back on retries what was throttled in rounds (`_backoff.throttled_rounds`): before",
        "  each, a full-jitter wait (`rand(0, 1)` of a base doubling from 1 s: botocore sends a throttled",
        f"  request once, leaving its retries to the library; at most {_backoff.THROTTLE_CAP:.0f} s), so the fleet's retries spread over the whole window",
        "  instead of arriving in waves, and no instance sleeps long while the quota goes unused; in a round,",
        "  one request at a time of one botocore attempt, stopping at the first that is throttled again, so a",
        "  round that finds the quota spent costs one request. (Before: waits jittered between half and all",
        "  of a base capped at 60 s, and each retry the whole wave of botocore's 3 attempts a batch: waves",
        "  about 1, 3, 6, 12, 24 and 48 s after the start, the quota idle between them, up after 115.9 s,",
        "  1.54x.) No start fails: the 120 s throttle timeout outlasts it.",
        "- **Refreshes are spread once, then stay spread.** The cache's lives (`_entry`): a process's first",
        f"  value of a key lives between {1 - cache.FIRST_JITTER:.0%} and all of the TTL, so instances that loaded together are due at",
        f"  times spread over most of a TTL; every refresh then lives between {1 - cache.JITTER:.0%} and all of it, which keeps",
        "  the mean near one fetch per 0.95 TTL and the phases where the first life put them. A forked worker",
        "  moves the end of every entry it inherited to one random point between the fork and the end of the",
        "  TTL, so the workers of every node are spread over a TTL too. And a load that has an entry due",
        "  refreshes every entry it uses in the same fetch, so an instance's keys stay one batch: 3",
        "  GetParameters and 1 BatchGetSecretValue a cycle. After a simultaneous start the mean is "
        f"{sim['steady']['share']:.0%} of the",
        f"  quota and the busiest second {sim['steady']['ratio']:.1f}x the mean (the floor below: "
        f"{sim['steady']['floor']:.1f}x); pre-forked, {forked['steady']['share']:.0%} and "
        f"{forked['steady']['ratio']:.1f}x (floor {forked['steady']['floor']:.1f}x).",
        "  Nothing is throttled. Before these rules every life was drawn in the last 10% of the TTL and a fork",
        "  drew it there again, so phases hardly moved from where the start put them: after a simultaneous",
        "  start 28% of the quota and 21.6x, pre-forked 56% and 45.0x, throttled every cycle (this page's",
        "  previous run, seed 16).",
        "- **Under 1.5x at the busiest second is below what any randomised schedule can expect.** Instances",
        "  that refresh at random, each independently of the others, send a Poisson stream. At the rolling",
        f"  fleet's mean ({rolling['steady']['mean']:.1f} SSM requests a second: about "
        f"{rolling['steady']['mean'] / SSM_BATCH:.1f} instances a second, each sending its",
        f"  {SSM_BATCH} GetParameters together) the busiest of an hour's 3,600 seconds is expected at "
        f"{rolling['steady']['floor']:.1f}x the mean, and the",
        f"  busiest of its 360 ten-second windows at {rolling['steady']['floor10']:.2f}x; even if every request went on its own, at",
        f"  {rolling['steady']['floor_single']:.1f}x and {rolling['steady']['floor_single10']:.2f}x. "
        "Exactly: for n windows each holding b times a Poisson count of",
        "  mean m/b, E[max] = b * sum over k >= 0 of (1 - F(k)^n), F the Poisson distribution",
        "  (`benchmarks/fleet_floor.py`, checked against simulated random fleets in the tests). The rolling",
        f"  start, with no synchronisation at all, comes out at {rolling['steady']['ratio']:.1f}x and "
        f"{rolling['steady']['ratio10']:.1f}x. The 'floor' columns below give",
        "  each fleet's at its own mean. Only a fleet that takes turns (pacing, coordination between",
        "  instances) or fewer fetchers (a node-local cache) could meet 1.5x at one second.",
        f"- **KMS takes the start's burst.** In the first second of a simultaneous start "
        f"{sim['cold']['kms_peak']:,}",
        "  Decrypts: the secrets of the BatchGetSecretValue calls answered within their 100 a second, and",
        "  those of the batch calls throttled again in a round, which fall back to GetSecretValue per secret",
        "  (10,000 a second), each secret decrypted as it is read: "
        f"{sim['cold']['kms_peak'] / 10_000:.0%} of KMS's default quota, which the whole account shares. "
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
        "  the lives (`_entry.life`: first and later; `_entry.after_fork`), the refresh-ahead window",
        "  (`Options.refresh_window`) and a load's one refresh of every entry it uses, stale-if-error's",
        "  backoff (`cache.MAX_BACKOFF`), botocore's standard mode (`ExponentialBackoff`, its retry quota",
        "  and costs, 3 attempts from `Options.max_attempts`), which sends a throttled request once (the",
        "  library retries it). A BatchGetSecretValue throttled again in a round falls back to",
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
        "- Pre-forked: one parent a node loads, then forks 16 workers that inherit its cache; each worker",
        "  moves its inherited entries' ends with the library's own rule (`_entry.after_fork`).",
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
        ("rolling", "tab:green"),
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
