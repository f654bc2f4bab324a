"""`AWSSettingsSource` and `AWSBaseSettings`: fields, environment, dotenv, import and markers, by precedence.

How a load works, in one pass:

1. The operator sources (by default pydantic-settings' own environment and dotenv sources, with every
   option they were built with) are scanned for the variables that feed a field. A value that is a
   reference is noted; any other value stays as it is (`_plan`).
2. `PYDANTIC_AWS_IMPORT` and the `Annotated` markers add their references. A marker is skipped when an
   init argument or an operator source supplies its field (`_plan`).
3. Every reference of the load goes to the resolver at once: one concurrent wave of batched requests
   (or none, when the cache has them all).
4. Each reference's text is replaced by what it resolved to (a `#KEY` extracted, a StringList turned into
   a JSON list for a list field, a path into a JSON object), and pydantic-settings' own sources run on the
   replaced values, so aliases, prefixes, nesting and JSON decoding behave exactly as without AWS
   (`_apply`, then `_source`).
5. Every failure is reported together in one `ResolutionError`.

Precedence, highest first: init arguments > environment > dotenv > (secrets directory) >
`PYDANTIC_AWS_IMPORT` > markers > defaults.

The modules: `_source` (the source and `AWSBaseSettings`) and `_report` (what a load tells its callers)
are imported with the package; `_plan`, `_apply`, `_origins`, `_compat` (every pydantic-settings
private API) and `_memo` (pydantic-settings' per-field facts, remembered across loads) on a source's
first load.
"""

from pydantic_aws_settings.source._report import (
    LoadReport,
    Origin,
    PlannedReference,
    recording,
    recording_origins,
)
from pydantic_aws_settings.source._source import AWSBaseSettings, AWSSettingsSource, aws_sources_of

__all__ = [
    "AWSBaseSettings",
    "AWSSettingsSource",
    "LoadReport",
    "Origin",
    "PlannedReference",
    "aws_sources_of",
    "recording",
    "recording_origins",
]
