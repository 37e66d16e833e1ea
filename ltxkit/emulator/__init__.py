"""A local emulator of the media-jobs API, so nobody needs a paid key to learn, demo or test the toolkit.

It answers the routes of the API document (``POST/GET /api/v1/media/jobs``, ``/api/v1/balance``,
``/api/v1/health``) with the document's shapes and error codes, runs jobs through
queued → running → completed in the background, charges a documented stand-in price at submit,
and produces real files: ``video.generate`` renders an MP4 whose first frames are the given overlap /
start frames and whose audio is the reference audio (see :mod:`ltxkit.emulator.generate`);
``video.combine`` joins clips with :func:`ltxkit.frames.concat.concat_clips`; every other task writes a
small plausible stand-in (:mod:`ltxkit.emulator.standins`).

Modules: :mod:`~ltxkit.emulator.server` (``run_in_thread``, ``serve``, ``EmulatorConfig``),
:mod:`~ltxkit.emulator.app` (the ``Emulator``: media-jobs routes, idempotency, staging, and the state of
every API), :mod:`~ltxkit.emulator.web` (the request steps every API shares: keys, bodies and their
limits, rate windows, faults, error shapes), :mod:`~ltxkit.emulator.providers` (the seeds' other APIs,
one module each), :mod:`~ltxkit.emulator.runner` (lifecycle, input fetching), :mod:`~ltxkit.emulator.store`
(SQLite), :mod:`~ltxkit.emulator.pricing` (``price_usd``), :mod:`~ltxkit.emulator.faults` (fault injection),
:mod:`~ltxkit.emulator.defects` (outputs spoiled by seed, as a real service's are: ``--defects RATE``).

Fault injection (``ltxkit serve --faults SPEC``, ``EmulatorConfig(faults=SPEC)``, or per request with
the header ``X-Emulator-Faults: SPEC``; full rules in :mod:`ltxkit.emulator.faults`)::

    SPEC = NAME[=COUNT],...      COUNT a positive number or "*"; a bare NAME means 1
    reset        TCP reset before answering          429 / 503    error answer with Retry-After
    drop-create  job created, connection closed      truncate     download cut at half its Content-Length
    hold-create  job created, no answer till hang-up stall        download stops at half until hang-up
    fail-job     next job ends "failed" (refunded)   odd-status   "rendering"/"finalizing" instead of "running"
    retry-after=SECONDS (default 1)                  tag=TEXT     ignored (makes a header value unique)

e.g. ``drop-create=1,429=2,503=3,reset=1,truncate=1,fail-job=1,odd-status``.

This package sits below the jobs client: it imports nothing from ``ltxkit.jobs``, ``ltxkit.assembly``
or ``ltxkit.workflow``.
"""
