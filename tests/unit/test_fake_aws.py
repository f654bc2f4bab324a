"""FakeAWS's Secrets Manager and Parameter Store: names, ARNs, versions, stages, labels and errors as AWS's.

The contract, the fixture and the arguments of `FakeAWS` are tested in `test_testing.py`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, clear_cache
from pydantic_aws_settings.testing import FakeAWS


def settings_class(**annotations: Any) -> type[AWSBaseSettings]:
    """An `AWSBaseSettings` class with prefix APP_ and the given field annotations."""
    config = SettingsConfigDict(env_prefix="APP_")
    return type("Settings", (AWSBaseSettings,), {"__annotations__": annotations, "model_config": config})


def failures(error: pytest.ExceptionInfo[ResolutionError]) -> dict[str, str]:
    """Field -> code of a ResolutionError."""
    return {failure.field: failure.code for failure in error.value.failures}


class TestSecrets:
    """Secrets Manager's names, ARNs, versions, stages, deletion and errors."""

    def test_arn_partial_arn_and_another_region(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Full and partial ARNs name the secret; an ARN of another region names nothing of the fake."""
        with FakeAWS(secrets={"prod/db": "x"}, region="eu-west-1") as aws:
            arn = aws.client("secretsmanager").get_secret_value(SecretId="prod/db")["ARN"]
            assert re.fullmatch(
                r"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-[A-Za-z0-9]{6}", arn
            )
            monkeypatch.setenv("APP_FULL", f"secretsmanager:{arn}")
            monkeypatch.setenv("APP_PARTIAL", f"secretsmanager:{arn[:-7]}")
            monkeypatch.setenv("APP_OTHER", f"secretsmanager:{arn.replace('eu-west-1', 'us-east-1')}")
            with pytest.raises(ResolutionError) as caught:
                settings_class(full=str, partial=str, other=str)()
            assert failures(caught) == {"other": "ResourceNotFoundException"}

    def test_versions_and_stages(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """rotate() makes AWSCURRENT and AWSPREVIOUS; a version that lost its stages is read by its id."""
        with FakeAWS(secrets={"s": "one"}) as aws:
            client = aws.client("secretsmanager")
            first = client.get_secret_value(SecretId="s")["VersionId"]
            aws.rotate("s", "two")
            aws.rotate("s", b"\x00three")
            previous = client.get_secret_value(SecretId="s", VersionStage="AWSPREVIOUS")
            assert (previous["SecretString"], previous["VersionStages"]) == ("two", ["AWSPREVIOUS"])
            assert client.get_secret_value(SecretId="s", VersionId=first)["VersionStages"] == []
            monkeypatch.setenv("APP_FIRST", f"secretsmanager:s?version={first}")
            monkeypatch.setenv("APP_CURRENT", "secretsmanager:s")
            settings = settings_class(first=str, current=bytes)()
            assert (settings.first, settings.current) == ("one", b"\x00three")  # type: ignore[attr-defined]

    def test_version_errors(self) -> None:
        """An unknown version id or stage, or a stage the version lacks, answer AWS's errors."""
        with FakeAWS(secrets={"s": ["a", 1]}) as aws:
            client = aws.client("secretsmanager")
            current = client.get_secret_value(SecretId="s")
            assert json.loads(current["SecretString"]) == ["a", 1]
            for arguments, code in [
                ({"VersionId": "nope"}, "ResourceNotFoundException"),
                ({"VersionStage": "AWSPENDING"}, "ResourceNotFoundException"),
                (
                    {"VersionId": current["VersionId"], "VersionStage": "AWSPREVIOUS"},
                    "InvalidRequestException",
                ),
            ]:
                with pytest.raises(Exception, match=code) as caught:
                    client.get_secret_value(SecretId="s", **arguments)
                assert caught.value.response["Error"]["Code"] == code  # type: ignore[attr-defined]
                assert caught.value.operation_name == "GetSecretValue"  # type: ignore[attr-defined]

    def test_deleted_secret_is_absent(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A secret marked for deletion is absent for `optional:`, and a ResolutionError names why."""
        with FakeAWS(secrets={"gone": "x", "forced": "y"}) as aws:
            client = aws.client("secretsmanager")
            client.delete_secret(SecretId="gone")
            client.delete_secret(SecretId="forced", ForceDeleteWithoutRecovery=True)
            answer = client.batch_get_secret_value(SecretIdList=["gone", "forced"])
            assert [e["ErrorCode"] for e in answer["Errors"]] == [
                "InvalidRequestException",
                "ResourceNotFoundException",
            ]
            assert "marked for deletion" in answer["Errors"][0]["Message"]
            monkeypatch.setenv("APP_TOKEN", "optional:secretsmanager:gone")
            assert settings_class(token=str)(token="default").token == "default"  # type: ignore[attr-defined]
            with pytest.raises(Exception, match="scheduled for deletion"):
                client.create_secret(Name="gone", SecretString="again")
            client.create_secret(Name="forced", SecretString="again")

    def test_writes_are_checked(self) -> None:
        """Names, duplicates, both or no value, a version id reused: AWS's errors."""
        with FakeAWS(secrets={"s": "x"}) as aws:
            client = aws.client("secretsmanager")
            for call, code in [
                (lambda: client.create_secret(Name="bad name", SecretString="x"), "ValidationException"),
                (lambda: client.create_secret(Name="s", SecretString="x"), "ResourceExistsException"),
                (lambda: client.put_secret_value(SecretId="s"), "InvalidParameterException"),
                (
                    lambda: client.put_secret_value(SecretId="t", SecretString="x"),
                    "ResourceNotFoundException",
                ),
                (lambda: client.batch_get_secret_value(SecretIdList=["s"] * 21), "ValidationException"),
            ]:
                with pytest.raises(Exception, match=code):
                    call()
            token = client.put_secret_value(SecretId="s", SecretString="y", ClientRequestToken="v2")[
                "VersionId"
            ]
            assert token == "v2"
            with pytest.raises(Exception, match="ResourceExistsException"):
                client.put_secret_value(SecretId="s", SecretString="z", ClientRequestToken="v2")
            assert client.create_secret(Name="empty").keys() == {"ARN", "Name"}
            with pytest.raises(Exception, match="staging label: AWSCURRENT"):
                client.get_secret_value(SecretId="empty")

    def test_more_than_a_batch_and_a_denied_batch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """25 secrets take two batches; a denied batch falls back to one GetSecretValue per secret."""
        names = [f"s{i:02d}" for i in range(25)]
        for name in names:
            monkeypatch.setenv(f"APP_{name.upper()}", f"secretsmanager:{name}")
        cls = settings_class(**dict.fromkeys(names, str))
        with FakeAWS(secrets={name: f"value-{name}" for name in names}) as aws:
            assert cls().s24 == "value-s24"  # type: ignore[attr-defined]
            assert aws.requests == {"secretsmanager": 2}
            aws.fail("secretsmanager", "AccessDeniedException")
            clear_cache()
            with pytest.raises(ResolutionError) as caught:
                cls()
            assert set(failures(caught).values()) == {"AccessDeniedException"}
            assert "not authorized to perform: secretsmanager:GetSecretValue" in str(caught.value)
            # Each batch is denied, unless the other's denial is already remembered; then one read each.
            assert aws.requests["secretsmanager"] in (2 + 1 + 25, 2 + 2 + 25)


class TestParameters:
    """Parameter Store's names, ARNs, types, versions, labels, paths and errors."""

    def test_versions_labels_and_arns(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """rotate() adds a version; labels move; an ARN names the parameter; a bad selector is absent."""
        with FakeAWS(parameters={"/p": "v1", "plain": ["a", "b"]}) as aws:
            aws.rotate("/p", "v2")
            aws.rotate("plain", "joined")
            client = aws.client("ssm")
            assert client.label_parameter_version(
                Name="/p", ParameterVersion=1, Labels=["blue", "1x", "awsy"]
            ) == {
                "InvalidLabels": ["1x", "awsy"],
                "ParameterVersion": 1,
            }
            client.label_parameter_version(Name="/p", Labels=["blue"])  # moves to the latest, 2
            answer = client.get_parameters(Names=["/p:1", "/p:blue", "/p:9", "/p:red", "plain"])
            assert [(p["Name"], p["Version"], p.get("Selector")) for p in answer["Parameters"]] == [
                ("/p", 1, ":1"),
                ("/p", 2, ":blue"),
                ("plain", 2, None),
            ]
            assert answer["Parameters"][2]["Type"] == "String"
            assert answer["InvalidParameters"] == ["/p:9", "/p:red"]
            monkeypatch.setenv("APP_OLD", "ssm:arn:aws:ssm:us-east-1:123456789012:parameter/p:1")
            monkeypatch.setenv("APP_PLAIN", "ssm:arn:aws:ssm:us-east-1:123456789012:parameter/plain")
            settings = settings_class(old=str, plain=str)()
            assert (settings.old, settings.plain) == ("v1", "joined")  # type: ignore[attr-defined]
            foreign = "arn:aws:ssm:us-east-1:999999999999:parameter/p"
            assert client.get_parameters(Names=[foreign])["InvalidParameters"] == [foreign]

    def test_secure_string_without_decryption_and_paths_in_pages(self) -> None:
        """A SecureString is not shown undecrypted; a path answers 10 a page, one level or all below."""
        parameters = {f"/app/p{i:02d}": f"v{i}" for i in range(23)} | {"/app/deep/er": "x", "/apps": "y"}
        with FakeAWS(parameters=parameters | {"/app/key": "k"}, secure={"/app/key"}) as aws:
            client = aws.client("ssm")
            [key] = client.get_parameters(Names=["/app/key"])["Parameters"]
            assert (key["Type"], key["Value"] != "k") == ("SecureString", True)
            pages, token = [], None
            while True:
                page = client.get_parameters_by_path(
                    Path="/app", Recursive=True, **({"NextToken": token} if token else {})
                )
                pages.append(len(page["Parameters"]))
                token = page.get("NextToken")
                if not token:
                    break
            assert pages == [10, 10, 5]
            shallow = client.get_parameters_by_path(Path="/app/", MaxResults=10, NextToken="20")
            assert [p["Name"] for p in shallow["Parameters"]] == [
                "/app/p19",
                "/app/p20",
                "/app/p21",
                "/app/p22",
            ]

    def test_writes_and_reads_are_checked(self) -> None:
        """Names, values, types, overwrite, limits, versions and labels: AWS's errors."""
        with FakeAWS(parameters={"/p": "x"}) as aws:
            client = aws.client("ssm")
            for call, code in [
                (
                    lambda: client.put_parameter(Name="/aws/x", Value="v", Type="String"),
                    "ValidationException",
                ),
                (lambda: client.put_parameter(Name="a/b", Value="v", Type="String"), "ValidationException"),
                (
                    lambda: client.put_parameter(Name="/a" * 16, Value="v", Type="String"),
                    "HierarchyLevel",
                ),
                (lambda: client.put_parameter(Name="/q", Value="", Type="String"), "ValidationException"),
                (lambda: client.put_parameter(Name="/q", Value="v", Type="Number"), "ValidationException"),
                (lambda: client.put_parameter(Name="/q", Value="v"), "ValidationException"),
                (lambda: client.put_parameter(Name="/p", Value="v", Type="String"), "ParameterAlreadyExists"),
                (lambda: client.get_parameters(Names=[f"/p{i}" for i in range(11)]), "ValidationException"),
                (lambda: client.get_parameters_by_path(Path="p"), "ValidationException"),
                (lambda: client.get_parameters_by_path(Path="/", MaxResults=11), "ValidationException"),
                (lambda: client.get_parameters_by_path(Path="/", NextToken="x"), "ValidationException"),
                (lambda: client.label_parameter_version(Name="/q", Labels=["a"]), "ParameterNotFound"),
                (
                    lambda: client.label_parameter_version(Name="/p", ParameterVersion=2, Labels=["a"]),
                    "VersionNotFound",
                ),
                (
                    lambda: client.label_parameter_version(Name="/p", Labels=[f"l{i}" for i in range(11)]),
                    "LabelLimit",
                ),
                (lambda: client.delete_parameter(Name="/q"), "ParameterNotFound"),
            ]:
                with pytest.raises(Exception, match=code):
                    call()
            assert client.put_parameter(Name="/p", Value="y", Overwrite=True) == {
                "Version": 2,
                "Tier": "Standard",
            }
            client.delete_parameter(Name="/p")
            assert client.get_parameters(Names=["/p"])["InvalidParameters"] == ["/p"]
