"""How an emulator instance is set up: keys, storage, lifecycle timing, money, faults, limits."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ltxkit.emulator.defects import DefectModel
from ltxkit.emulator.faults import parse_faults
from ltxkit.errors import InputError
from ltxkit.timing import CONVENTIONS

COMBINE_READINGS = ("frames", "samples")  # what video.combine's overlapFrames counts (runner._video_combine)
MONEY_READINGS = ("usd", "cents")  # how the balance and billing answers say amounts (app.Emulator.amount)

# What ``ltxkit serve`` starts with (``EmulatorConfig`` itself binds port 0: tests want any free port).
DEFAULT_PORT = 8787
DEFAULT_BALANCE = Decimal("25.00")
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_PHASE_SECONDS = 0.2  # time in "queued", and at least in "running"
KEY_ENV = "LTXKIT_EMULATOR_KEY"


def generate_key() -> str:
    return "ltxk_emu_" + secrets.token_urlsafe(24)


@dataclass
class EmulatorConfig:
    """Settings of one emulator; every field has a default that suits tests (fast lifecycle, temp data).

    ``api_keys`` empty means "generate one": :func:`ltxkit.emulator.server.run_in_thread` exposes it as
    ``handle.api_key`` and ``ltxkit serve`` prints it once. ``data_dir`` ``None`` means a temporary
    directory removed when the emulator stops; give a directory to keep jobs, balances and
    idempotency keys across restarts (``emulator.sqlite3`` plus ``files/<job>/<name>``).
    """

    api_keys: Sequence[str] = ()
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    queued_seconds: float = DEFAULT_PHASE_SECONDS
    running_seconds: float = DEFAULT_PHASE_SECONDS
    starting_balance: Decimal = DEFAULT_BALANCE
    faults: str = ""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    crf: int = 16
    # how video.generate fills 60 fps from sampled frames: RIFE's fill-between 2F-1 by default (the least
    # convenient for a client that assumes the duration is kept), or "2F" / "2F+1"
    interpolation: str = "2F-1"
    # what video.combine's overlapFrames counts (the document does not say): "frames" at frameRate, the
    # interpolated rate as in its example (ltxkit's reading, and the less convenient one for a client that
    # knows its overlap in sampled frames), or "samples" at the clips' sampled rate
    combine_reading: str = "frames"
    # the document says a submit answers with its billing and /api/v1/balance gives the USD balance, not in
    # which fields: "cents" whole cents as its x402 purchase counts them (balance.usdCents,
    # billing.chargedCents, balanceCents; the default: the less convenient one for a client that assumes
    # dollars), or "usd" dollars (balanceUsd, billing.chargedUsd)
    money_reading: str = "cents"
    # some seeds' video.generate outputs come back with a visible defect (off: rate 0); see emulator.defects
    defects: DefectModel = field(default_factory=DefectModel)
    workers: int = 2
    # how many requests the emulator keeps for EmulatorHandle.requests() (older ones are dropped and counted)
    request_log: int = 10_000
    fetch_timeout_seconds: float = 30.0
    log_level: str = "warning"
    generated_key: str | None = field(default=None, init=False)

    def validate(self) -> None:
        """Reject impossible settings before anything is bound or written."""
        parse_faults(self.faults)
        if any(not k or k != k.strip() or any(c.isspace() for c in k) for k in self.api_keys):
            raise InputError("API keys must be non-empty and contain no whitespace")
        if self.queued_seconds < 0 or self.running_seconds < 0:
            raise InputError("lifecycle durations must be ≥ 0 seconds")
        if self.starting_balance < 0:
            raise InputError(f"starting balance must be ≥ 0, got {self.starting_balance}")
        if self.max_body_bytes <= 0:
            raise InputError(f"body limit must be positive, got {self.max_body_bytes}")
        if self.request_log < 1:
            raise InputError(f"request_log must be ≥ 1, got {self.request_log}")
        if not 0 <= self.crf <= 51 or self.workers < 1:
            raise InputError("crf must be 0..51 and workers ≥ 1")
        if self.interpolation not in CONVENTIONS:
            raise InputError(f"interpolation must be one of {', '.join(CONVENTIONS)}, got {self.interpolation!r}")
        if self.combine_reading not in COMBINE_READINGS:
            raise InputError(f"combine_reading must be one of {', '.join(COMBINE_READINGS)}, "
                             f"got {self.combine_reading!r}")
        if self.money_reading not in MONEY_READINGS:
            raise InputError(f"money_reading must be one of {', '.join(MONEY_READINGS)}, got {self.money_reading!r}")
        self.defects.validate()
        if not 0 <= self.port <= 65535:
            raise InputError(f"port must be 0..65535, got {self.port}")

    def resolve_keys(self) -> list[str]:
        """The configured keys, generating one (once) when none was given."""
        if self.api_keys:
            return list(self.api_keys)
        if self.generated_key is None:
            self.generated_key = generate_key()
        return [self.generated_key]
