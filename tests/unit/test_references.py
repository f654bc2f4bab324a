"""The reference grammar: parsing, canonical printing, errors, and properties over generated input."""

from __future__ import annotations

import dataclasses
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydantic_aws_settings import references
from pydantic_aws_settings.errors import InvalidReferenceError
from pydantic_aws_settings.references import (
    ParameterReference,
    Reference,
    SecretReference,
    format_reference,
    looks_like_reference,
    parse_reference,
)

PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"]
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
PARTIAL_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db"
GOV_SECRET_ARN = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:prod/db-AbCdEf"
CN_SECRET_ARN = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/db-AbCdEf"
PARAMETER_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api/url"
PLAIN_PARAMETER_ARN = "arn:aws:ssm:us-east-2:123456789012:parameter/myparam"
LONG_SECRET_NAME = "a" * 512
LONG_PARAMETER_NAME = "/" + "p" * 2047


def parse(text: str) -> Reference:
    """Parse text that must be a reference."""
    reference = parse_reference(text)
    assert reference is not None
    return reference


def reason_of(text: str, variable: str | None = None) -> InvalidReferenceError:
    """Parse text that must be malformed and return the error."""
    with pytest.raises(InvalidReferenceError) as caught:
        parse_reference(text, variable)
    return caught.value


class TestSecretsManagerForms:
    """The `secretsmanager:` forms of the contract's table."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("secretsmanager:prod/db", SecretReference("prod/db")),
            ("secretsmanager:prod/db#password", SecretReference("prod/db", key="password")),
            ("secretsmanager:prod/db?stage=AWSPREVIOUS", SecretReference("prod/db", stage="AWSPREVIOUS")),
            (
                "secretsmanager:prod/db?version=EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
                SecretReference("prod/db", version="EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"),
            ),
            (
                "secretsmanager:prod/db#password?stage=AWSPREVIOUS",
                SecretReference("prod/db", key="password", stage="AWSPREVIOUS"),
            ),
            (
                "secretsmanager:prod/db?stage=AWSPREVIOUS#password",
                SecretReference("prod/db", key="password", stage="AWSPREVIOUS"),
            ),
            (
                "secretsmanager:prod/db#password?version=v1",
                SecretReference("prod/db", key="password", version="v1"),
            ),
            (
                "secretsmanager:prod/db?version=v1#password",
                SecretReference("prod/db", key="password", version="v1"),
            ),
            ("secretsmanager:a/b_c+d=e.f@g-h", SecretReference("a/b_c+d=e.f@g-h")),
            ("secretsmanager:arnold", SecretReference("arnold")),
            ("secretsmanager:db#pässwörd", SecretReference("db", key="pässwörd")),
            ("secretsmanager:db#a key: with = signs", SecretReference("db", key="a key: with = signs")),
            (f"secretsmanager:{LONG_SECRET_NAME}", SecretReference(LONG_SECRET_NAME)),
        ],
    )
    def test_name_forms(self, text: str, expected: SecretReference) -> None:
        """Each name form parses into the expected secret reference."""
        assert parse_reference(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"secretsmanager:{SECRET_ARN}", SecretReference(SECRET_ARN)),
            (f"secretsmanager:{PARTIAL_SECRET_ARN}", SecretReference(PARTIAL_SECRET_ARN)),
            (f"secretsmanager:{GOV_SECRET_ARN}", SecretReference(GOV_SECRET_ARN)),
            (f"secretsmanager:{CN_SECRET_ARN}", SecretReference(CN_SECRET_ARN)),
            (f"secretsmanager:{SECRET_ARN}#password", SecretReference(SECRET_ARN, key="password")),
            (
                f"secretsmanager:{SECRET_ARN}?stage=AWSPENDING",
                SecretReference(SECRET_ARN, stage="AWSPENDING"),
            ),
            (
                f"secretsmanager:{PARTIAL_SECRET_ARN}?version=v2#user",
                SecretReference(PARTIAL_SECRET_ARN, key="user", version="v2"),
            ),
        ],
    )
    def test_arn_forms(self, text: str, expected: SecretReference) -> None:
        """A full or partial secret ARN works as the name, with `#KEY` and `?query` after it."""
        assert parse_reference(text) == expected

    @pytest.mark.parametrize(
        ("text", "canonical"),
        [
            ("secretsmanager:db?stage=S#k", "secretsmanager:db#k?stage=S"),
            ("secretsmanager:db?version=V#k", "secretsmanager:db#k?version=V"),
            ("secretsmanager:db#k?stage=S", "secretsmanager:db#k?stage=S"),
            (f"secretsmanager:{SECRET_ARN}?stage=S#k", f"secretsmanager:{SECRET_ARN}#k?stage=S"),
        ],
    )
    def test_canonical_order(self, text: str, canonical: str) -> None:
        """The key is printed before the query, whichever order it was written in."""
        assert format_reference(parse(text)) == canonical
        assert parse_reference(canonical) == parse_reference(text)


class TestParameterForms:
    """The `ssm:` forms of the contract's table."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("ssm:/prod/api/url", ParameterReference("/prod/api/url")),
            ("ssm:/prod/api/url:3", ParameterReference("/prod/api/url", selector="3")),
            ("ssm:/prod/api/url:prod", ParameterReference("/prod/api/url", selector="prod")),
            ("ssm:/prod/db#password", ParameterReference("/prod/db", key="password")),
            ("ssm:/prod/db:3#password", ParameterReference("/prod/db", selector="3", key="password")),
            (
                "ssm:/prod/db:live_v1.2-x#user",
                ParameterReference("/prod/db", selector="live_v1.2-x", key="user"),
            ),
            ("ssm:/prod/x#a:b?c d", ParameterReference("/prod/x", key="a:b?c d")),
            ("ssm:/prod/x#ключ", ParameterReference("/prod/x", key="ключ")),
            ("ssm:/prod/", ParameterReference("/prod/")),
            ("ssm:/prod/app/", ParameterReference("/prod/app/")),
            ("ssm:/", ParameterReference("/")),
            ("ssm:myparam", ParameterReference("myparam")),
            ("ssm:my.param_name-1:2", ParameterReference("my.param_name-1", selector="2")),
            ("ssm:a/b", ParameterReference("a/b")),
            (f"ssm:{LONG_PARAMETER_NAME}", ParameterReference(LONG_PARAMETER_NAME)),
        ],
    )
    def test_name_forms(self, text: str, expected: ParameterReference) -> None:
        """Each name, selector, key and path form parses into the expected parameter reference."""
        assert parse_reference(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"ssm:{PARAMETER_ARN}", ParameterReference(PARAMETER_ARN)),
            (f"ssm:{PARAMETER_ARN}:3", ParameterReference(PARAMETER_ARN, selector="3")),
            (f"ssm:{PARAMETER_ARN}#key", ParameterReference(PARAMETER_ARN, key="key")),
            (f"ssm:{PARAMETER_ARN}:prod#key", ParameterReference(PARAMETER_ARN, selector="prod", key="key")),
            (f"ssm:{PLAIN_PARAMETER_ARN}", ParameterReference(PLAIN_PARAMETER_ARN)),
            (
                "ssm:arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x",
                ParameterReference("arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x"),
            ),
        ],
    )
    def test_arn_forms(self, text: str, expected: ParameterReference) -> None:
        """A parameter ARN after `ssm:` is the name; the selector and key follow it."""
        assert parse_reference(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "ssm:/prod/api/url",
            "ssm:/prod/db:3#password",
            "ssm:/prod/",
            "ssm:myparam",
            f"ssm:{PARAMETER_ARN}:3#k",
        ],
    )
    def test_printed_as_written(self, text: str) -> None:
        """Every parameter form is already canonical and prints back unchanged."""
        assert format_reference(parse(text)) == text


class TestBareArns:
    """Bare ARNs: the ECS `valueFrom` form of secrets, and parameter ARNs."""

    @pytest.mark.parametrize(
        ("text", "key", "stage", "version"),
        [
            (SECRET_ARN, None, None, None),
            (f"{SECRET_ARN}:password", "password", None, None),
            (f"{SECRET_ARN}:password::", "password", None, None),
            (f"{SECRET_ARN}:password:AWSPREVIOUS", "password", "AWSPREVIOUS", None),
            (f"{SECRET_ARN}:password:AWSPREVIOUS:", "password", "AWSPREVIOUS", None),
            (f"{SECRET_ARN}::AWSPREVIOUS", None, "AWSPREVIOUS", None),
            (f"{SECRET_ARN}::AWSPREVIOUS:", None, "AWSPREVIOUS", None),
            (f"{SECRET_ARN}:::v1", None, None, "v1"),
            (f"{SECRET_ARN}:password::v1", "password", None, "v1"),
            (f"{SECRET_ARN}:", None, None, None),
            (f"{SECRET_ARN}:::", None, None, None),
            (f"{SECRET_ARN}:we#ird?key", "we#ird?key", None, None),
        ],
    )
    def test_ecs_secret_forms(
        self, text: str, key: str | None, stage: str | None, version: str | None
    ) -> None:
        """The ECS form takes `:KEY:STAGE:VERSION_ID` after the name; empty parts are None."""
        assert parse_reference(text) == SecretReference(
            SECRET_ARN, key=key, stage=stage, version=version, bare_arn=True
        )

    @pytest.mark.parametrize(
        ("text", "canonical"),
        [
            (SECRET_ARN, SECRET_ARN),
            (f"{SECRET_ARN}:password::", f"{SECRET_ARN}:password"),
            (f"{SECRET_ARN}::AWSPREVIOUS:", f"{SECRET_ARN}::AWSPREVIOUS"),
            (f"{SECRET_ARN}:::v1", f"{SECRET_ARN}:::v1"),
            (f"{SECRET_ARN}:password::v1", f"{SECRET_ARN}:password::v1"),
            (f"{SECRET_ARN}:::", SECRET_ARN),
            (f"{PARAMETER_ARN}:3#k", f"{PARAMETER_ARN}:3#k"),
        ],
    )
    def test_printed_back_bare(self, text: str, canonical: str) -> None:
        """A bare ARN prints back bare, without trailing empty parts but with inner ones."""
        assert format_reference(parse(text)) == canonical

    @pytest.mark.parametrize("partition", PARTITIONS)
    def test_every_partition(self, partition: str) -> None:
        """Secret and parameter ARNs of every partition are references."""
        secret = f"arn:{partition}:secretsmanager:r-1:123456789012:secret:db"
        parameter = f"arn:{partition}:ssm:r-1:123456789012:parameter/x"
        assert parse_reference(secret) == SecretReference(secret, bare_arn=True)
        assert parse_reference(parameter) == ParameterReference(parameter, bare_arn=True)
        assert looks_like_reference(secret)
        assert looks_like_reference(parameter)

    def test_partial_secret_arn(self) -> None:
        """A bare partial ARN (without the random suffix) is a reference too."""
        assert parse_reference(f"{PARTIAL_SECRET_ARN}:user") == SecretReference(
            PARTIAL_SECRET_ARN, key="user", bare_arn=True
        )

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (PARAMETER_ARN, ParameterReference(PARAMETER_ARN, bare_arn=True)),
            (f"{PARAMETER_ARN}:3", ParameterReference(PARAMETER_ARN, selector="3", bare_arn=True)),
            (f"{PARAMETER_ARN}:prod", ParameterReference(PARAMETER_ARN, selector="prod", bare_arn=True)),
            (f"{PARAMETER_ARN}#key", ParameterReference(PARAMETER_ARN, key="key", bare_arn=True)),
            (
                f"{PARAMETER_ARN}:prod#a:b",
                ParameterReference(PARAMETER_ARN, selector="prod", key="a:b", bare_arn=True),
            ),
            (PLAIN_PARAMETER_ARN, ParameterReference(PLAIN_PARAMETER_ARN, bare_arn=True)),
        ],
    )
    def test_parameter_forms(self, text: str, expected: ParameterReference) -> None:
        """A bare parameter ARN takes an optional selector and key."""
        assert parse_reference(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "arn:aws:ssm:us-east-1:123456789012:document/MyDoc",
            "arn:aws:ssm:us-east-1:123456789012:association/abc",
            "arn:aws:ssm:us-east-1:123456789012:maintenancewindow/mw-0c50858d01EXAMPLE",
            "arn:aws:ssm:us-east-1::automation-definition/Name:1",
            "arn:aws:ssm:us-east-1",
            "arn:aws:ssm:",
        ],
    )
    def test_other_ssm_resources_are_plain(self, text: str) -> None:
        """A bare ssm ARN that does not name a parameter is a plain value."""
        assert parse_reference(text) is None


class TestOptional:
    """The `optional:` prefix."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("optional:secretsmanager:db#k", SecretReference("db", key="k", optional=True)),
            ("optional:ssm:/prod/", ParameterReference("/prod/", optional=True)),
            ("optional:ssm:/x:3#k", ParameterReference("/x", selector="3", key="k", optional=True)),
            (f"optional:{SECRET_ARN}:k", SecretReference(SECRET_ARN, key="k", optional=True, bare_arn=True)),
            (f"optional:{PARAMETER_ARN}", ParameterReference(PARAMETER_ARN, optional=True, bare_arn=True)),
        ],
    )
    def test_marks_optional(self, text: str, expected: Reference) -> None:
        """`optional:REF` is REF with optional=True, and prints back with the prefix."""
        reference = parse(text)
        assert reference == expected
        assert format_reference(reference) == text

    @pytest.mark.parametrize(
        "text",
        [
            "optional:",
            "optional:plain",
            "optional:arn:aws:sns:us-east-1:123456789012:topic",
            "optional:arn:aws:ssm:us-east-1:123456789012:document/x",
        ],
    )
    def test_must_be_followed_by_a_reference(self, text: str) -> None:
        """`optional:` followed by nothing or a plain value is an error."""
        assert reason_of(text).reason == "optional: must be followed by a reference"

    @pytest.mark.parametrize("text", ["optional:optional:ssm:x", "optional:optional:"])
    def test_only_once(self, text: str) -> None:
        """`optional:` may not be repeated."""
        assert "twice" in reason_of(text).reason

    def test_inner_error_reports_whole_text(self) -> None:
        """An error inside an optional reference reports the text as written, prefix included."""
        error = reason_of("optional:secretsmanager:", "APP_X")
        assert error.text == "optional:secretsmanager:"
        assert "no name" in error.reason


class TestPlainValues:
    """Values that are not references."""

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "plain",
            "DEBUG",
            "https://example.com/x?a=b#c",
            "postgres://user:pw@host:5432/db",
            "ssm",
            "secretsmanager",
            "optional",
            "ssmx:/a",
            "arn:aws:sns:us-east-1:123456789012:my-topic",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:iam::123456789012:role/app",
            "arn:aws:s3:::bucket",
        ],
    )
    def test_plain(self, text: str) -> None:
        """A value of no reference form is plain (None), whatever it contains."""
        assert parse_reference(text) is None
        assert not looks_like_reference(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("secretsmanager:", True),
            ("ssm:", True),
            ("optional:", True),
            ("optional:plain", True),
            ("arn:aws:secretsmanager:", True),
            ("arn:aws-eusc:ssm:x", True),
            ("arn:aws:ssm:us-east-1:123456789012:document/x", True),
            ("arn:aws:sns:", False),
            ("arn:aws:secretsmanager", False),
            ("ssm", False),
            ("", False),
        ],
    )
    def test_looks_like_reference(self, text: str, expected: bool) -> None:
        """The prefix test accepts exactly the reference prefixes."""
        assert looks_like_reference(text) is expected


class TestMalformed:
    """Malformed references raise InvalidReferenceError with a short, specific reason."""

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("secretsmanager:", "no name"),
            ("ssm:", "no name"),
            ("secretsmanager:#k", "no secret name"),
            ("secretsmanager:?stage=S", "no secret name"),
            ("secretsmanager:db#", "`#` with no key"),
            ("secretsmanager:db#?stage=S", "`#` with no key"),
            ("secretsmanager:db?stage=S#", "`#` with no key"),
            ("secretsmanager:db#a#b", "may not contain `#`"),
            ("secretsmanager:db?stage=S#a?b", "may not contain `?`"),
            ("secretsmanager:db?stage=S#a#b", "may not contain `#`"),
            ("secretsmanager:db#k?stage=S#j", "more than one `#KEY`"),
            ("secretsmanager:db?stage=a&version=b", "both a stage and a version"),
            ("secretsmanager:db?version=a?stage=b", "both a stage and a version"),
            ("secretsmanager:db#k?stage=a&version=b", "both a stage and a version"),
            ("secretsmanager:db?stage=a&stage=b", "more than one query parameter"),
            ("secretsmanager:db?stage=a&", "more than one query parameter"),
            ("secretsmanager:db?label=x", "unknown query parameter 'label'"),
            ("secretsmanager:db?Stage=x", "unknown query parameter 'Stage'"),
            ("secretsmanager:db?=x", "unknown query parameter ''"),
            ("secretsmanager:db?stage=", "empty stage"),
            ("secretsmanager:db?version=", "empty version"),
            ("secretsmanager:db?", "`?` with no query"),
            ("secretsmanager:db#k?", "`?` with no query"),
            ("secretsmanager:db?stage", "malformed query 'stage'"),
            ("secretsmanager:db?stage=a b", "bad character ' ' at position 25 in the stage"),
            ("secretsmanager:db?version=a=b", "bad character '=' at position 27 in the version"),
            (f"secretsmanager:db?stage={'s' * 257}", "stage longer than 256"),
            ("secretsmanager:my secret", "bad character ' ' at position 17 in the secret name"),
            ("secretsmanager:db\n", "bad character '\\n' at position 17"),
            ("secretsmanager:pässword", "bad character 'ä' at position 16"),
            ("secretsmanager:db:password", "use #KEY for a JSON key"),
            (f"secretsmanager:{'a' * 513}", "secret name longer than 512"),
        ],
    )
    def test_secret_names_and_queries(self, text: str, fragment: str) -> None:
        """Malformed secret names, keys and queries are errors."""
        assert fragment in reason_of(text).reason

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("secretsmanager:arn:aws:ssm:us-east-1:123456789012:parameter/x", "an ARN of another service"),
            ("secretsmanager:arn:aws:sns:us-east-1:123456789012:topic", "an ARN of another service"),
            (f"secretsmanager:{SECRET_ARN}:password", "use #KEY, or the bare ARN form"),
            (f"secretsmanager:{SECRET_ARN}:password:AWSPREVIOUS", "use #KEY, or the bare ARN form"),
            ("secretsmanager:arn:aws", "malformed ARN"),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012", "malformed ARN"),
            ("secretsmanager:arn:nope:secretsmanager:us-east-1:123456789012:secret:db", "unknown partition"),
            ("secretsmanager:arn:aws:secretsmanager::123456789012:secret:db", "no region"),
            (
                "secretsmanager:arn:aws:secretsmanager:US-EAST-1:123456789012:secret:db",
                "'U' at position 38 in the region",
            ),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:12345:secret:db", "12 digits"),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:12345678901x:secret:db", "12 digits"),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:rotation:db", "not a secret ARN"),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret", "no secret name"),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:", "no secret name"),
            ("secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:a b", "bad character ' '"),
        ],
    )
    def test_secret_arns(self, text: str, fragment: str) -> None:
        """Malformed secret ARNs after `secretsmanager:` are errors."""
        assert fragment in reason_of(text).reason

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            (f"{SECRET_ARN}:a:b:c:d", "more than :KEY:STAGE:VERSION_ID"),
            (f"{SECRET_ARN}::::", "more than :KEY:STAGE:VERSION_ID"),
            (f"{SECRET_ARN}::S:V", "both a stage and a version id"),
            (f"{SECRET_ARN}::bad stage", "bad character ' ' at position 72 in the stage"),
            (f"{SECRET_ARN}:::bad/version", "bad character '/' at position 73 in the version id"),
            (f"{SECRET_ARN}#password", "the bare ARN form takes :KEY:STAGE:VERSION_ID"),
            (f"{SECRET_ARN}?stage=S", "the bare ARN form takes :KEY:STAGE:VERSION_ID"),
            ("arn:aws:secretsmanager:us-east-1:123456789012:rotation:db", "not a secret ARN"),
            ("arn:aws:secretsmanager:us-east-1", "malformed ARN"),
            ("arn:aws:secretsmanager:", "malformed ARN"),
            ("arn:aws:secretsmanager:us-east-1:123456789012:secret", "no secret name"),
            ("arn:aws:secretsmanager:us-east-1:123456789012:secret::k", "no secret name"),
            ("arn:aws:secretsmanager:us east:123456789012:secret:db", "bad character ' ' at position 25"),
            ("arn:aws:secretsmanager:us-east-1:1234:secret:db", "12 digits"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter/x:", "`:` with no version or label"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter/x#", "`#` with no key"),
            ("arn:aws:ssm:us-east-1:1:parameter/x", "12 digits"),
            ("arn:aws:ssm::123456789012:parameter/x", "no region"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter", "malformed ARN"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter:3", "malformed ARN"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter/", "no parameter name"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter/prod/", "cannot name a path"),
            ("arn:aws:ssm:us-east-1:123456789012:parameter//prod/x", "'//' at position 44"),
        ],
    )
    def test_bare_arns(self, text: str, fragment: str) -> None:
        """Malformed bare secret ARNs and bare parameter ARNs are errors, not plain values."""
        assert fragment in reason_of(text).reason

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("ssm:/a b", "bad character ' ' at position 6 in the parameter name"),
            ("ssm:/x?y", "bad character '?' at position 6"),
            ("ssm:/prod/é", "bad character 'é' at position 10"),
            ("ssm:/a//b", "'//' at position 6"),
            ("ssm://", "'//' at position 4"),
            ("ssm:/x:", "`:` with no version or label"),
            ("ssm:/x:1:2", "a second `:` at position 8"),
            ("ssm:/x:bad label", "bad character ' ' at position 10 in the version or label"),
            (f"ssm:/x:{'v' * 101}", "version or label longer than 100"),
            ("ssm:/x#", "`#` with no key"),
            ("ssm:/x#a#b", "may not contain `#`"),
            ("ssm:/prod/:3", "a path (ending in `/`) takes no :VERSION or :LABEL"),
            ("ssm:/prod/#k", "a path (ending in `/`) takes no #KEY"),
            ("ssm:prod/", "must start with `/`"),
            ("ssm::3", "no parameter name"),
            ("ssm:#k", "no parameter name"),
            (f"ssm:{LONG_PARAMETER_NAME}x", "parameter name longer than 2048"),
            ("ssm:arn:aws:secretsmanager:us-east-1:123456789012:secret:db", "an ARN of another service"),
            ("ssm:arn:aws:sns:us-east-1:123456789012:topic", "an ARN of another service"),
            ("ssm:arn:aws:sns", "an ARN of another service"),
            ("ssm:arn:aws:ssm:us-east-1:123456789012:document/x", "not a parameter ARN"),
            ("ssm:arn:aws:ssm:us-east-1", "malformed ARN"),
            ("ssm:arn:", "malformed ARN"),
            ("ssm:arn:nope:ssm:us-east-1:123456789012:parameter/x", "unknown partition"),
            (f"ssm:{PARAMETER_ARN}:1:2", "a second `:`"),
            (f"ssm:{PARAMETER_ARN}/", "cannot name a path"),
            (f"ssm:{PARAMETER_ARN} ", "bad character ' '"),
        ],
    )
    def test_parameters(self, text: str, fragment: str) -> None:
        """Malformed parameter names, selectors, keys, paths and ARNs are errors."""
        assert fragment in reason_of(text).reason

    @pytest.mark.parametrize(
        "text",
        [
            "secretsmanager:my secret",
            "optional:secretsmanager:my\tsecret",
            "ssm:/prod/a b",
            "optional:ssm:/x:la bel",
            f"{SECRET_ARN}::st age",
            "secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:p ä",
        ],
    )
    def test_position_points_at_the_character(self, text: str) -> None:
        """The position in a bad-character error indexes the text as written."""
        reason = reason_of(text).reason
        char_repr, _, rest = reason.removeprefix("bad character ").partition(" at position ")
        position = int(rest.split()[0])
        assert repr(text[position]) == char_repr

    @pytest.mark.parametrize(
        "text", ["secretsmanager:", "ssm:/x#", "optional:plain", f"{SECRET_ARN}:a:b:c:d", "ssm:arn:aws:sns"]
    )
    def test_names_the_variable_and_the_text(self, text: str) -> None:
        """The error carries the text as written and the variable, and its message names both."""
        error = reason_of(text, "APP_X")
        assert error.text == text
        assert error.variable == "APP_X"
        assert "APP_X" in str(error)
        assert repr(text) in str(error)
        assert error.reason in str(error)

    def test_without_variable(self) -> None:
        """Without a variable the error names none."""
        error = reason_of("secretsmanager:")
        assert error.variable is None
        assert str(error).startswith("malformed reference")

    def test_contract_example(self) -> None:
        """The example of the brief: the message of `secretsmanager:` for APP_X contains APP_X."""
        with pytest.raises(InvalidReferenceError, match="APP_X"):
            parse_reference("secretsmanager:", variable="APP_X")


# --- strategies ---------------------------------------------------------------------------------------

SECRET_NAME_CHARS = string.ascii_letters + string.digits + "/_+=.@-"
VALUE_CHARS = string.ascii_letters + string.digits + "_.+@-"
SEGMENT_CHARS = string.ascii_letters + string.digits + "_.-"
REGION_CHARS = string.ascii_lowercase + string.digits + "-"

partitions = st.sampled_from(PARTITIONS)
regions = st.text(alphabet=REGION_CHARS, min_size=1, max_size=15)
accounts = st.text(alphabet=string.digits, min_size=12, max_size=12)
secret_names = st.text(alphabet=SECRET_NAME_CHARS, min_size=1, max_size=40)
secret_arns = st.builds(
    lambda partition, region, account, name: (
        f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}"
    ),
    partitions,
    regions,
    accounts,
    secret_names,
)
secret_keys = st.text(alphabet=st.characters(exclude_characters="#?"), min_size=1, max_size=20)
bare_secret_keys = st.text(alphabet=st.characters(exclude_characters=":"), min_size=1, max_size=20)
version_values = st.text(alphabet=VALUE_CHARS, min_size=1, max_size=40)
stage_or_version = st.one_of(
    st.just((None, None)), st.tuples(version_values, st.none()), st.tuples(st.none(), version_values)
)
segments = st.text(alphabet=SEGMENT_CHARS, min_size=1, max_size=12)
parameter_names = st.builds(
    lambda rooted, parts: ("/" if rooted else "") + "/".join(parts),
    st.booleans(),
    st.lists(segments, min_size=1, max_size=5),
)
parameter_paths = st.builds(
    lambda parts: "/" + "".join(f"{part}/" for part in parts), st.lists(segments, max_size=4)
)
parameter_arns = st.builds(
    lambda partition, region, account, name: (
        f"arn:{partition}:ssm:{region}:{account}:parameter/{name.removeprefix('/')}"
    ),
    partitions,
    regions,
    accounts,
    parameter_names,
)
selectors = st.one_of(
    st.integers(min_value=1, max_value=10**6).map(str),
    st.text(alphabet=SEGMENT_CHARS, min_size=1, max_size=20),
)
parameter_keys = st.text(alphabet=st.characters(exclude_characters="#"), min_size=1, max_size=20)


@st.composite
def secret_references(draw: st.DrawFn) -> SecretReference:
    """Valid secret references of every form, bare ARNs included."""
    bare = draw(st.booleans())
    if bare:
        secret_id = draw(secret_arns)
        key = draw(st.none() | bare_secret_keys)
    else:
        secret_id = draw(st.one_of(secret_names, secret_arns))
        key = draw(st.none() | secret_keys)
    stage, version = draw(stage_or_version)
    return SecretReference(secret_id, key, stage, version, optional=draw(st.booleans()), bare_arn=bare)


@st.composite
def parameter_references(draw: st.DrawFn) -> ParameterReference:
    """Valid parameter references of every form: names, paths, ARNs and bare ARNs."""
    optional = draw(st.booleans())
    kind = draw(st.sampled_from(["name", "path", "arn", "bare"]))
    if kind == "path":
        return ParameterReference(draw(parameter_paths), optional=optional)
    name = draw(parameter_names) if kind == "name" else draw(parameter_arns)
    selector = draw(st.none() | selectors)
    key = draw(st.none() | parameter_keys)
    return ParameterReference(name, selector, key, optional=optional, bare_arn=kind == "bare")


fuzz_prefixes = st.sampled_from(
    ["secretsmanager:", "ssm:", "optional:", "arn:aws:secretsmanager:", "arn:aws:ssm:", ""]
)
fuzz_texts = st.one_of(
    st.text(),
    st.builds(lambda prefix, rest: prefix + rest, fuzz_prefixes, st.text()),
    st.builds(lambda prefix, rest: prefix + rest, fuzz_prefixes, st.text(alphabet=":#?&=/ab1-")),
)


def check_never_raises_anything_else(text: str) -> None:
    """Parse text and require None, or a reference that round-trips, or InvalidReferenceError."""
    error: InvalidReferenceError | None = None
    reference: Reference | None = None
    try:
        reference = parse_reference(text, "FUZZ")
    except InvalidReferenceError as caught:
        error = caught
    if error is not None:
        assert (error.text, error.variable) == (text, "FUZZ")
        return
    assert reference is None or isinstance(reference, SecretReference | ParameterReference)
    if reference is not None:
        assert parse_reference(format_reference(reference)) == reference


class TestProperties:
    """The reference values' properties and methods, and properties over generated input."""

    @pytest.mark.parametrize(
        ("text", "region"),
        [
            ("secretsmanager:db", None),
            (f"secretsmanager:{SECRET_ARN}", "us-east-1"),
            (f"secretsmanager:{PARTIAL_SECRET_ARN}#k", "eu-west-1"),
            (GOV_SECRET_ARN, "us-gov-west-1"),
            (f"{CN_SECRET_ARN}:k", "cn-north-1"),
            ("ssm:/prod/x", None),
            ("ssm:/prod/", None),
            (f"ssm:{PARAMETER_ARN}", "eu-west-1"),
            (f"{PLAIN_PARAMETER_ARN}:3", "us-east-2"),
        ],
    )
    def test_region_and_is_arn(self, text: str, region: str | None) -> None:
        """The region comes from the ARN; a name carries none and is not an ARN."""
        reference = parse(text)
        assert reference.region == region
        assert reference.is_arn is (region is not None)

    def test_service(self) -> None:
        """Each kind of reference names its service."""
        assert parse("secretsmanager:db").service == "secretsmanager"
        assert parse(SECRET_ARN).service == "secretsmanager"
        assert parse("ssm:/x").service == "ssm"
        assert parse(PARAMETER_ARN).service == "ssm"

    @pytest.mark.parametrize(
        ("text", "is_path"),
        [
            ("ssm:/prod/", True),
            ("ssm:/", True),
            ("ssm:/prod/x", False),
            ("ssm:x", False),
            (PARAMETER_ARN, False),
        ],
    )
    def test_is_path(self, text: str, is_path: bool) -> None:
        """Only `ssm:/PATH/` names a path."""
        reference = parse(text)
        assert isinstance(reference, ParameterReference)
        assert reference.is_path is is_path

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("secretsmanager:db#a", "secretsmanager:db#b"),
            ("secretsmanager:db", "optional:secretsmanager:db#k"),
            ("secretsmanager:db?stage=S#a", "secretsmanager:db#b?stage=S"),
            (f"{SECRET_ARN}:password", f"secretsmanager:{SECRET_ARN}#username"),
            (f"{SECRET_ARN}::AWSPREVIOUS", f"secretsmanager:{SECRET_ARN}?stage=AWSPREVIOUS"),
            (f"{SECRET_ARN}:k::v1", f"optional:secretsmanager:{SECRET_ARN}?version=v1"),
            ("ssm:/x#a", "optional:ssm:/x"),
            ("ssm:/x:3#a", "ssm:/x:3#b"),
            (f"ssm:{PARAMETER_ARN}", f"{PARAMETER_ARN}#k"),
        ],
    )
    def test_target_shared(self, first: str, second: str) -> None:
        """References that differ only by key, optional or bare_arn share one fetch."""
        assert parse(first).target() == parse(second).target()

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("secretsmanager:db", "secretsmanager:db?stage=AWSPREVIOUS"),
            ("secretsmanager:db?stage=S", "secretsmanager:db?version=S"),
            ("secretsmanager:prod/db", f"secretsmanager:{PARTIAL_SECRET_ARN}"),
            ("ssm:/x", "ssm:/x:3"),
            ("ssm:/x:3", "ssm:/x:prod"),
            ("ssm:/x", "ssm:/x/"),
        ],
    )
    def test_target_distinct(self, first: str, second: str) -> None:
        """References to another version, label, or identifier as written do not share a fetch."""
        assert parse(first).target() != parse(second).target()

    def test_target_values(self) -> None:
        """A target holds the identifier and the version selection, and prints as a reference."""
        assert parse("secretsmanager:db#k?stage=S").target() == SecretReference("db", stage="S")
        assert parse(f"{SECRET_ARN}:k::v1").target() == SecretReference(SECRET_ARN, version="v1")
        assert parse("ssm:/x:3#k").target() == ParameterReference("/x", "3")
        assert parse("ssm:/x").target() == ParameterReference("/x")
        assert (
            str(parse(f"optional:{SECRET_ARN}:k::v1").target()) == f"secretsmanager:{SECRET_ARN}?version=v1"
        )
        assert str(parse(f"{PARAMETER_ARN}:2#k").target()) == f"ssm:{PARAMETER_ARN}:2"

    def test_target_of_a_target_is_itself(self) -> None:
        """A reference that is already a target is returned as it is (no copy on the warm path)."""
        ref = parse("ssm:/x:3")
        assert ref.target() is ref

    @pytest.mark.parametrize(
        ("text", "api_name"),
        [
            ("ssm:/x", "/x"),
            ("ssm:/x:3", "/x:3"),
            ("ssm:/x:prod#k", "/x:prod"),
            ("ssm:/prod/", "/prod/"),
            (f"{PARAMETER_ARN}:2#k", f"{PARAMETER_ARN}:2"),
            (f"ssm:{PARAMETER_ARN}", PARAMETER_ARN),
        ],
    )
    def test_api_name(self, text: str, api_name: str) -> None:
        """api_name is the name with its selector, as GetParameters takes it."""
        reference = parse(text)
        assert isinstance(reference, ParameterReference)
        assert reference.api_name() == api_name

    @pytest.mark.parametrize(
        "text", ["secretsmanager:db#k?stage=S", f"{SECRET_ARN}:::v1", "optional:ssm:/x:3#k", PARAMETER_ARN]
    )
    def test_str_is_canonical_text(self, text: str) -> None:
        """str() of a reference is its canonical text."""
        reference = parse(text)
        assert str(reference) == format_reference(reference) == text

    def test_frozen_and_slotted(self) -> None:
        """References are immutable, hashable values without an instance dict."""
        secret = SecretReference("db")
        parameter = ParameterReference("/x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            secret.key = "k"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            parameter.name = "/y"  # type: ignore[misc]
        assert not hasattr(secret, "__dict__")
        assert len({secret, SecretReference("db"), parameter}) == 2

    def test_reference_alias(self) -> None:
        """Reference is the union of the two reference classes."""
        assert isinstance(SecretReference("db"), Reference)
        assert isinstance(ParameterReference("/x"), Reference)
        assert not isinstance("secretsmanager:db", Reference)

    def test_public_names(self) -> None:
        """The module exports exactly its public API, sorted."""
        assert references.__all__ == sorted(references.__all__)
        assert set(references.__all__) == {
            "ParameterReference",
            "Reference",
            "SecretReference",
            "format_reference",
            "looks_like_reference",
            "parse_reference",
        }

    @given(st.one_of(secret_references(), parameter_references()))
    def test_format_round_trips(self, reference: Reference) -> None:
        """Every valid reference parses back from its canonical text."""
        assert parse_reference(format_reference(reference)) == reference

    @given(fuzz_texts)
    def test_parser_raises_only_invalid_reference_error(self, text: str) -> None:
        """Any string parses to None or a reference, or raises InvalidReferenceError, nothing else."""
        check_never_raises_anything_else(text)

    @given(fuzz_texts)
    def test_plain_prefix_means_plain(self, text: str) -> None:
        """A string that does not look like a reference is a plain value."""
        if not looks_like_reference(text):
            assert parse_reference(text) is None

    @pytest.mark.fuzz
    @settings(max_examples=20000, deadline=None)
    @given(fuzz_texts)
    def test_parser_fuzz_many_examples(self, text: str) -> None:
        """Over many examples, the parser raises nothing but InvalidReferenceError."""
        check_never_raises_anything_else(text)
