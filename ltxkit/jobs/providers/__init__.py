"""Other hosted video APIs behind the one jobs client: switch provider without rewriting the pipeline.

Each provider is a :class:`~ltxkit.jobs.providers.base.Provider` — a description (paths, id fields,
status words, error shapes, auth header, rate-limit signals) read by the shared client's one retry and
polling policy — that also knows what "extend this clip" means on its API (overlap frames, one last
frame, or a server-side extend by job id) and builds that from a neutral :class:`ExtendRequest`, or
refuses with an :class:`~ltxkit.errors.InputError` naming itself, per the capabilities it declares
(``Provider.capabilities``; the table :data:`TABLE` and :func:`markdown_table` are generated from them)::

    from ltxkit.jobs import Client, Journal
    from ltxkit.jobs.providers import ExtendRequest, get_provider, submit_extend

    request = ExtendRequest("the lighthouse beam sweeps on", last_frame="tail/frame-001.png", frames=49, fps=24)
    with Client(provider=get_provider("kubeez")) as client, Journal.in_dir() as journal:
        record = submit_extend(client, request, journal=journal, download_dir=Path("out"))

Registered (:data:`PROVIDERS`): every module of this package that sets ``PROVIDER`` — ``media-jobs``
(default), ``zsky``, ``apex``, ``zooop``, ``kubeez``; ``LTXKIT_PROVIDER`` or ``--provider`` selects one
on the command line. ``LTXKIT_API_BASE`` defaults to the provider's own host.
"""

from ltxkit.jobs.providers.base import Built, Provider, RestProvider
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.media_jobs import MEDIA_JOBS
from ltxkit.jobs.providers.registry import (
    DEFAULT_PROVIDER,
    ENV_PROVIDER,
    PROVIDERS,
    TABLE,
    capabilities,
    check_request,
    get_provider,
    markdown_table,
    require,
)
from ltxkit.jobs.providers.request import ExtendRequest, from_media_input
from ltxkit.jobs.providers.submit import (
    Submission,
    arun_submission,
    asubmit_extend,
    build_request,
    cancel,
    combine_request,
    prepare_extend,
    prepare_submission,
    purge,
    quote,
    quote_plan,
    run_submission,
    submit_extend,
    upload,
)

__all__ = [
    "DEFAULT_PROVIDER", "ENV_PROVIDER", "MEDIA_JOBS", "PROVIDERS", "TABLE", "Built", "Capabilities", "ExtendRequest",
    "Provider", "RestProvider", "Submission", "arun_submission", "asubmit_extend", "build_request", "cancel",
    "capabilities", "check_request", "combine_request", "from_media_input", "get_provider", "markdown_table",
    "prepare_extend", "prepare_submission", "purge", "quote", "quote_plan", "require", "run_submission",
    "submit_extend", "upload",
]
