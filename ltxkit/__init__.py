"""ltxkit: extend video clips with LTX-style generation and join them without visible seams."""

from __future__ import annotations

__version__ = "0.1.0"
