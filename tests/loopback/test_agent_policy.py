"""`iam-policy` behind a node-local cache: the cache's role reads what it serves; the process the rest."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from test_cli import ACCOUNT, OPERATOR_ENV, app, run_cli, statements

from pydantic_aws_settings.policy import agent_policies
from pydantic_aws_settings.references import parse_reference

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["app"]  # the fixture, used by the tests here

SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret"
PARAMETERS = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"


class TestAgentPolicy:
    """What each cache's role needs, and that the process needs none of it."""

    def test_secrets_manager_agent(self, app: Path, aws_proxy: Any) -> None:
        """The agent's role: GetSecretValue and DescribeSecret on each secret; the process: parameters."""
        result = run_cli(
            "iam-policy", "appcfg:Settings", "--account", ACCOUNT, "--agent", cwd=app, env=OPERATOR_ENV
        )
        assert result.returncode == 0, result.stderr
        output = json.loads(result.stdout)
        agent, process = statements(output["Agent"]), statements(output["Process"])
        assert agent == {
            "AgentReadSecrets": (
                ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                [f"{SECRETS}:app/api-??????", f"{SECRETS}:app/db-??????"],
                None,
            ),
            "DecryptViaSecretsManagerAndSSM": (
                ["kms:Decrypt"],
                [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"],
                {"StringEquals": {"kms:ViaService": ["secretsmanager.us-east-1.amazonaws.com"]}},
            ),
        }
        assert set(process) == {"ReadParameters", "ReadParameterPaths", "DecryptViaSecretsManagerAndSSM"}
        assert not any(
            action.startswith("secretsmanager:") for actions, _, _ in process.values() for action in actions
        )
        assert "fall back" in result.stderr
        assert aws_proxy.counts == {}

    def test_lambda_extension_from_the_url_variable(self, app: Path, aws_proxy: Any) -> None:
        """`--agent lambda`: single parameters are the extension's; only the path is the process's.

        PYDANTIC_AWS_AGENT_URL alone switches the two-policy output on (as the Secrets Manager Agent).
        """
        env = {**OPERATOR_ENV, "PYDANTIC_AWS_AGENT_URL": "http://localhost:2773"}
        result = run_cli(
            "iam-policy", "appcfg:Settings", "--account", ACCOUNT, "--agent", "lambda", cwd=app, env=env
        )
        assert result.returncode == 0, result.stderr
        output = json.loads(result.stdout)
        agent, process = statements(output["Agent"]), statements(output["Process"])
        assert agent["AgentReadParameters"] == (
            ["ssm:GetParameter"],
            [f"{PARAMETERS}/app/feature", f"{PARAMETERS}/app/signing", f"{PARAMETERS}/app/url"],
            None,
        )
        assert agent["ReadSecrets"][0] == ["secretsmanager:GetSecretValue"]
        assert set(process) == {"ReadParameterPaths", "DecryptViaSecretsManagerAndSSM"}
        default = run_cli("iam-policy", "appcfg:Settings", cwd=app, env=env)
        assert set(json.loads(default.stdout)) == {"Agent", "Process"}

    @pytest.mark.parametrize("kind", ["agent", "lambda"])
    def test_process_needs_nothing_when_the_cache_serves_everything(self, kind: str) -> None:
        """Secrets only: the process's policy has no statement, and no role to assume is granted."""
        refs = [parse_reference("secretsmanager:prod/db"), parse_reference("secretsmanager:prod/api?stage=X")]
        cache, process = agent_policies(
            [r for r in refs if r is not None],
            kind=kind,
            region="us-east-1",
            role_arn="arn:aws:iam::1:role/x",
        )
        assert process["Statement"] == []
        assert [s["Sid"] for s in cache["Statement"]][-1] == "DecryptViaSecretsManagerAndSSM"

    def test_an_arn_of_another_region_is_the_process_s(self) -> None:
        """The cache asks in its own region: an ARN of another region is fetched, and granted, directly."""
        ref = parse_reference(f"secretsmanager:arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:x-AbCdEf")
        assert ref is not None
        cache, process = agent_policies([ref], region="us-east-1")
        assert cache["Statement"] == []
        assert {s["Sid"] for s in process["Statement"]} >= {"ReadSecrets"}
