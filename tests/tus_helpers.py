"""What upload tests send: valid PDFs of a chosen size and tus ``Upload-Metadata`` headers."""

from __future__ import annotations

import base64
import io
import random

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject


def pdf_bytes(size: int, rng: random.Random | None = None) -> bytes:
    """A valid PDF of about ``size`` bytes (random comments in its page content), which material
    validation stores byte for byte; distinct each call, so the store never dedupes two uploads."""
    rng = rng or random.Random()
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    lines = [f"% {rng.randbytes(32).hex()}\n" for _ in range(size // 67 + 1)]
    stream.set_data(("".join(lines) + "0 0 m\n").encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def metadata(**values: object) -> str:
    """tus Upload-Metadata: comma-separated ``key base64(value)`` pairs."""
    return ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}" for k, v in values.items())
