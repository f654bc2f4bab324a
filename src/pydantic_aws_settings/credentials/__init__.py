"""botocore sessions and clients for fetching: the default chain, or an assumed role that refreshes itself.

The only package that touches botocore internals. Sessions and clients are built once per process (they
belong to one `ClientRegistry`, see `registry()`) and reused by every load and thread (botocore clients
are thread-safe; sessions are built under a lock).
The clients are botocore's own, built without boto3's session layer: boto3 is a wrapper around the same
clients, and importing and setting it up would add tens of milliseconds to a cold start for nothing the
fetchers use. A role's session shares the base session's data loader, so that the service models and
endpoint data are read and parsed once per process, not once per session.

Without a role, a session is boto3's default chain, unchanged: environment keys, a shared-config
profile, web identity, container credentials, the EC2 instance metadata service. Its credentials are
resolved once per session (botocore keeps them, and refreshes the temporary ones itself).

With a role (`PYDANTIC_AWS_ROLE_ARN`, or `aws_role_arn` in `model_config` or as a keyword), the session's
credentials are botocore's `DeferredRefreshableCredentials` whose refresh calls STS AssumeRole, at the
regional endpoint, signed with the default chain's credentials. The role is assumed on first use, once per
process per identity (role, external id, session name, duration, base credentials): the AssumeRole leaves
as soon as the session is built, and travels while the clients are built. Refresh follows
botocore's two windows: inside the *advisory* window one thread refreshes while the others keep signing
with the current credentials (a failed refresh is logged and ignored); inside the *mandatory* window every
caller waits for the refresh, and a failure fails the request of every caller that waited for it or
belongs to the same load (they do not each call STS again), so no request is signed with credentials about
to expire. For the default hour
the windows are botocore's (15 and 10 minutes); shorter sessions scale them (a quarter and a sixth of the
duration), so that a 15-minute session is refreshed after about 11 minutes instead of on every call.

When credentials cannot be obtained (the chain finds none, STS denies AssumeRole, a web identity token
has expired, ...), the error raised inside botocore is a `CredentialsError`: it keeps AWS's error code
(or the kind of failure) and its message says which provider or role was tried and what to do. The
fetchers report it like any AWS error, so it reaches the load's `ResolutionError`.
"""

from pydantic_aws_settings.credentials._ahead import PREFETCH_VALID, for_load
from pydantic_aws_settings.credentials._explain import CredentialsError
from pydantic_aws_settings.credentials._identity import Identity, identity_for
from pydantic_aws_settings.credentials._sessions import ClientRegistry, client_for, registry, reset

__all__ = [
    "PREFETCH_VALID",
    "ClientRegistry",
    "CredentialsError",
    "Identity",
    "client_for",
    "for_load",
    "identity_for",
    "registry",
    "reset",
]
