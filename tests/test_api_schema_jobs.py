"""api_schema fixes found while building the jobs client."""

from __future__ import annotations

import pytest

from ltxkit.api_schema import SchemaError, validate_task_input


def test_huge_integer_duration_is_validated_not_crashing() -> None:
    """JSON integers have no size limit; ``math.isfinite(10**400)`` raised OverflowError (a traceback)."""
    result = validate_task_input("video.generate", {"prompt": "x", "durationSeconds": 10**400, "sampledFps": 25})
    assert result.effective["durationFrames"] % 8 == 1
    with pytest.raises(SchemaError, match="durationSeconds"):
        validate_task_input("moss.sound.effect", {"prompt": "x", "durationSeconds": 10**400})
