"""A node-local cache as the backend of a load: the Secrets Manager Agent's HTTP API, AWS behind it.

With `PYDANTIC_AWS_AGENT_URL` set, the resolver plans a service's targets here instead of with the
service's own fetcher. Secrets go to `GET {url}/secretsmanager/get`, single parameters to
`GET {url}/systemsmanager/parameters/get` (the Lambda extension serves that route; the Secrets Manager
Agent answers 404, remembered per URL, and those parameters then go to AWS in batches), one request per
distinct target, run concurrently by the resolver, with the token header and the load's timeouts, on
kept-alive connections that the requests share and the last of them closes (`_agent_http`).
`ssm:/PATH/` always goes to AWS, and so does an ARN whose region is not the configured one (the cache
asks AWS in its own region). Only the standard library's `http.client`: a load the agent serves
wholly imports no botocore and needs no AWS credentials.

Per target, the agent's answer decides:
- 200: the value, once checked to be the secret, parameter, version, stage or label asked for.
- unreachable (refused, timeout, a broken answer), 429 or 5xx: that target goes to AWS with the service's
  own fetcher; one WARNING when the agent becomes unreachable, one INFO when it answers again. For
  `RETRY_AFTER` seconds after such a failure, loads go to AWS (batched) without asking the agent.
- 404 on the parameter route: the cache has no such route; the target goes to AWS.
- an AWS error it relays (`{"__type": ...}`): that error, as if AWS had answered it.
- 400 with the Lambda extension's generic text (which it answers for a name that does not exist as well
  as under load): the target goes to AWS, whose answer is definite.
- 403 (token refused) or any other refusal: a failure whose message names the variable to fix.

The library's cache, single flight, refresh-ahead and stale-if-error are above this module: they see an
outcome per target, whichever way it was fetched.
"""

from __future__ import annotations

import functools
import http.client
import logging
import urllib.parse
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings._state import state
from pydantic_aws_settings.fetch import Outcome, failure_from_exception, incomplete
from pydantic_aws_settings.fetch._agent_answers import URL_VARIABLE as _URL
from pydantic_aws_settings.fetch._agent_answers import aws_error, bad_token, no_token, refused, value_of
from pydantic_aws_settings.fetch._agent_config import TOKEN_FILE, Agent, agent_for
from pydantic_aws_settings.fetch._agent_http import TOKEN_HEADER, Connections
from pydantic_aws_settings.fetch._agent_memory import RETRY_AFTER

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pydantic_aws_settings.fetch import Fetcher, Request
    from pydantic_aws_settings.options import Options

__all__ = ["RETRY_AFTER", "TOKEN_FILE", "TOKEN_HEADER", "Agent", "agent_for", "plan"]

_log = logging.getLogger("pydantic_aws_settings")

#: The Lambda extension's one text for a 400, whether the name does not exist or it failed under load.
_GENERIC_400 = "an unexpected error occurred"


def plan(
    fetcher: Fetcher, client: Callable[[], Any], targets: Sequence[Any], options: Options
) -> Iterator[Request]:
    """Plan a service group's targets: one agent request per target it serves, the rest as `fetcher` plans.

    Args:
        fetcher: the service's own fetcher, for the targets that go to AWS.
        client: builds the service's client; called only when something goes to AWS.
        targets: the group's targets, all of one service.
        options: the load's options (`agent_url` set).
    """
    agent = agent_for(options)
    unique = list(dict.fromkeys(targets))
    memory = state().agents
    connections = memory.connections(
        agent,
        lambda: Connections(agent.url, agent.token or "", agent.connect_timeout, agent.read_timeout),
        1,  # the plan's own hold, so that the probe's connection stays open for the askers
    )
    try:
        probed, answer = _probe(agent, connections, unique, options)
        no_route = memory.has_no_parameter_route(agent.url)
        resting = memory.resting(agent.url)
        # Paths, parameters when the cache has no such route, and ARNs of another region than the node's
        # go to AWS (the cache asks in its own region); everything does while the agent rests after a
        # failure; and so does the probed parameter if the probe did not answer it.
        direct = [
            t
            for t in unique
            if resting
            or (t.service == "ssm" and (t.is_path or no_route))
            or not _same_region(t, options)
            or (t == probed and answer is None)
        ]
        if answer is not None:
            yield lambda: answer
        asked = [t for t in unique if t not in direct and t != probed]
        fallback = functools.partial(_from_aws, fetcher, client)
        if asked:
            # As many askers as the load may run at once, each with its share of the targets, on the
            # kept-alive connections that every asker of this agent shares.
            askers = min(options.max_workers, len(asked))
            rest = functools.partial(_rest_from_aws, fetcher, client)
            connections.join(askers)
            for share in range(askers):
                yield functools.partial(_asker, agent, connections, asked[share::askers], fallback, rest)
        if direct:
            yield from _aws_requests(fetcher, client, direct)
    finally:
        connections.done()


def _same_region(target: Any, options: Options) -> bool:
    return target.region is None or options.region is None or target.region == options.region


class _ToAWS(Exception):
    """The probe's target goes to AWS (the agent has no parameter route, or did not answer)."""


def _to_aws(target: Any) -> Outcome:
    raise _ToAWS


def _probe(
    agent: Agent, connections: Connections, targets: list[Any], options: Options
) -> tuple[Any, dict[Any, Outcome] | None]:
    """Ask for the first parameter alone while the agent's parameter route is unknown.

    The Secrets Manager Agent has no parameter route: without the probe, a new process's first load would
    send every parameter to it, meet as many 404s, and fetch each parameter from AWS alone. With it, one
    404, and the parameters go to AWS in batches. The Lambda extension answers the probe with the value.

    Returns:
        the probed target (None: no probe) and its outcome (None: it goes to AWS).
    """
    memory = state().agents
    if agent.token is None or memory.knows_parameter_route(agent.url) or memory.resting(agent.url):
        return None, None
    first = next(
        (t for t in targets if t.service == "ssm" and not t.is_path and _same_region(t, options)), None
    )
    if first is None:
        return None, None
    try:
        return first, _ask(agent, connections, first, _to_aws)
    except _ToAWS:
        return first, None


def _aws_requests(fetcher: Fetcher, client: Callable[[], Any], targets: list[Any]) -> Iterator[Request]:
    try:
        built = client()
    except Exception as exc:  # noqa: BLE001 - no client (no region, bad config): these targets' failure
        failure = failure_from_exception(exc)
        yield lambda: dict.fromkeys(targets, failure)
        return
    yield from fetcher.plan(built, targets)


def _from_aws(fetcher: Fetcher, client: Callable[[], Any], target: Any) -> Outcome:
    """Fetch one target from AWS with the service's own fetcher (the agent could not serve it)."""
    outcomes: dict[Any, Outcome] = {}
    for request in _aws_requests(fetcher, client, [target]):
        outcomes.update(request())
    return outcomes.get(target, incomplete("no request answered for this reference"))


def _rest_from_aws(fetcher: Fetcher, client: Callable[[], Any], targets: list[Any]) -> dict[Any, Outcome]:
    """Fetch targets from AWS in the service's batches, one request after another (the agent failed)."""
    outcomes: dict[Any, Outcome] = {}
    for request in _aws_requests(fetcher, client, targets):
        outcomes.update(request())
    missing = incomplete("no request answered for this reference")
    return {target: outcomes.get(target, missing) for target in targets}


class _Unreachable(Exception):
    """The agent could not be used for a target (refused, timed out, 429, 5xx): an asker stops asking."""


def _stop(target: Any) -> Outcome:
    raise _Unreachable


def _query(target: Any) -> str:
    def q(value: str) -> str:
        return urllib.parse.quote(value, safe="")

    if target.service == "secretsmanager":
        query = f"/secretsmanager/get?secretId={q(target.secret_id)}"
        if target.stage:
            query += f"&versionStage={q(target.stage)}"
        if target.version:
            query += f"&versionId={q(target.version)}"
        return query
    query = f"/systemsmanager/parameters/get?name={q(target.name)}"
    if target.selector:
        query += f"&{'version' if target.selector.isdigit() else 'label'}={q(target.selector)}"
    return query + "&withDecryption=true"


def _answered(agent: Agent) -> None:
    if not state().agents.answered(agent.url):
        return
    _log.info("the node-local cache at %s answers again; references are read through it", agent.url)


def _unreachable_now(agent: Agent, why: str) -> None:
    if state().agents.failed(agent.url):
        return
    _log.warning(
        "the node-local cache at %s (%s) cannot be used (%s); references are fetched from AWS directly",
        agent.url,
        _URL,
        why,
    )


def _asker(
    agent: Agent,
    connections: Connections,
    targets: list[Any],
    fallback: Callable[[Any], Outcome],
    rest: Callable[[list[Any]], dict[Any, Outcome]],
) -> dict[Any, Outcome]:
    """Ask the agent for each of `targets` (this asker's share) in turn.

    Whatever the agent cannot serve goes to AWS (`fallback`). Once the agent could not be used (refused,
    timed out, 429, 5xx), the asker stops asking it: that target and the ones after it go to AWS in the
    service's batches (`rest`), so that a hung agent costs each asker one timeout, not one a target.
    """
    outcomes: dict[Any, Outcome] = {}
    try:
        for index, target in enumerate(targets):
            try:
                outcomes.update(_ask(agent, connections, target, fallback, unreachable=_stop))
            except _Unreachable:
                outcomes.update(rest(targets[index:]))
                break
        return outcomes
    finally:
        connections.done()


def _ask(
    agent: Agent,
    connections: Connections,
    target: Any,
    fallback: Callable[[Any], Outcome],
    unreachable: Callable[[Any], Outcome] | None = None,
) -> dict[Any, Outcome]:
    """Ask the agent for one target; `unreachable` (by default `fallback`) serves it if the agent cannot."""
    if agent.token is None:
        return {target: no_token(agent.url, agent.token_source)}
    if not (agent.token.isascii() and agent.token.isprintable()):  # http.client's refusal would quote it
        return {target: bad_token(agent.url, agent.token_source)}
    try:
        status, body = connections.get(_query(target))
    except (OSError, http.client.HTTPException) as exc:
        _unreachable_now(agent, type(exc).__name__)
        return {target: (unreachable or fallback)(target)}
    if _log.isEnabledFor(logging.DEBUG):  # the reference's text costs more than the request's parsing
        _log.debug("the node-local cache at %s answered HTTP %s for %s", agent.url, status, _name(target))
    if status == 429 or status >= 500:
        _unreachable_now(agent, f"HTTP {status}")
        return {target: (unreachable or fallback)(target)}
    _answered(agent)
    if target.service == "ssm" and status != 404:
        state().agents.parameter_route_found(agent.url)
    if status == 200:
        return {target: value_of(target, body)}
    text = body.decode("utf-8", "replace").strip()
    error = aws_error(text)
    if error is not None:
        return {target: error}
    if status == 404 and target.service == "ssm":
        state().agents.no_parameter_route(agent.url)
        return {target: fallback(target)}
    if status == 400 and text.lower().startswith(_GENERIC_400):
        return {target: fallback(target)}
    return {target: refused(agent.url, agent.token_source, status, text)}


def _name(target: Any) -> str:
    from pydantic_aws_settings.references import format_reference

    return format_reference(target)
