"""Money (issue 17): no submit before consent, the price book, --max-usd, the balance, 402, quotes.

The consent path is tested with real ``ltxkit extend`` processes answering on stdin against the
emulator, whose balance and job list are compared before and after.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from media import RATE, write_track
from PIL import Image
from web import WEB

from ltxkit.cli import main
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.server import EmulatorHandle, run_in_thread
from ltxkit.errors import InputError, LtxkitError
from ltxkit.frames.synth import Tone, render_frame, write_clip
from ltxkit.jobs.models import JobRequest
from ltxkit.jobs.pricebook import Price, PriceBook, PriceKey, server_of
from ltxkit.jobs.providers import get_provider
from ltxkit.workflow.extend import ExtendOptions, extend
from ltxkit.workflow.inputs import build_spec
from ltxkit.workflow.plan import make_plan

LTXKIT = str(Path(sys.executable).with_name("ltxkit"))
TONE = Tone(hz=330.0, amplitude=0.4)
PROMPT = "a presenter keeps talking to the camera"
# the emulator's stand-in price of one candidate below: 17 frames at 160x96, rounded up to its minimum
CANDIDATE_USD = Decimal("0.01")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("money") / "a.mp4", frames=50, fps=25, width=160, height=96, tone=TONE)


def emulator(**changes: Any) -> EmulatorHandle:
    return run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05, **changes))


def env_for(handle: EmulatorHandle) -> dict[str, str]:
    return {"LTXKIT_API_BASE": handle.base_url, "LTXKIT_API_KEY": handle.api_key, "LTXKIT_POLL_INTERVAL": "0.05",
            "LTXKIT_POLL_MAX_INTERVAL": "0.2", "LTXKIT_RETRY_BASE_DELAY": "0.01", "LTXKIT_RETRY_MAX_DELAY": "0.05"}


def balance(handle: EmulatorHandle) -> Decimal:
    """The emulator's balance in dollars, in either of its money readings."""
    answer = WEB.get(f"{handle.base_url}/api/v1/balance", headers={"Authorization": f"Bearer {handle.api_key}"})
    data = answer.json()
    return Decimal(str(data["balanceUsd"])) if "balanceUsd" in data else Decimal(data["balance"]["usdCents"]) / 100


def server_jobs(handle: EmulatorHandle) -> int:
    with sqlite3.connect(handle.data_dir / "emulator.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


def server_tasks(handle: EmulatorHandle) -> list[tuple[str, str]]:
    with sqlite3.connect(handle.data_dir / "emulator.sqlite3") as db:
        return [(t, s) for t, s in db.execute("SELECT task, status FROM jobs ORDER BY rowid")]


def journaled(run: Path) -> int:
    path = run / "ltxkit-jobs.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(job_id) FROM jobs").fetchone()[0])


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    """The last line on stderr, after the question's prompt (piped answers are not echoed)."""
    return done.stderr.strip().splitlines()[-1].rpartition("[y/N]: ")[2]


def run_extend(clip: Path, run: Path, handle: EmulatorHandle, answers: str,
               *extra: str) -> subprocess.CompletedProcess[str]:
    args = [LTXKIT, "extend", str(clip), "--prompt", PROMPT, "--overlap", "2", "--frames", "17",
            "--candidates", "3", "--confirm-usd", "0.01", "-o", str(run), *extra]
    return subprocess.run(args, env={**os.environ, **env_for(handle)}, input=answers, capture_output=True, text=True,
                          timeout=120)


def test_declining_costs_nothing_and_says_what_was_submitted(clip: Path, tmp_path: Path, price_book: Path) -> None:
    with emulator() as handle:
        start = balance(handle)
        # no history: the price is said to be unknown, and "n" to spending one candidate submits nothing
        no = run_extend(clip, tmp_path / "a", handle, "n\n")
        assert no.returncode == 1, no.stderr
        assert "The price of a candidate is unknown: no video.generate, 17 frames, 0.02 MP job has been billed " \
               f"by media-jobs at {handle.base_url} yet. Submit one candidate of segment 1 to learn it?" in no.stderr
        assert last_line(no) == ("ltxkit: error: stopped: you declined; nothing was submitted; "
                                                      "--resume continues")
        assert "Traceback" not in no.stderr
        assert (balance(handle), server_jobs(handle), journaled(tmp_path / "a")) == (start, 0, 0)

        # "y" to learning, "n" to the rest: exactly one job, and the message says so
        learn = run_extend(clip, tmp_path / "b", handle, "y\nn\n")
        assert learn.returncode == 1, learn.stderr
        assert "Submit 2 candidate(s) for segment 1 at about $0.01 each (billed for the same job on " in learn.stderr
        assert last_line(learn) == ("ltxkit: error: stopped: you declined; submitted before stopping: segment 1 "
                                    "candidate 1 (billed $0.01); --resume continues")
        assert (balance(handle), server_jobs(handle), journaled(tmp_path / "b")) == (start - CANDIDATE_USD, 1, 1)
        assert [(k.frames, k.pixels, p) for k, p, _ in PriceBook(price_book).records()] == \
            [(17, 160 * 96, Price(CANDIDATE_USD))]

        # with history the estimate comes before any submit; "n" submits nothing
        known = run_extend(clip, tmp_path / "c", handle, "n\n")
        assert known.returncode == 1, known.stderr
        assert "Submit 3 candidate(s) for segment 1 at about $0.01 each (billed for the same job on " in known.stderr
        assert "learn" not in known.stderr
        assert last_line(known) == "ltxkit: error: stopped: you declined; nothing was submitted; --resume continues"
        assert (balance(handle), server_jobs(handle)) == (start - CANDIDATE_USD, 1)

        # the declined run resumes: the learning candidate is not submitted again
        done = run_extend(clip, tmp_path / "b", handle, "", "--resume", "--yes", "--json")
        assert done.returncode == 0, done.stderr
        assert (balance(handle), server_jobs(handle)) == (start - 3 * CANDIDATE_USD, 3)
    charged = [c.get("charged") for c in json.loads(done.stdout)["segments"][0]["candidates"]]
    assert charged == [0.01, 0.01, 0.01]


def test_max_usd_refuses_the_submit_that_would_cross_it(clip: Path, tmp_path: Path) -> None:
    with emulator() as handle:
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=2, frames=17, candidates=3, env=env_for(handle))
        config = config.with_options(concurrency=1)  # candidates submitted one after another: a fixed order
        logs: list[str] = []
        # unknown price with --yes: one candidate goes alone first, then the cap is checked on a known price
        with pytest.raises(LtxkitError) as stop:
            extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, max_usd=0.02, log=logs.append))
        assert "segment 1: the price is unknown; submitting one candidate alone first to learn it (--yes)" in logs
        assert str(stop.value) == ("stopped: --max-usd $0.02: segment 1 candidate 3 (about $0.01) would take the run "
                                   "past it ($0.02 billed or under way); submitted before stopping: segment 1 "
                                   "candidate 1, segment 1 candidate 2 (billed $0.02); --resume continues")
        assert server_jobs(handle) == 2
        manifest = json.loads((tmp_path / "run" / "run.json").read_text())
        assert [c["status"] for c in manifest["segments"][0]["candidates"]] == ["done", "done", "not submitted"]
        # the cap is the run's: a resume under the same cap submits nothing more
        with pytest.raises(LtxkitError, match=r"\$0.02 billed or under way\).*nothing was submitted; earlier runs "
                                              r"of this directory were billed \$0.02"):
            extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True, max_usd=0.02))
        assert server_jobs(handle) == 2
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True, max_usd=0.03))
        assert server_jobs(handle) == 3 and Path(result["output"]).exists()


@pytest.mark.parametrize(("reading", "details"), [("usd", '{"balanceUsd": 0.0, "requiredUsd": 0.01}'),
                                                  ("cents", '{"balanceCents": 0, "requiredCents": 1}')])
def test_the_balance_is_checked_before_submitting_and_a_402_stops_the_run(clip: Path, tmp_path: Path,
                                                                          price_book: Path, reading: str,
                                                                          details: str) -> None:
    # the document names no fields for the balance and the billing: dollars, or cents as its x402 purchase
    with emulator(starting_balance=Decimal("0.02"), money_reading=reading) as handle:
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=2, frames=17, candidates=3, env=env_for(handle))
        config = config.with_options(concurrency=1)
        key = PriceKey("video.generate", 17, 160 * 96, False, False, "media-jobs", server_of(handle.base_url))
        with PriceBook(price_book) as book:
            book.record(key, Price(CANDIDATE_USD), "earlier-job")
        with pytest.raises(LtxkitError) as low:
            extend(spec, tmp_path / "low", config, ExtendOptions(yes=True))
        assert str(low.value) == ("stopped: the balance ($0.02) cannot cover the estimate for the rest of the run "
                                  "(about $0.03, from segment 1); top up or lower --candidates; nothing was "
                                  "submitted; --resume continues")
        assert (server_jobs(handle), balance(handle)) == (0, Decimal("0.02"))
        # an estimate too low to warn (history from a cheaper time): the server's 402 stops the run
        with PriceBook(price_book) as book:
            book.record(key, Price(Decimal("0.001")), "earlier-job")
        with pytest.raises(LtxkitError) as refused:
            extend(spec, tmp_path / "402", config, ExtendOptions(yes=True))
        assert server_jobs(handle) == 2 and balance(handle) == 0
    assert str(refused.value) == (
        "stopped: the server refused segment 1 candidate 3 for payment (POST /api/v1/media/jobs: HTTP 402: "
        f"insufficient balance ({details})); top up; submitted before stopping: "
        "segment 1 candidate 1, segment 1 candidate 2 (billed $0.02); --resume continues")
    billed = [p for _, p, job in PriceBook(price_book).records() if job != "earlier-job"]
    assert billed == [Price(CANDIDATE_USD)] * 2  # read from the submits' billing answers


def test_extend_inside_a_running_event_loop_records_its_price(clip: Path, tmp_path: Path, price_book: Path) -> None:
    """Called where an event loop runs (the review page's tests under Playwright, a notebook), extend
    generates on a worker thread: the price book it opened here must work there (it once stalled)."""
    with emulator() as handle:
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=2, frames=17, candidates=2, env=env_for(handle))

        async def inside_a_loop() -> dict[str, Any]:
            return extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))

        result = asyncio.run(inside_a_loop())
        assert server_jobs(handle) == 2
    assert [c["charged"] for c in result["segments"][0]["candidates"]] == [0.01, 0.01]
    assert [(k.frames, p) for k, p, _ in PriceBook(price_book).records()] == [(17, Price(CANDIDATE_USD))] * 2


def test_zooop_is_quoted_before_any_submit_and_charged_the_quote(tmp_path: Path) -> None:
    """ZOOOP's POST /v1/quote is "the authoritative cost for this exact payload": it is asked before
    anything is submitted, and the credits it names are what the submits take from /v1/me's balance."""
    clip = write_clip(tmp_path / "a.mp4", frames=48, fps=24, width=480, height=480, tone=TONE)
    with emulator() as handle:
        env = {**env_for(handle), "LTXKIT_API_BASE": f"{handle.base_url}/zooop"}
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=1, frames=25, candidates=2, provider="zooop",
                                  env=env)

        def credits() -> int:
            me = WEB.get(f"{handle.base_url}/zooop/v1/me", headers={"Authorization": f"Bearer {handle.api_key}"})
            return int(me.json()["user"]["creditBalance"])

        def posts() -> list[str]:
            return [r.path for r in handle.requests() if r.method == "POST"]

        start, questions = credits(), []
        with pytest.raises(LtxkitError) as no:
            extend(spec, tmp_path / "no", config, ExtendOptions(confirm=lambda q: questions.append(q) or False))
        assert str(no.value) == "stopped: you declined; nothing was submitted; --resume continues"
        assert questions == ["Submit 2 candidate(s) for segment 1 at about 8 credits each (zooop's quote)?"]
        assert posts().count("/zooop/v1/quote") == 1 and "/zooop/v1/tasks" not in posts()
        assert credits() == start
        result = extend(spec, tmp_path / "yes", config, ExtendOptions(confirm=lambda q: True))
        assert posts().count("/zooop/v1/tasks") == 2 and credits() == start - 2 * 8
        # a token's daily credit cap is what it can spend today (/v1/me key.creditsRemainingToday)
        handle.emulator.providers.zooop.limits.daily_credit_cap = 16 + 15
        with pytest.raises(LtxkitError) as capped:
            extend(spec, tmp_path / "cap", config, ExtendOptions(yes=True))
        assert str(capped.value) == ("stopped: what the token's daily credit cap (31 credits) leaves today "
                                     "(15 credits) cannot cover the estimate for the rest of the run (about 16 "
                                     "credits, from segment 1); wait for tomorrow, raise the token's cap or lower "
                                     "--candidates; nothing was submitted; --resume continues")
        assert posts().count("/zooop/v1/tasks") == 2
    assert [c["charged"] for c in result["segments"][0]["candidates"]] == [8, 8]


def test_the_combine_on_the_server_is_agreed_to_and_capped_like_a_candidate(media: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    """``--combine remote`` submits a paid ``video.combine`` ($0.005 a clip, two at least): it is in the
    rest-of-run estimate, asked about when not agreed yet, and refused past --max-usd."""
    image = tmp_path / "opening.png"
    Image.fromarray(render_frame(0, 128, 64)).save(image)
    plan = make_plan(media["track"], Fraction(25), 2, image=image, max_frames=65)  # two segments of 65
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=float))
    run = tmp_path / "run"
    with emulator() as handle:
        spec, config = build_spec(clip=None, prompt=PROMPT, overlap=None, frames=None, size=(128, 64),
                                  plan_path=tmp_path / "plan.json", candidates=1, combine="remote",
                                  env=env_for(handle))
        questions: list[str] = []

        def ask(answer: bool) -> ExtendOptions:
            return ExtendOptions(resume=True, confirm_usd=0, max_usd=0.02,
                                 confirm=lambda q: questions.append(q) or answer)

        # learn, then agree to segment 2 with the combine in the total: the cap refuses the combine itself
        with pytest.raises(LtxkitError) as capped:
            extend(spec, run, config, ask(True))
        assert questions[1].startswith("Submit 1 candidate(s) for segment 2 at about $0.01 each (billed for the "
                                       "same job on ")  # the emulator's stand-in price of 65 frames at 128x64
        assert questions[1].endswith("; about $0.02 for the rest of the run; --max-usd $0.02 stops the run before "
                                     "it crosses that?")
        assert str(capped.value) == (
            "stopped: --max-usd $0.02: the combine (about $0.01) would take the run past it ($0.02 billed or under "
            "way); submitted before stopping: segment 1 candidate 1, segment 2 candidate 1 (billed $0.02); "
            "--resume continues")
        assert [t for t, _ in server_tasks(handle)] == ["video.generate"] * 2
        # without the cap, the combine is asked about on its own: "n" submits nothing, "y" combines
        questions.clear()
        with pytest.raises(LtxkitError) as declined:
            extend(spec, run, config, replace(ask(False), max_usd=None))
        assert questions == ["Submit the combine of 2 clips on the server at $0.01 (media-jobs's documented price)?"]
        assert str(declined.value) == ("stopped: you declined; nothing was submitted; earlier runs of this "
                                       "directory were billed $0.02; --resume continues")
        start = balance(handle)
        result = extend(spec, run, config, replace(ask(True), max_usd=None))
        assert [t for t, _ in server_tasks(handle)] == ["video.generate"] * 2 + ["video.combine"]
        assert balance(handle) == start - Decimal("0.01") and result["combine_job"]


def test_what_a_combine_was_billed_is_counted_on_resume(tmp_path: Path) -> None:
    """Each ``video.combine`` billed goes into ``run.json`` even when the run stops before its result, so
    a resumed run counts it against --max-usd: a server counting overlapFrames in sampled frames makes
    ltxkit combine twice, and the cap that refuses the second combine still refuses it on --resume."""
    image = tmp_path / "opening.png"
    Image.fromarray(render_frame(0, 128, 64)).save(image)
    plan = make_plan(write_track(tmp_path / "track.wav", 5 * RATE // 2), Fraction(30), 2, image=image,
                     max_frames=41)
    assert [s["frames"] for s in plan["segments"]] == [41, 41]
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=float))
    run = tmp_path / "run"
    with emulator(combine_reading="samples") as handle:
        spec, config = build_spec(clip=None, prompt=PROMPT, overlap=None, frames=None, size=(128, 64),
                                  plan_path=tmp_path / "plan.json", candidates=1, combine="remote",
                                  sampled_fps=Fraction(30), interpolation_fps=60, env=env_for(handle))
        options = ExtendOptions(yes=True, max_usd=0.03, resume=True)
        with pytest.raises(LtxkitError) as capped:
            extend(spec, run, config, options)
        assert str(capped.value) == (
            "stopped: --max-usd $0.03: the combine (about $0.01) would take the run past it ($0.03 billed or under "
            "way); submitted before stopping: segment 1 candidate 1, segment 2 candidate 1, the combine (billed "
            "$0.03); --resume continues")
        manifest = json.loads((run / "run.json").read_text())
        assert list(manifest["combine_charged"].values()) == [0.01]
        assert [c["charged"] for s in manifest["segments"] for c in s["candidates"]] == [0.01, 0.01]
        start = balance(handle)
        with pytest.raises(LtxkitError) as again:
            extend(spec, run, config, options)
        assert str(again.value) == (
            "stopped: --max-usd $0.03: the combine (about $0.01) would take the run past it ($0.03 billed or under "
            "way); nothing was submitted; earlier runs of this directory were billed $0.03; --resume continues")
        assert [t for t, _ in server_tasks(handle)] == ["video.generate"] * 2 + ["video.combine"]
        assert balance(handle) == start
        result = extend(spec, run, config, replace(options, max_usd=0.04))
        assert [t for t, _ in server_tasks(handle)] == ["video.generate"] * 2 + ["video.combine"] * 2
        assert balance(handle) == start - Decimal("0.01") and result["combine_job"]
        assert len(json.loads((run / "run.json").read_text())["combine_charged"]) == 2


def test_a_job_sent_with_jobs_submit_prices_the_next_extend(clip: Path, tmp_path: Path, price_book: Path) -> None:
    """Every billing answer goes into the price book, ``ltxkit jobs submit``'s too: the extend after it
    knows the price before submitting anything."""
    with emulator() as handle:
        job = {"prompt": PROMPT, "durationFrames": 17, "width": 160, "height": 96}
        sent = CliRunner().invoke(main, ["jobs", "submit", "video.generate", "--input", json.dumps(job), "--state",
                                         str(tmp_path / "state"), "--json"], env=env_for(handle))
        assert sent.exit_code == 0, sent.stderr
        key = PriceKey("video.generate", 17, 160 * 96, False, False, "media-jobs", server_of(handle.base_url))
        assert PriceBook(price_book).records() == [(key, Price(CANDIDATE_USD), json.loads(sent.stdout)["jobId"])]
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=2, frames=17, candidates=2, env=env_for(handle))
        questions: list[str] = []
        with pytest.raises(LtxkitError, match="you declined; nothing was submitted"):
            extend(spec, tmp_path / "run", config, ExtendOptions(confirm_usd=0,
                                                                 confirm=lambda q: questions.append(q) or False))
        assert questions[0].startswith("Submit 2 candidate(s) for segment 1 at about $0.01 each (billed for the "
                                       "same job on ")
        assert server_jobs(handle) == 1


# --- the price book and each provider's money ------------------------------------------------------


def test_the_price_book_remembers_exactly_and_scales_from_the_nearest(tmp_path: Path) -> None:
    path = tmp_path / "book" / "prices.sqlite"
    server = server_of("https://user:secret@api.example.com:8443/base/?token=x#f")
    assert server == "https://api.example.com:8443/base"
    key = PriceKey("video.generate", 257, 1280 * 1280, True, False, "media-jobs", server)
    with PriceBook(path) as book:
        unknown = book.estimate(key)
        assert unknown.price is None and unknown.basis == (
            "unknown: no video.generate, 257 frames, 1.64 MP, reference audio job has been billed by media-jobs "
            "at https://api.example.com:8443/base yet")
        book.record(key, Price(Decimal("0.61")), "job-1")
        book.record(PriceKey("video.generate", 121, 640 * 640, True, False, "media-jobs", server),
                    Price(Decimal("0.07")), "job-2")
    with PriceBook(path) as book:  # survives a reopen (another process)
        same = book.estimate(key)
        assert (same.price, same.basis[:29]) == (Price(Decimal("0.61")), "billed for the same job on 20")
        # 129 frames at 1280x1280 is nearer the 257-frame job: 0.61 × 129/257, rounded up to the cent
        near = book.estimate(PriceKey("video.generate", 129, 1280 * 1280, True, False, "media-jobs", server))
        assert near.price == Price(Decimal("0.31"))
        assert near.basis == "scaled per frame × megapixel from a 257-frame 1.64 MP job billed $0.61"
        # another server, audio or quality: no history
        for other in (PriceKey("video.generate", 257, 1280 * 1280, True, False, "media-jobs", "http://127.0.0.1:1"),
                      PriceKey("video.generate", 257, 1280 * 1280, False, False, "media-jobs", server),
                      PriceKey("video.generate", 257, 1280 * 1280, True, True, "media-jobs", server)):
            assert book.estimate(other).price is None
        book.record(key, Price(Decimal("0.61")), "job-1")  # the same job answered twice: one record
        assert len(book.records()) == 2
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(InputError, match="is not an ltxkit price book"):
        PriceBook(foreign)
    assert foreign.read_bytes() == before


@pytest.mark.parametrize(("answer", "usd"), [
    ({"balanceUsd": 12.34, "currency": "USD"}, "12.34"), ({"balance": "7.5"}, "7.5"), ({"balance": {"usd": 3}}, "3"),
    ({"balanceCents": 1234}, "12.34"), ({"usdCents": "250"}, "2.5"), ({"credits": 5}, None), ({"balance": None}, None),
    ({"balanceUsd": "nan"}, None), ({"balanceUsd": -1}, None), ({"balanceUsd": True}, None)])
def test_every_plausible_media_jobs_balance_is_read(answer: dict[str, Any], usd: str | None) -> None:
    funds = get_provider("media-jobs").funds(answer)
    assert funds == (None if usd is None else Price(Decimal(usd)))


def test_each_provider_reads_its_own_money() -> None:
    media_jobs, zooop, apex, kubeez, zsky = (get_provider(n) for n in ("media-jobs", "zooop", "apex", "kubeez", "zsky"))
    assert media_jobs.charged({"billing": {"chargedUsd": 0.61, "currency": "USD"}}) == Price(Decimal("0.61"))
    assert media_jobs.charged({"billing": {"chargedCents": 61}}) == Price(Decimal("0.61"))
    assert media_jobs.charged({"jobId": "j"}) is None
    combine = JobRequest.build("video.combine", {"videoUrls": ["https://a/1.mp4", "https://a/2.mp4",
                                                               "https://a/3.mp4"], "overlapFrames": 3})
    assert media_jobs.documented_price(combine) == Price(Decimal("0.015"))
    assert zooop.quoted({"credits": 40, "estimatedSeconds": None}) == Price(Decimal(40), "credits")
    assert zooop.funds({"user": {"creditBalance": 900}}) == Price(Decimal(900), "credits")
    assert zooop.funds({"user": {"creditBalance": 900}, "team": {"creditBalance": 50}}) == Price(Decimal(50),
                                                                                                 "credits")
    capped = {"key": {"dailyCreditCap": 1000, "creditsRemainingToday": 958}, "user": {"creditBalance": 84495}}
    assert zooop.funds(capped) == Price(Decimal(958), "credits")  # the document's /v1/me example
    assert zooop.funds({"key": {"creditsRemainingToday": None}, "user": {"creditBalance": 30}}) == \
        Price(Decimal(30), "credits")
    # the stop line names what limits the spending: the daily cap only when it leaves less than the wallet
    assert zooop.funds_limit(capped) == ("what the token's daily credit cap (1000 credits) leaves today",
                                         "wait for tomorrow, raise the token's cap")
    assert zooop.funds_limit({"key": {"creditsRemainingToday": 958}, "user": {"creditBalance": 900}}) == \
        ("the balance", "top up")
    assert zooop.funds_limit({"key": {"creditsRemainingToday": None}, "user": {"creditBalance": 30}}) == \
        media_jobs.funds_limit({"balanceUsd": 3}) == ("the balance", "top up")
    assert zooop.charged({"taskId": "t", "creditsCharged": 40}) == Price(Decimal(40), "credits")
    assert apex.funds({"data": {"credits": 4500}}) == Price(Decimal(4500), "credits")
    assert apex.documented_price(apex.native_request("video", {"script": "x"}, None)) == Price(Decimal(250), "credits")
    assert kubeez.documented_price(kubeez.native_request("media.extend", {"source_task_id": "s",
                                                                          "extend_model": "fast"}, None)) == \
        Price(Decimal(75), "credits")
    assert kubeez.funds({"credits": 5000, "message": "You have 5000 credits"}) == Price(Decimal(5000), "credits")
    assert zsky.funds({"videos_used": 47, "base_videos_allowance": 300}) == Price(Decimal(253), zsky.money_unit)
    assert str(Price(Decimal(1), zsky.money_unit)) == "1 videos of the monthly allowance"
    assert str(Price(Decimal("0.005"))) == "$0.01" and str(Price(Decimal("0.61"))) == "$0.61"


def test_the_emulator_refuses_an_unknown_money_reading() -> None:
    with pytest.raises(InputError, match="money_reading must be one of usd, cents, got 'euros'"):
        EmulatorConfig(money_reading="euros").validate()


def test_max_usd_is_refused_for_a_provider_that_bills_in_credits(tmp_path: Path, clip: Path) -> None:
    spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=1, frames=25, provider="kubeez",
                              env={"LTXKIT_API_KEY": "k", "LTXKIT_API_BASE": "http://127.0.0.1:9"})
    with pytest.raises(InputError, match="--max-usd: provider kubeez bills in credits, not in dollars"):
        extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, max_usd=1))
    assert not (tmp_path / "run").exists()
