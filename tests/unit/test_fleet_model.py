# ruff: noqa: S311 - the random draws of a simulation, not of anything secret
"""The fleet benchmark's model (benchmarks/fleet_model.py) keeps the library's plan and schedules."""

from __future__ import annotations

import itertools
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import fleet_model as model
import fleet_process as proc
from pydantic_aws_settings import _backoff, _state, cache
from pydantic_aws_settings.fetch import secretsmanager, ssm
from pydantic_aws_settings.options import Options

UNLIMITED = dict.fromkeys(model.QUOTAS, 1e9)


@pytest.fixture(autouse=True)
def _fresh_state() -> None:
    _state.reset()


def test_the_model_plans_a_load_as_the_library_does() -> None:
    """The model's requests are the library's own planners' batches: 3 GetParameters, 1 batch of secrets."""
    targets, decrypted = model.configuration()
    library = [
        ("GetParameters", list(p.args[1]))
        for p in ssm.plan(object(), [t for t in targets if t.service == "ssm"])
    ]
    secrets = [t for t in targets if t.service == "secretsmanager"]
    library += [("BatchGetSecretValue", list(p.args[1])) for p in secretsmanager.plan(object(), secrets)]
    assert model.plan(targets) == library
    assert [len(batch) for _, batch in library] == [10, 10, 10, 10]
    assert len(decrypted) == 5 + 10


def test_unthrottled_instances_send_the_plan_once_each_and_all_start() -> None:
    """Without throttling every instance sends its plan once, starts, and decrypts 15 values."""
    fleet = model.Fleet(quotas=UNLIMITED)
    targets, decrypted = model.configuration()
    for i in range(50):
        fleet.spawn(proc.Process(fleet, random.Random(i), targets, decrypted).start(0.0))
    fleet.run(1e9)
    assert Counter(op for _, op, _ in fleet.log) == {"GetParameters": 150, "BatchGetSecretValue": 50}
    assert len(fleet.started) == 50
    assert fleet.failed == 0
    assert len(fleet.kms) == 50 * 15


def test_each_live_reload_refreshes_the_plan_once_about_a_ttl_apart() -> None:
    """A reload fetches the expired entries and those in their refresh window together: the plan's 4 requests.

    (Before the cache drew one jitter per fetch and folded window entries into a waiting load, it was 5:
    the expired entry alone, then the rest ahead.)
    """
    fleet = model.Fleet(quotas=UNLIMITED)
    targets, decrypted = model.configuration()
    fleet.spawn(proc.lifetime(proc.Process(fleet, random.Random(3), targets, decrypted), 0.0, 3000.0))
    fleet.run(3000.0)
    reloads = Counter(round(t, 1) for t, _, _ in fleet.log[4:])
    assert reloads
    assert set(reloads.values()) == {4}  # 3 GetParameters + 1 batch
    ttl = Options().cache_ttl
    gaps = sorted(reloads)
    assert ttl * (1 - cache.FIRST_JITTER) - 1 <= gaps[0] <= ttl + 1  # the first life is wide
    assert all(ttl * (1 - cache.JITTER) - 1 <= b - a <= ttl for a, b in itertools.pairwise(gaps))


def test_a_fleet_started_at_once_refreshes_first_over_most_of_a_ttl() -> None:
    """The library's first life is wide: 200 instances started together first refresh over (30, 300] s."""
    fleet = model.Fleet(quotas=UNLIMITED)
    targets, decrypted = model.configuration()
    for i in range(200):
        fleet.spawn(proc.lifetime(proc.Process(fleet, random.Random(i), targets, decrypted), 0.0, 300.0))
    fleet.run(300.0)  # before any second refresh: 30 + 270 s at the earliest
    ttl = Options().cache_ttl
    firsts = Counter(t for t, _, _ in fleet.log if t > 1.0)
    assert sum(firsts.values()) == 200 * 4  # each instance's first refresh: the plan, once
    assert ttl * (1 - cache.FIRST_JITTER) <= min(firsts)
    assert max(firsts) <= ttl + 1
    assert max(firsts) - min(firsts) > 0.8 * ttl * cache.FIRST_JITTER  # spread, not within 10% of the TTL


def test_forked_workers_spread_their_inherited_lives_with_the_librarys_rule() -> None:
    """16 workers of one parent first refresh at 16 different times within the TTL, each with the plan."""
    fleet = model.Fleet(quotas=UNLIMITED)
    targets, decrypted = model.configuration()
    parent = proc.Process(fleet, random.Random(5), targets, decrypted)
    fleet.spawn(proc.forked(parent, 16, 400.0, 0.0))
    fleet.run(400.0)
    ttl = Options().cache_ttl
    loaded = fleet.log[3][0]  # the parent's plan: its 4 requests at once
    refreshes = Counter(t for t, _, _ in fleet.log[4:] if t <= loaded + ttl)
    assert len(refreshes) >= 15  # the workers' first refreshes, apart (two may share a time: not 16 in one)
    assert all(loaded < t <= loaded + ttl for t in refreshes)
    assert max(refreshes) - min(refreshes) > ttl / 2
    assert set(refreshes.values()) <= {4, 8}


def test_the_floor_matches_a_simulated_random_fleet() -> None:
    """The expected busiest/mean of a Poisson stream of batches agrees with random fleets within 10%."""
    from fleet_floor import busiest_over_mean

    ttl, instances, batch = 300.0, 1000, 3
    rng = random.Random(7)
    ratios = []
    for _ in range(10):
        bins = [0] * 3600
        for _ in range(instances):
            t = rng.uniform(0.0, ttl)
            while t < 3600:
                bins[int(t)] += batch
                t += ttl * (1 - cache.JITTER * rng.random())
        ratios.append(max(bins) / (sum(bins) / len(bins)))
    mean = instances * batch / (ttl * (1 - cache.JITTER / 2))
    assert sum(ratios) / len(ratios) == pytest.approx(busiest_over_mean(mean, 3600, batch), rel=0.1)
    assert busiest_over_mean(mean, 3600, 1) < busiest_over_mean(mean, 3600, batch)


def test_a_load_that_stays_throttled_gives_up_after_the_throttle_timeout() -> None:
    """A cold load throttled throughout: its first wave, then the library's rounds until the timeout.

    The first wave is 3 batches of one attempt each (botocore leaves throttling to the library); each retry
    round after it is one request of one attempt (`_backoff.throttled_rounds`), at most THROTTLE_CAP (8 s)
    after the previous one. (Before the rounds, every retry was the whole wave again, 3 batches of 3
    attempts; before botocore left throttling to the library, the first wave was 3 batches of 3 attempts.)
    """
    fleet = model.Fleet(quotas={**UNLIMITED, "ssm": 1e-9})
    fleet.buckets["ssm"].tokens = 0.0
    targets, decrypted = model.configuration()
    fleet.spawn(proc.Process(fleet, random.Random(1), targets, decrypted).start(0.0))
    fleet.run(1e9)
    assert fleet.failed == 1
    assert not fleet.started
    ssm_times = [t for t, op, _ in fleet.log if op == "GetParameters"]
    first = 3  # one attempt a batch
    rounds = ssm_times[first:]
    gaps = [b - a for a, b in itertools.pairwise(ssm_times[first - 1 :])]
    assert rounds
    assert max(gaps) <= _backoff.THROTTLE_CAP + fleet.rtt
    assert Options().throttle_timeout <= max(ssm_times) <= Options().throttle_timeout + 10
    assert len(rounds) >= Options().throttle_timeout / _backoff.THROTTLE_CAP


def test_a_throttled_round_of_the_model_is_one_request() -> None:
    """With one request let through every 10 s, the model's load sends one request a throttled round."""
    fleet = model.Fleet(quotas={**UNLIMITED, "ssm": 0.1})
    fleet.buckets["ssm"].tokens, fleet.buckets["ssm"].burst = 0.0, 1.0
    targets, decrypted = model.configuration()
    fleet.spawn(proc.Process(fleet, random.Random(2), targets, decrypted).start(0.0))
    fleet.run(1e9)
    assert fleet.failed == 0
    answered = [t for t, op, ok in fleet.log if op == "GetParameters" and ok]
    throttled_after_first_wave = [t for t, op, ok in fleet.log[3:] if op == "GetParameters" and not ok]
    assert len(answered) == 3
    # Every throttled request after the first wave is a round of its own: none shares its time.
    assert len(set(throttled_after_first_wave)) == len(throttled_after_first_wave)


def test_the_token_bucket_answers_its_rate_and_one_second_of_burst() -> None:
    """A bucket of 4 a second answers 4 a second plus one second's burst."""
    bucket = model.TokenBucket(4.0)
    answered = sum(bucket.take(i / 100) for i in range(1000))
    assert 4 * 10 + 3 <= answered <= 4 * 10 + 4
