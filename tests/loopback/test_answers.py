"""Answers are checked against their questions: names, ARNs, versions, selectors, paths, absence.

The contract's section "Answers are checked against their questions": a value is used only for what was
asked, an answer that lacks an item or is cut off is a transport failure (never "does not exist"), and
"does not exist" means an AWS answer saying so, a secret scheduled for deletion included.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import create_model

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, _state
from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import INCOMPLETE_ANSWER, MISMATCHED_ANSWER, Fetched, FetchFailure
from pydantic_aws_settings.fetch import secretsmanager as sm_fetch
from pydantic_aws_settings.fetch import ssm as ssm_fetch
from pydantic_aws_settings.references import ParameterReference, SecretReference

ACCOUNT = "123456789012"
REGION = "us-east-1"


def settings(**fields: Any) -> type[AWSBaseSettings]:
    """An `AWSBaseSettings` class with the given (type, default) fields."""
    return create_model("Settings", __base__=AWSBaseSettings, **fields)


class TestNamesAndArns:
    """A value is used only for the secret or parameter that was asked for."""

    def test_partial_arn_does_not_match_a_longer_name(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """`secret:pa/db` as a partial ARN never gets the value of `pa/db-old`."""
        sm.create_secret(Name="pa/db-old", SecretString="old-secret")
        partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pa/db"
        monkeypatch.setenv("DB", f"secretsmanager:{partial}")
        with pytest.raises(ResolutionError) as caught:
            settings(db=(str, ...))()
        assert "old-secret" not in str(caught.value)
        assert caught.value.failures[0].code in (
            INCOMPLETE_ANSWER,
            MISMATCHED_ANSWER,
            "ResourceNotFoundException",
        )

    def test_partial_arn_matches_its_own_secret(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """With both secrets present, each partial ARN gets its own value."""
        sm.create_secret(Name="pa/db", SecretString="mine")
        sm.create_secret(Name="pa/db-old", SecretString="theirs")
        prefix = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
        monkeypatch.setenv("A", f"secretsmanager:{prefix}pa/db")
        monkeypatch.setenv("B", f"secretsmanager:{prefix}pa/db-old")
        loaded = settings(a=(str, ...), b=(str, ...))()
        assert (loaded.a, loaded.b) == ("mine", "theirs")  # type: ignore[attr-defined]

    def test_name_and_arn_with_version_each_get_their_own(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """`ssm:/pv/key` and `arn:...:parameter/pv/key:1` in one load: the latest and version 1."""
        ssm.put_parameter(Name="/pv/key", Value="v1", Type="String")
        ssm.put_parameter(Name="/pv/key", Value="v2", Type="String", Overwrite=True)
        monkeypatch.setenv("LATEST", "ssm:/pv/key")
        monkeypatch.setenv("FIRST", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/pv/key:1")
        loaded = settings(latest=(str, ...), first=(str, ...))()
        assert (loaded.latest, loaded.first) == ("v2", "v1")  # type: ignore[attr-defined]


class TestDeletion:
    """A secret scheduled for deletion does not exist."""

    def test_scheduled_for_deletion_is_not_served_stale(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """After a deletion with a recovery window, the cached value is dropped, not served for a day."""
        clock = [0.0]
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=lambda: clock[0], rng=lambda: 0.0))
        sm.create_secret(Name="doomed", SecretString="value")
        monkeypatch.setenv("DOOMED", "secretsmanager:doomed?stage=AWSCURRENT")
        cls = settings(doomed=(str, ...))
        assert cls().doomed == "value"  # type: ignore[attr-defined]
        sm.delete_secret(SecretId="doomed", RecoveryWindowInDays=7)
        clock[0] = 301.0
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"), pytest.raises(ResolutionError):
            cls()
        assert not [r for r in caplog.records if "stale" in r.getMessage()]

    def test_optional_reference_to_a_deleted_secret_falls_back(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any
    ) -> None:
        """`optional:` falls back when the secret is scheduled for deletion, through the batch call too."""
        sm.create_secret(Name="doomed", SecretString="value")
        sm.delete_secret(SecretId="doomed", RecoveryWindowInDays=7)
        monkeypatch.setenv("A", "optional:secretsmanager:doomed")
        monkeypatch.setenv("B", "optional:secretsmanager:doomed?stage=AWSCURRENT")
        loaded = settings(a=(str, "default-a"), b=(str, "default-b"))()
        assert (loaded.a, loaded.b) == ("default-a", "default-b")  # type: ignore[attr-defined]


class _Client:
    """A stand-in for a botocore client that answers with what a test gives it.

    Used only where a loopback endpoint cannot produce the answer (botocore turns a body cut off into
    `{"message": ...}`; moto never answers with another parameter or outside a path).
    """

    def __init__(self, **answers: Any) -> None:
        self.answers = answers

    def __getattr__(self, operation: str) -> Any:
        answer = self.answers[operation]
        return lambda **_: answer


class TestIncompleteAnswers:
    """An answer that lacks an item, or was cut off, is a transport failure, never an absence."""

    def test_parameter_missing_from_answer(self) -> None:
        """A name neither returned nor listed in InvalidParameters is an incomplete answer."""
        client = _Client(get_parameters={"Parameters": [], "InvalidParameters": ["/b"]})
        outcomes = ssm_fetch.fetch_names(client, [ParameterReference("/a"), ParameterReference("/b")])  # type: ignore[arg-type]
        assert outcomes[ParameterReference("/a")].code == INCOMPLETE_ANSWER  # type: ignore[union-attr]
        assert not outcomes[ParameterReference("/a")].not_found  # type: ignore[union-attr]
        assert outcomes[ParameterReference("/b")].code == "ParameterNotFound"  # type: ignore[union-attr]

    def test_cut_off_answers(self) -> None:
        """The parse by botocore of a body cut off (`{"message": ...}`) is incomplete for every operation."""
        cut = {"message": '{"Parameters": [{"Na'}
        client = _Client(
            get_parameters=cut, get_parameters_by_path=cut, batch_get_secret_value=cut, get_secret_value=cut
        )
        names = ssm_fetch.fetch_names(client, [ParameterReference("/a")])  # type: ignore[arg-type]
        path = ssm_fetch.fetch_path(client, "/p/")  # type: ignore[arg-type]
        batch = sm_fetch.fetch_batch(client, [SecretReference("s")], sm_fetch.DenialMemory())  # type: ignore[arg-type]
        one = sm_fetch.fetch_one(client, SecretReference("s", stage="AWSPREVIOUS"))  # type: ignore[arg-type]
        codes = {names[ParameterReference("/a")], path, batch[SecretReference("s")], one}
        assert {getattr(outcome, "code", None) for outcome in codes} == {INCOMPLETE_ANSWER}

    def test_secret_missing_from_batch_answer(self) -> None:
        """A secret id neither returned nor listed in Errors is an incomplete answer, not a missing secret."""
        client = _Client(batch_get_secret_value={"SecretValues": [], "Errors": []})
        outcomes = sm_fetch.fetch_batch(client, [SecretReference("s")], sm_fetch.DenialMemory())  # type: ignore[arg-type]
        failure = outcomes[SecretReference("s")]
        assert isinstance(failure, FetchFailure)
        assert (failure.code, failure.not_found) == (INCOMPLETE_ANSWER, False)

    def test_another_version_is_mismatched(self) -> None:
        """A GetSecretValue answer of another version, or GetParameters of another selector, is not used."""
        secret = {"ARN": "arn:x", "Name": "s", "VersionId": "v2", "SecretString": "x", "VersionStages": ["B"]}
        client = _Client(
            get_secret_value=secret,
            get_parameters={"Parameters": [{"Name": "/a", "Value": "x", "Version": 2, "Type": "String"}]},
        )
        by_version = sm_fetch.fetch_one(client, SecretReference("s", version="v1"))  # type: ignore[arg-type]
        by_stage = sm_fetch.fetch_one(client, SecretReference("s", stage="A"))  # type: ignore[arg-type]
        selected = ssm_fetch.fetch_names(client, [ParameterReference("/a", "1")])  # type: ignore[arg-type]
        outcomes = [by_version, by_stage, selected[ParameterReference("/a", "1")]]
        assert [getattr(o, "code", None) for o in outcomes] == [MISMATCHED_ANSWER] * 3

    def test_partial_arn_never_takes_a_longer_names_answer(self) -> None:
        """An answer holding `pa/db-old` is not used for the partial ARN `secret:pa/db`, by either call."""
        partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pa/db"
        entry = {"ARN": f"{partial}-old-AbCdEf", "Name": "pa/db-old", "VersionId": "v", "SecretString": "x"}
        client = _Client(
            batch_get_secret_value={"SecretValues": [entry], "Errors": []},
            get_secret_value={**entry, "VersionStages": ["AWSCURRENT"]},
        )
        target = SecretReference(partial)
        batch = sm_fetch.fetch_batch(client, [target], sm_fetch.DenialMemory())[target]  # type: ignore[arg-type]
        one = sm_fetch.fetch_one(client, target)  # type: ignore[arg-type]
        assert not isinstance(batch, Fetched)
        assert not isinstance(one, Fetched)
        own = {**entry, "ARN": f"{partial}-AbCdEf", "Name": "pa/db"}
        own_client = _Client(batch_get_secret_value={"SecretValues": [own], "Errors": []})
        mine = sm_fetch.fetch_batch(own_client, [target], sm_fetch.DenialMemory())[target]  # type: ignore[arg-type]
        assert isinstance(mine, Fetched)

    def test_path_keeps_only_parameters_below_it(self) -> None:
        """`ssm:/p/` drops a returned parameter that is not below /p/."""
        client = _Client(
            get_parameters_by_path={
                "Parameters": [
                    {"Name": "/p/a", "Value": "in", "Type": "String"},
                    {"Name": "/other/b", "Value": "out", "Type": "String"},
                ]
            }
        )
        outcome = ssm_fetch.fetch_path(client, "/p/")  # type: ignore[arg-type]
        assert isinstance(outcome, Fetched)
        assert isinstance(outcome.data, dict)
        assert list(outcome.data) == ["a"]

    def test_incomplete_answer_is_served_stale_and_never_falls_back(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """An incomplete answer on refresh serves the cached value; with none, optional does not fall back."""
        clock = [0.0]
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=lambda: clock[0], rng=lambda: 0.0))
        ssm.put_parameter(Name="/a", Value="first", Type="String")
        monkeypatch.setenv("A", "optional:ssm:/a")
        cls = settings(a=(str, "default"))
        assert cls().a == "first"  # type: ignore[attr-defined]
        real = ssm_fetch.fetch_names

        def cut_off(client: Any, targets: Any) -> Any:
            real(client, targets)  # the request goes out; its answer is lost
            return dict.fromkeys(targets, FetchFailure(INCOMPLETE_ANSWER, "cut off"))

        monkeypatch.setattr(ssm_fetch, "fetch_names", cut_off)
        clock[0] = 301.0
        assert cls().a == "first"  # type: ignore[attr-defined]
        _state.clear_cache()
        with pytest.raises(ResolutionError, match=INCOMPLETE_ANSWER):
            cls()


def test_json_secret_value_is_untouched_by_checks(monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
    """The checks leave a normal answer's value as it is (a JSON secret through the batch call)."""
    sm.create_secret(Name="j", SecretString=json.dumps({"k": "v"}))
    monkeypatch.setenv("K", "secretsmanager:j#k")
    assert settings(k=(str, ...))().k == "v"  # type: ignore[attr-defined]
