"""A role's credentials: botocore's deferred refreshable credentials whose refresh is AssumeRole.

The only module of the package that imports botocore when it is imported: it is imported when the first
role session is built.
"""

from __future__ import annotations

import datetime
import threading
from typing import TYPE_CHECKING, Any

from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)

from pydantic_aws_settings.credentials._ahead import current_load
from pydantic_aws_settings.credentials._explain import CredentialsError, _role_failed

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_aws_settings.credentials._identity import Identity

__all__ = ["installed"]


def _refresh_windows(duration: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry: botocore's 15 and 10 minutes, scaled down if short."""
    return min(15 * 60, duration // 4), min(10 * 60, duration // 6)


def _assume_role(
    sts: Any, identity: Identity, method: str | None, clock: Callable[[], datetime.datetime]
) -> Callable[[], dict[str, str]]:
    """The refresh function of a role's credentials: one AssumeRole, explained when it fails."""
    kwargs: dict[str, Any] = {
        "RoleArn": identity.role_arn,
        "RoleSessionName": identity.session_name or "pydantic-aws-settings",
        "DurationSeconds": identity.duration or 3600,
    }
    if identity.external_id:
        kwargs["ExternalId"] = identity.external_id

    def assume_role() -> dict[str, str]:
        try:
            credentials = sts.assume_role(**kwargs)["Credentials"]
        except Exception as exc:
            raise _role_failed(identity, method, exc) from exc
        # STS states the expiry on AWS's clock; the windows are measured on `clock`, so the expiry is
        # restated as a lifetime from `clock` (the same instant, unless a test replaced the clock).
        lifetime = credentials["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": (clock() + lifetime).isoformat(),
        }

    return assume_role


class _RoleCredentials(DeferredRefreshableCredentials):
    """A role's credentials, refreshed by AssumeRole inside windows scaled to the session's duration.

    For the default hour the windows are botocore's (15 and 10 minutes); shorter sessions scale them (see
    `_refresh_windows`). A load's fetches share a failed mandatory refresh instead of each refreshing
    again: botocore lets every caller blocked in the mandatory window refresh again, one after another,
    once the refresh it waited for has failed, so with STS down the concurrent fetches of one load would
    each spend a whole retry budget on AssumeRole in turn (that many times the requests and the time
    bound). Here a caller gets the error of the last failed refresh instead when it arrived while that
    refresh was running, or when it sends a request of the same load (`for_load`) as the caller that
    failed; a caller of a later load tries again.

    Attributes:
        failures: how many mandatory refreshes have failed (read and written under botocore's lock).
        last_error: the last failure's `CredentialsError` arguments (not the exception, whose traceback
            would keep the failing load's frames alive), or None.
        last_load: the load whose refresh failed last, or None.
    """

    def __init__(
        self,
        refresh_using: Callable[[], dict[str, str]],
        duration: int,
        time_fetcher: Callable[[], datetime.datetime],
    ) -> None:
        super().__init__(refresh_using=refresh_using, method="assume-role", time_fetcher=time_fetcher)
        # The attributes RefreshableCredentials sets from its `advisory_timeout` and `mandatory_timeout`
        # arguments, which DeferredRefreshableCredentials does not take.
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = _refresh_windows(duration)
        self.failures = 0
        self.last_error: tuple[str, str, str | None] | None = None
        self.last_load: object | None = None
        self._arrived = threading.local()  # per caller: how many refreshes had failed when it arrived

    def _refresh(self) -> None:
        self._arrived.failures = self.failures
        # botocore-stubs leave out the private refresh methods this class overrides.
        super()._refresh()  # type: ignore[misc]

    def _protected_refresh(self, is_mandatory: bool) -> None:  # botocore calls it with its lock held
        count, error, load = self.failures, self.last_error, self.last_load
        mine = current_load()
        waited = getattr(self._arrived, "failures", count) != count
        if is_mandatory and error is not None and (waited or (mine is not None and mine is load)):
            raise CredentialsError(*error)
        try:
            super()._protected_refresh(is_mandatory)  # type: ignore[misc]  # not in botocore-stubs either
        except CredentialsError as exc:
            self.failures = count + 1
            self.last_error = (exc.code, exc.message, exc.operation_name)
            self.last_load = mine
            raise


class _Given(CredentialProvider):
    """A botocore credential provider that gives credentials built beforehand."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-pydantic-aws-settings"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        """The credentials given."""
        return self._credentials


def installed(credentials: Credentials) -> CredentialResolver:
    """A session's `credential_provider` component whose only provider gives `credentials`.

    botocore's public way to give a session credentials it does not find itself: `Session.get_credentials`
    asks this component on first use and keeps what it returns.
    """
    return CredentialResolver([_Given(credentials)])
