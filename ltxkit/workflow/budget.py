"""Money for an extend run (issue 17): nothing is submitted before the user has agreed to spend it.

Before a segment's first submit ltxkit estimates a candidate's price — the provider's quote (ZOOOP
``POST /v1/quote``), its documented flat price, or the price book's history
(:mod:`ltxkit.jobs.pricebook`) — checks that the balance covers the rest of the run, and asks (unless
``--yes``, or the estimate for the rest of the run is within ``--confirm-usd``; a provider priced in
credits is always asked). With no history it says the price is unknown and asks whether to spend ONE
candidate to learn it; with ``--yes`` that candidate goes alone first, so the others are checked against
a known price. ``--max-usd`` caps what the run directory is billed in all (earlier invocations too):
the submit that would cross it is refused. A 402 stops the run: nothing more is submitted. Each of
these ends the run with one line saying what *was* submitted, and ``--resume`` continues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ltxkit.errors import ApiError, AuthError, LtxkitError
from ltxkit.jobs.pricebook import USD, Price, PriceBook, PriceEstimate, PriceKey

if TYPE_CHECKING:
    from ltxkit.jobs import AsyncClient, JobRequest
    from ltxkit.jobs.providers import Provider, Submission
    from ltxkit.jobs.wire import Job


class NotSubmitted(LtxkitError):
    """A submit the budget refused (``--max-usd``, or after a 402): no job was created for it."""


@dataclass(frozen=True)
class Offer:
    """What one segment's submits would cost: ``count`` candidates at ``each``, and the later segments."""

    segment: int  # 1-based
    count: int
    each: PriceEstimate
    rest: Price | None  # the later segments (0 when none are left); None: not known

    @property
    def now(self) -> Price | None:
        return None if self.each.price is None else self.each.price.times(self.count)

    @property
    def total(self) -> Price | None:
        now = self.now
        if now is None or self.rest is None or self.rest.unit != now.unit:
            return None
        return Price(now.amount + self.rest.amount, now.unit)


@dataclass
class Budget:
    """The consent, the cap and the tally of one ``extend`` invocation (see the module docstring)."""

    provider: Provider
    book: PriceBook
    yes: bool = False
    confirm_at: Decimal = Decimal(5)
    cap: Decimal | None = None
    confirm: Callable[[str], bool] = lambda _question: False
    log: Callable[[str], None] = lambda _message: None
    spent_before: Decimal = Decimal(0)  # what the run's earlier invocations were billed
    charges: dict[str, Price | None] = field(default_factory=dict)  # idempotency key -> billed (None: not said)
    submitted: list[str] = field(default_factory=list)  # "segment 1 candidate 1", in this invocation
    granted: Decimal | None = None  # what the user agreed to spend in this invocation
    reserved: Decimal = Decimal(0)  # estimates of submits under way
    refusal: str | None = None  # the 402 that stopped the run

    @property
    def unit(self) -> str:
        return self.provider.money_unit

    @property
    def spent_here(self) -> Decimal:
        return sum((p.amount for p in self.charges.values() if p is not None and p.unit == self.unit), Decimal(0))

    @property
    def spent(self) -> Decimal:
        return self.spent_before + self.spent_here

    def money(self, amount: Decimal) -> str:
        return str(Price(amount, self.unit))

    # ---- estimating ----------------------------------------------------------------------------------

    async def estimate(self, client: AsyncClient, submission: Submission,
                       key: PriceKey) -> tuple[Submission, PriceEstimate]:
        """A candidate's price before it is submitted: quote, documented price, or history. Returns the
        submission built by the quote (so its upload is not made twice)."""
        from ltxkit.jobs.providers import quote_plan

        provider = client.provider
        if provider.capabilities.supports("quote"):
            built, answer = await client.run(quote_plan(client.context, submission))
            quoted = provider.quoted(answer)
            if quoted is not None:
                return built, PriceEstimate(quoted, f"{provider.name}'s quote", fixed=True)
            submission = built
        documented = None if submission.ready is None else provider.documented_price(submission.ready)
        if documented is not None:
            return submission, PriceEstimate(documented, f"{provider.name}'s documented price", fixed=True)
        return submission, self.book.estimate(key)

    def later(self, each: PriceEstimate, key: PriceKey, frames: list[int], extra: Price | None = None) -> Price | None:
        """The later segments' candidates (``frames`` each, one entry per candidate): the same price for
        the same job, else the book's, else ``each`` scaled by the frames; plus ``extra`` (the combine on
        the server); None while ``each`` is unknown."""
        if each.price is None:
            return None
        total = Decimal(0) if extra is None or extra.unit != each.price.unit else extra.amount
        for n in frames:
            if n == key.frames or key.frames is None:
                total += each.price.amount
                continue
            known = self.book.estimate(PriceKey(key.task, n, key.pixels, key.audio, key.extreme, key.provider,
                                                key.server)).price
            total += known.amount if known is not None and known.unit == each.price.unit else \
                each.price.amount * n / key.frames
        return Price(total, each.price.unit)

    # ---- before a segment's submits ------------------------------------------------------------------

    async def check_funds(self, client: AsyncClient, offer: Offer) -> None:
        """Stop before submitting when the balance cannot cover the rest of the run's estimate (or is
        empty); a balance the server does not give is a warning, the submit's 402 the backstop."""
        try:
            answer = await client.balance()
        except AuthError:
            raise
        except ApiError as exc:
            self.log(f"warning: the balance could not be read ({exc}); going by the estimate")
            return
        funds = self.provider.funds(answer)
        if funds is None:
            self.log("warning: the balance answer names no amount ltxkit can read; going by the estimate")
            return
        limit, remedy = self.provider.funds_limit(answer)
        need = offer.total or offer.now
        if need is not None and need.unit == funds.unit and funds.amount < need.amount:
            raise self.stopped(f"{limit} ({funds}) cannot cover the estimate for the rest of the run "
                               f"(about {need}, from segment {offer.segment}); {remedy} or lower --candidates")
        if funds.amount <= 0:
            raise self.stopped(f"{limit} is {funds}")

    def authorize(self, offer: Offer, *, learned: bool = False) -> int:
        """How many of the segment's ``offer.count`` submits may go now (all, or one to learn the price);
        asks the user when needed, raises :meth:`stopped` on a no."""
        segment, each = offer.segment, offer.each
        if each.price is None:
            if learned:  # the billing answer did not say what the first candidate cost
                question = (f"The billing answer did not say what segment {segment}'s first candidate cost. "
                            f"Submit the other {offer.count} at an unknown price?")
                count = offer.count
            else:
                question = (f"The price of a candidate is {each.basis}. "
                            f"Submit one candidate of segment {segment} to learn it?")
                count = 1
            if self.yes:
                self.log(f"segment {segment}: the price is unknown; "
                         + ("submitting the others (--yes)" if learned else "submitting one candidate alone first "
                                                                            "to learn it (--yes)"))
            elif not self.confirm(question):
                raise self.stopped("you declined")
            return count
        total = offer.total
        shown = total or offer.now
        assert shown is not None
        said = (f"{offer.count} candidate(s) for segment {segment} at about {each.price} each ({each.basis})"
                + (f"; about {total} for the rest of the run" if total is not None and total != offer.now else "")
                + ("" if total is not None else "; the later segments' price is not known yet"))
        self.agree(said, shown, f"segment {segment}: ")
        return offer.count

    def agree(self, said: str, shown: Price, where: str = "") -> None:
        """Ask to spend ``shown`` (``said`` in words) unless ``--yes``, within ``--confirm-usd``, or covered
        by what the user already agreed to in this invocation; raises :meth:`stopped` on a no."""
        if self.cap is not None and self.spent + shown.amount > self.cap:
            said += f"; --max-usd {self.money(self.cap)} stops the run before it crosses that"
        within = shown.unit == USD and shown.amount <= self.confirm_at
        granted = self.granted is not None and self.spent_here + shown.amount <= self.granted
        if self.yes or within or granted:
            self.log(f"{where}{said}")
            return
        if not self.confirm(f"Submit {said}?"):
            raise self.stopped("you declined")
        self.granted = self.spent_here + shown.amount

    def stopped(self, reason: str) -> LtxkitError:
        """The one line a money decision ends the run with: why, and what was submitted before it."""
        if not self.submitted:
            done = "nothing was submitted"
        else:
            billed = self.spent_here
            done = (f"submitted before stopping: {', '.join(self.submitted)}"
                    + (f" (billed {self.money(billed)})" if billed else ""))
        if self.spent_before:
            done += f"; earlier runs of this directory were billed {self.money(self.spent_before)}"
        return LtxkitError(f"stopped: {reason}; {done}; --resume continues")

    # ---- each submit ---------------------------------------------------------------------------------

    def guard(self, label: str, key: PriceKey, each: PriceEstimate) -> SubmitGuard:
        return SubmitGuard(self, label, key, each)

    def refused_payment(self, error: ApiError) -> None:
        """A 402: no more submits in this invocation."""
        self.refusal = self.refusal or str(error)


@dataclass
class SubmitGuard:
    """:class:`ltxkit.jobs.collect.SubmitGuard` for one candidate: refuses a submit past ``--max-usd`` or
    after a 402, records what the submit was billed (run tally and price book)."""

    budget: Budget
    label: str
    key: PriceKey
    each: PriceEstimate
    amount: Decimal = Decimal(0)

    def before_submit(self, request: JobRequest) -> None:
        budget = self.budget
        if budget.refusal is not None:
            raise NotSubmitted(f"{self.label}: not submitted after the payment was refused ({budget.refusal})")
        price = self.each.price
        self.amount = price.amount if price is not None and price.unit == budget.unit else Decimal(0)
        if budget.cap is not None and budget.spent + budget.reserved + self.amount > budget.cap:
            raise NotSubmitted(f"--max-usd {budget.money(budget.cap)}: {self.label} (about {price}) would take the "
                               f"run past it ({budget.money(budget.spent + budget.reserved)} billed or under way)")
        budget.reserved += self.amount

    def after_submit(self, request: JobRequest, job: Job) -> None:
        budget = self.budget
        budget.reserved -= self.amount
        billed = budget.provider.charged(job.payload)
        if billed is not None:
            budget.book.record(self.key, billed, job.id)
        elif self.each.fixed:
            billed = self.each.price  # the answer says nothing; the quote or the document fixes it
        budget.charges[request.key] = billed  # a replayed submit (same key) is the same job, billed once
        budget.submitted.append(self.label)
