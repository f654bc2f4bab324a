"""The errors of pydantic-aws-settings.

Every error the library raises derives from one root, which is a `pydantic_settings.SettingsError` (and so
a `ValueError`), so an application that already handles pydantic-settings' errors handles ours too:

```
ValueError
 └── pydantic_settings.SettingsError
      └── AWSSettingsError                  root of this library
           ├── InvalidReferenceError        a malformed reference, or a near miss (a misspelt prefix)
           └── ResolutionError              every failure of one load, gathered
```

botocore's two roots (`BotoCoreError`, `ClientError`) never escape a load: each is recorded as a
`Failure` (with its AWS error code, or the kind of failure when AWS was not reached), and the failures
of a load are raised together in one `ResolutionError`. Since one error reports many failures, none of
them is chained as its `__cause__`.

No message built here contains a value fetched from AWS: only field names, variable names, references
and error codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_settings import SettingsError

__all__ = ["AWSSettingsError", "Failure", "InvalidReferenceError", "ResolutionError"]


class AWSSettingsError(SettingsError):
    """Root of every error raised by pydantic-aws-settings."""


class InvalidReferenceError(AWSSettingsError):
    """A string has the form of a reference (`secretsmanager:`, `ssm:`, `optional:`, an ARN) but is malformed.

    Also raised for a near miss, a string that looks like a misspelt reference (`SSM:x`, `ssm;x`,
    `secretmanager:x`, a quoted reference): its reason names the form it probably meant, and the escape
    `plain:TEXT` that passes such a text through as a plain value.

    Attributes:
        text: the reference as written.
        reason: what is wrong with it.
        variable: the environment variable (or other origin) it came from, when known.
    """

    def __init__(self, text: str, reason: str, variable: str | None = None) -> None:
        self.text = text
        self.reason = reason
        self.variable = variable
        where = f"{variable}: " if variable else ""
        super().__init__(f"{where}malformed reference {text!r}: {reason}")


@dataclass(frozen=True)
class Failure:
    """One reference that could not be resolved in a load.

    Attributes:
        field: the settings field, dotted for nested fields (`database.password`).
        variable: where the reference came from, spelled as the user spelled it (`APP_DB_PASSWORD`,
            `.env: APP_DB_PASSWORD`, `PYDANTIC_AWS_IMPORT`, `declared on Settings.db_password`).
        reference: the reference as written.
        code: the AWS error code (`ResourceNotFoundException`, `AccessDeniedException`, ...), or the kind
            of failure when AWS was not reached or answered something unusable (`EndpointConnectionError`,
            `ReadTimeoutError`, `KeyNotFound`, `InvalidJSON`, `InvalidReference`, `WholeJSONObject`,
            `NoRegion`).
        detail: a short explanation without any fetched value: for a reference that does not exist, where
            it was looked for (`secret prod/db not found in region eu-west-1 (account unknown),
            credentials from environment variables`); for a missing `#KEY` or a whole JSON object, the
            object's key names (never its values).
    """

    field: str
    variable: str
    reference: str
    code: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self._where()}: {self.code}{detail}"

    def _where(self) -> str:
        return f"{self.field} (from {self.variable} = {self.reference!r})"


class ResolutionError(AWSSettingsError):
    """Every reference of one settings load that could not be resolved, reported together.

    Attributes:
        failures: one `Failure` per field and reference: malformed references first, then those that
            could not be fetched or used.
        settings_name: the settings class that was being loaded.
    """

    def __init__(self, failures: list[Failure], settings_name: str = "settings") -> None:
        self.failures = list(failures)
        self.settings_name = settings_name
        count = len(self.failures)
        noun = "reference" if count == 1 else "references"
        lines = "\n".join(_lines(self.failures))
        super().__init__(f"{count} {noun} of {settings_name} could not be resolved:\n{lines}")


#: A detail at least this long, shared by several failures, is written once, as a numbered note.
_NOTE_LENGTH = 60


def _lines(failures: list[Failure]) -> list[str]:
    """One line per failure; a long detail that several share (a role that cannot be assumed) once, below.

    A failure of the credentials fails every fetch of the load with the same explanation, a few lines
    long: written on each field's line, it would bury the fields.
    """
    seen: dict[str, int] = {}
    for failure in failures:
        if len(failure.detail) >= _NOTE_LENGTH:
            seen[failure.detail] = seen.get(failure.detail, 0) + 1
    notes = {detail: number for number, detail in enumerate((d for d, n in seen.items() if n > 1), 1)}
    lines = []
    for failure in failures:
        number = notes.get(failure.detail)
        if number is None:
            lines.append(f"  {failure}")
        else:
            lines.append(f"  {failure._where()}: {failure.code} (see [{number}])")
    lines += [f"  [{number}] {detail}" for detail, number in notes.items()]
    return lines
