"""Local assembly: splice generated clips, rate the seams, write a review.

The entry points are imported lazily so that ``ltxkit.assembly.modes`` (what the CLI needs to build
its options) does not pull in PyAV and numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ltxkit.assembly.edit import SplicePlan, plan_splice
    from ltxkit.assembly.modes import SpliceMode
    from ltxkit.assembly.report import review_seam, splice_with_report
    from ltxkit.assembly.splice import SpliceResult, prepare_splice, splice

__all__ = ["SpliceMode", "SplicePlan", "SpliceResult", "plan_splice", "prepare_splice", "review_seam", "splice",
           "splice_with_report"]

_WHERE = {"review_seam": "report", "splice_with_report": "report", "SpliceMode": "modes",
          "SplicePlan": "edit", "plan_splice": "edit", "SpliceResult": "splice", "prepare_splice": "splice",
          "splice": "splice"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"ltxkit.assembly.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'ltxkit.assembly' has no attribute {name!r}")
