"""Values that are not references but look like misspelt ones: an operator's mistake, not a value.

`near_miss(text)` says why a value that the grammar would take as plain probably meant a reference, and
which form: `SSM:/x` and `ssm;/x` meant `ssm:`, `secretmanager:db` meant `secretsmanager:`, an
`arn:aws:secretmanager:...` or an SSM ARN of a `parameters/...` resource meant a secret or parameter ARN.
`references.parse_reference` raises `InvalidReferenceError` with that reason, so the value is never used
as plain text; writing `plain:` before it (`references.ESCAPE`) passes it through as it is.

Near misses (a name in any case, with `-`, `_` or a space inside, then `:` or `;` and no space):

- `secretsmanager` with at most two letters wrong, missing, extra or swapped, `aws-secretsmanager`:
  meant `secretsmanager:`;
- `ssm`, `aws-ssm`, `parameter`, `parameters`, `parameter-store`, `ssm-parameter`, `systems-manager`,
  and `parameter` with one letter off: meant `ssm:`;
- `optional` with one letter off: meant `optional:`;
- a reference prefix after quotes or whitespace (`"ssm:x"`, ` ssm:x`): meant the prefix alone;
- `arn:` (any case) of a service spelt like `secretsmanager` that does not parse (an unknown partition,
  a misspelt service): meant a secret ARN;
- `arn:` (any case) of `ssm` whose resource is `parameter` or `parameters` and that does not parse:
  meant a parameter ARN.

Deliberately plain: `ssm` and `secretsmanager` alone, `sm:`, `sms:` (a URI scheme), `ssmx:`, `param:`,
URLs (`https://`, `postgres://`), and ARNs of every other service or SSM resource.
"""

from __future__ import annotations

import functools
import re

from pydantic_aws_settings.references import _PARTITIONS

__all__ = ["near_miss"]

#: Leading quotes or whitespace, a name of letters (with `-`, `_` or spaces inside) and a separator that
#: whitespace does not follow (`Optional: set this` is prose, not a reference).
_HEAD = re.compile(r"([\s\"']*)([A-Za-z][A-Za-z_ -]{0,39})([:;])(?!\s)")
_PARAMETER_RESOURCE = re.compile(r"(?:^|:)parameters?(?:$|[:/])", re.IGNORECASE)
_SSM_NAMES = frozenset(
    {
        "ssm",
        "parameter",
        "parameters",
        "parameterstore",
        "ssmparameter",
        "ssmparameters",
        "ssmparameterstore",
        "systemsmanager",
        "systemsmanagerparameterstore",
    }
)
_SECRET_SHAPE = "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME"  # noqa: S105 - not a password
_PARAMETER_SHAPE = "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME"
_ESCAPE_HINT = "or write `plain:` before the value to use it as it is"


def near_miss(text: str) -> str | None:
    """Why a value that is not a reference looks like a misspelt one, naming the form it probably meant.

    Imported only when a value starts like a near miss (`references._STARTS`: its first two characters
    are those of a name below, or quotes or whitespace), so that the package's import does not pay for it.

    Args:
        text: a value that does not start with a reference prefix (or a bare ssm ARN that does not name
            a parameter).

    Returns:
        The reason (`` `SSM:` is not a reference prefix: did you mean `ssm:`? ``), or `None` when the
        value is plain.
    """
    head = _HEAD.match(text)
    if head is None:
        return None
    lead, name, separator = head.groups()
    if name.lower() == "arn" and separator == ":":
        return _arn_problem(text[len(lead) :], lead)
    meant = _meant(name)
    if meant is None:
        return None
    written = f"{name}{separator}"
    if lead and written == meant:
        return f"{_lead_words(lead)} before `{meant}`: remove {_pronoun(lead)}, {_ESCAPE_HINT}"
    return f"`{lead}{written}` is not a reference prefix: did you mean `{meant}`? ({_ESCAPE_HINT})"


def _lead_words(lead: str) -> str:
    quotes = any(char in "\"'" for char in lead)
    spaces = any(char.isspace() for char in lead)
    return " and ".join(words for words, found in (("quotes", quotes), ("whitespace", spaces)) if found)


def _pronoun(lead: str) -> str:
    return "them" if any(char in "\"'" for char in lead) else "it"


@functools.lru_cache(maxsize=256)
def _meant(name: str) -> str | None:
    """The reference prefix a name (what precedes `:` or `;`) probably meant, or `None`."""
    normal = name.lower().replace("-", "").replace("_", "").replace(" ", "")
    if normal.startswith("aws") and len(normal) > 3:
        normal = normal[3:]
    if normal in _SSM_NAMES or (len(normal) >= 8 and _distance(normal, "parameter", 1) <= 1):
        return "ssm:"
    if len(normal) >= 10 and _distance(normal, "secretsmanager", 2) <= 2:
        return "secretsmanager:"
    if len(normal) >= 7 and _distance(normal, "optional", 1) <= 1:
        return "optional:"
    return None


def _service(service: str) -> str | None:
    """`secretsmanager` or `ssm` for a service name written in an ARN (misspelt or not), else `None`."""
    normal = service.lower().replace("-", "").replace("_", "")
    if normal == "ssm":
        return "ssm"
    if len(normal) >= 10 and _distance(normal, "secretsmanager", 2) <= 2:
        return "secretsmanager"
    return None


def _arn_problem(arn: str, lead: str) -> str | None:
    """Why an ARN of (something like) Secrets Manager or SSM is not a secret or parameter ARN, or `None`.

    Called for ARNs the grammar does not parse: every other ARN, every ssm ARN of a resource other than
    a parameter, is plain.
    """
    parts = arn.split(":", 5)
    if len(parts) < 4:
        return None
    service = _service(parts[2])
    if service is None:
        return None
    resource = ":".join(parts[3:])
    if service == "ssm" and _PARAMETER_RESOURCE.search(resource) is None:
        return None
    shape = _SECRET_SHAPE if service == "secretsmanager" else _PARAMETER_SHAPE
    if parts[0] != "arn":
        why = f"`{parts[0]}:` must be written `arn:`"
    elif parts[1] not in _PARTITIONS:
        why = f"unknown partition {parts[1]!r}"
    elif parts[2] != service:
        why = f"the service is spelt `{service}`, not {parts[2]!r}"
    elif lead:
        return f"{_lead_words(lead)} before an ARN: remove {_pronoun(lead)}, {_ESCAPE_HINT}"
    else:
        why = "malformed ARN"
    kind = "secret" if service == "secretsmanager" else "parameter"
    return f"looks like a {kind} ARN but is not one: {why} (expected {shape}; {_ESCAPE_HINT})"


def _distance(text: str, target: str, limit: int) -> int:
    """The optimal string alignment distance of two strings, or `limit + 1` once it is past `limit`."""
    if abs(len(text) - len(target)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(target) + 1))
    for i, char in enumerate(text, 1):
        current = [i] + [0] * len(target)
        for j, wanted in enumerate(target, 1):
            cost = 0 if char == wanted else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char == target[j - 2] and text[i - 2] == wanted:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]
