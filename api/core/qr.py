"""QR codes (for hall posters, receipts and sharing), memoised: the same URL gives the same bytes."""

from __future__ import annotations

import functools
import io

import qrcode
import qrcode.image.svg


def _make(url: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


@functools.lru_cache(maxsize=2048)
def qr_svg(url: str) -> bytes:
    img = _make(url).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return img.to_string(encoding="utf-8")


@functools.lru_cache(maxsize=512)
def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    _make(url).make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()
