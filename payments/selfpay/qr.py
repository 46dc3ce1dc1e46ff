"""A QRIS string drawn as a QR code on the server (segno), as inline SVG a phone shows without a script."""

from __future__ import annotations

import segno

QR_WIDTH_PX = 264  # fits a 360-pixel phone's card with its margins


def qr_svg(text: str, title: str) -> str:
    """The QR code of ``text`` as an inline ``<svg>`` at most QR_WIDTH_PX wide (quiet zone included), titled for
    screen readers; error correction M, as QRIS asks."""
    code = segno.make(text, error="m", micro=False, boost_error=False)
    modules, _ = code.symbol_size(scale=1, border=4)
    scale = max(2, QR_WIDTH_PX // modules)
    return str(code.svg_inline(scale=scale, border=4, title=title, svgclass="qris", lineclass=None, dark="#000"))
