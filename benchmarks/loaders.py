"""The loaders compared, each in its own best documented use, and how each is made cold or warm.

Every loader ends with the same thing: a validated pydantic object holding the 40 values of the
configuration (`scenario.EXPECTED`). Three states are measured:

- cold: what a fresh process (a new Lambda sandbox) pays: new boto3 sessions and clients, empty caches;
- cold cache, clients reused: the loader's cache is empty but its clients survive (a refresh after a TTL);
- warm: a load right after another one, served from the loader's cache where it has one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from pydantic_aws_settings import (
    AWSBaseSettings,
    AWSSettingsConfigDict,
    clear_cache,
)
from pydantic_aws_settings._state import reset as reset_process_state
from scenario import (
    EXPECTED,
    JSON_KEY,
    JSON_SECRETS,
    PARAMETER_NAMES,
    PATH,
    PS_SECRET_NAMES,
    SECRET_NAMES,
    SENSITIVE,
)

if TYPE_CHECKING:
    from collections.abc import Callable

#: The Powertools cache age used for warm loads: the same as our default TTL.
POWERTOOLS_MAX_AGE = 300
#: A role for the "with a role" row; moto lets anyone assume any role.
ROLE_ARN = "arn:aws:iam::123456789012:role/bench-config-reader"


def _annotations() -> dict[str, Any]:
    """The 40 fields: SecretStr for SecureStrings and secrets, str for the rest."""
    return {name: SecretStr if name in SENSITIVE else str for name in EXPECTED}


def _model(name: str, base: type[BaseModel], config: SettingsConfigDict | None = None) -> Any:
    """A class with the 40 fields on `base`, with `config` as its model_config."""
    namespace: dict[str, Any] = {"__annotations__": _annotations(), "__module__": __name__}
    if config is not None:
        namespace["model_config"] = config
    return type(name, (base,), namespace)


Ours = _model("Ours", AWSBaseSettings, SettingsConfigDict(env_prefix="BENCH_"))
OursWithRole = _model(
    "OursWithRole",
    AWSBaseSettings,
    AWSSettingsConfigDict(env_prefix="BENCH_", aws_role_arn=ROLE_ARN),
)
Plain = _model("Plain", BaseSettings, SettingsConfigDict(env_prefix="PLAIN_"))
#: What a Powertools user builds from the values it fetched: a plain pydantic model.
Model = _model("Model", BaseModel)


class PydanticSettingsSources(BaseSettings):
    """pydantic-settings' own AWS sources: one SSM path source and one source per secret."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the parameters below PATH, then each secret (a JSON object)."""
        from pydantic_settings import AWSSecretsManagerSettingsSource, AWSSystemsManagerSettingsSource

        return (
            init_settings,
            AWSSystemsManagerSettingsSource(settings_cls, PATH),
            *(AWSSecretsManagerSettingsSource(settings_cls, name) for name in PS_SECRET_NAMES),
        )


PydanticSettingsAWS = _model("PydanticSettingsAWS", PydanticSettingsSources)


def _powertools() -> Any:
    from aws_lambda_powertools.utilities import parameters

    return parameters


def _field_values(params: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    """Map what Powertools returned (by AWS name) onto the fields; read the key of the JSON secrets."""
    values: dict[str, Any] = {f"p{i:02d}": params[name] for i, name in enumerate(PARAMETER_NAMES)}
    for i, name in enumerate(SECRET_NAMES):
        value = secrets[name]
        values[f"s{i:02d}"] = json.loads(value)[JSON_KEY] if i < JSON_SECRETS else value
    return values


def powertools_batch() -> BaseModel:
    """Powertools' most efficient use: get_parameters_by_name (decrypting all) + get_secrets_by_name."""
    parameters = _powertools()
    params = parameters.get_parameters_by_name(
        {name: {} for name in PARAMETER_NAMES}, decrypt=True, max_age=POWERTOOLS_MAX_AGE
    )
    secrets = parameters.get_secrets_by_name(SECRET_NAMES, max_age=POWERTOOLS_MAX_AGE)
    return Model(**_field_values(params, secrets))


def powertools_get_secret() -> BaseModel:
    """Powertools as most code uses it: get_parameters_by_name + one get_secret per secret."""
    parameters = _powertools()
    params = parameters.get_parameters_by_name(
        {name: {} for name in PARAMETER_NAMES}, decrypt=True, max_age=POWERTOOLS_MAX_AGE
    )
    secrets = {name: parameters.get_secret(name, max_age=POWERTOOLS_MAX_AGE) for name in SECRET_NAMES}
    return Model(**_field_values(params, secrets))


def powertools_cold() -> None:
    """Drop Powertools' default providers: new sessions, clients and caches, as in a new process."""
    _powertools().clear_caches()


def powertools_cache_only() -> None:
    """Empty the default providers' caches, keeping their clients."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    for provider in DEFAULT_PROVIDERS.values():
        provider.clear_cache()


def boto3_default_session_reset() -> None:
    """Drop boto3's default session, which pydantic-settings' sources build their clients from."""
    import boto3

    boto3.DEFAULT_SESSION = None


@dataclass(frozen=True)
class Loader:
    """One configuration of one library.

    Attributes:
        key: a short id.
        label: how the report names it.
        load: one load, returning the settings object.
        cold: prepare a cold load (new clients, empty cache); None when it does not apply.
        cache_only: empty the cache but keep the clients; None when it does not apply.
        warm: whether a warm load is measured; `warm_note` says what it means for this loader.
        warm_note: what a warm load does, when it is not "served from the cache".
    """

    key: str
    label: str
    load: Callable[[], Any]
    cold: Callable[[], None] | None
    cache_only: Callable[[], None] | None
    warm: bool = True
    warm_note: str = ""


LOADERS: list[Loader] = [
    Loader("ours", "pydantic-aws-settings", Ours, reset_process_state, clear_cache),
    Loader(
        "ours_role",
        "pydantic-aws-settings, with a role",
        OursWithRole,
        reset_process_state,
        None,
        warm=False,
    ),
    Loader(
        "pt_batch",
        "Powertools: get_parameters_by_name + get_secrets_by_name",
        powertools_batch,
        powertools_cold,
        powertools_cache_only,
    ),
    Loader(
        "pt_single",
        "Powertools: get_parameters_by_name + get_secret x10",
        powertools_get_secret,
        powertools_cold,
        powertools_cache_only,
    ),
    Loader(
        "ps_aws",
        "pydantic-settings AWS sources (1 SSM path + 10 secrets)",
        PydanticSettingsAWS,
        boto3_default_session_reset,
        None,
        warm_note="no cache: every load fetches again",
    ),
    Loader("plain", "plain pydantic-settings, values in env", Plain, None, None),
]

__all__ = ["LOADERS", "Loader", "Ours", "Plain"]
