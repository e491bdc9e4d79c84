"""Validation and normalisation of uploaded application materials (issue 4 item 3).

Pure of HTTP and ORM and blocking: callers run :func:`normalise` in a worker thread
(``asyncio.to_thread``). The type is always sniffed from the bytes, never taken from the
filename or the Content-Type. Images are decoded, orientation-corrected, bounded and
re-encoded without any metadata (EXIF, GPS, XMP, ICC, text chunks); PDFs are inspected with
pikepdf (qpdf) and, when acceptable, stored byte for byte (the source itself, not a copy).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import filetype
import pikepdf
import pillow_heif
from PIL import Image, ImageCms, ImageOps

from api.core.errors import DomainError, RuleViolation, TooLarge, UnsupportedMedia

pillow_heif.register_heif_opener()

__all__ = [
    "SUPPORTED_TYPES",
    "MaterialRejected",
    "Normalised",
    "allowed_types_message",
    "normalise",
    "sniff",
]

#: Every MIME type :func:`normalise` can handle, in the order used in messages.
SUPPORTED_TYPES: tuple[str, ...] = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
    "application/pdf",
)

_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_HEIF_TYPES = frozenset({"image/heic", "image/heif"})
_LABELS = {
    "image/jpeg": "JPG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "image/heif": "HEIC",
}
# Sniffed type -> (Pillow decoder format, output Pillow format, output MIME type, suffix).
_IMAGE_PLAN = {
    "image/jpeg": ("JPEG", "JPEG", "image/jpeg", ".jpg"),
    "image/png": ("PNG", "PNG", "image/png", ".png"),
    "image/webp": ("WEBP", "WEBP", "image/webp", ".webp"),
    "image/heic": ("HEIF", "JPEG", "image/jpeg", ".jpg"),
    "image/heif": ("HEIF", "JPEG", "image/jpeg", ".jpg"),
}
_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}

_SNIFF_BYTES = 8192
_JPEG_QUALITY = 85
_WEBP_QUALITY = 85
_HEVC_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx"})

# PDF dictionary keys and name values that make a document active or carry hidden files.
_PDF_FORBIDDEN_KEYS = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/AA",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/RichMedia",
        "/RichMediaContent",
        "/RichMediaSettings",
        "/XFA",
    }
)
_PDF_FORBIDDEN_NAMES = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/EmbeddedFile",
        "/RichMedia",
        "/RichMediaExecute",
        "/ImportData",
        "/SubmitForm",
        "/GoToE",
    }
)
_PDF_TYPE_KEYS = frozenset({"/S", "/Type", "/Subtype"})
_PDF_MAX_NODES = 1_000_000


class MaterialRejected(Exception):
    """A material that must not be stored.

    ``kind`` is the kind of refusal the caller raises (too large, a type not accepted, or a file the
    rules refuse),
    ``message_zh`` is shown to the citizen, ``detail_en`` is for logs and API clients,
    ``code`` is a short machine-readable reason (e.g. ``"pdf_encrypted"``).
    """

    def __init__(self, kind: type[DomainError], message_zh: str, detail_en: str, *, code: str = "") -> None:
        super().__init__(detail_en)
        self.kind = kind
        self.message_zh = message_zh
        self.detail_en = detail_en
        self.code = code

    def __repr__(self) -> str:
        return f"MaterialRejected({self.kind.__name__}, {self.message_zh!r}, {self.detail_en!r}, code={self.code!r})"


@dataclass(frozen=True, slots=True)
class Normalised:
    """The file to store: a new file in ``workdir`` that the caller owns (and deletes), or, when
    ``is_source`` (an accepted PDF, stored byte for byte), the source itself: never copied, so a
    200 MB PDF costs no second write."""

    path: Path
    mime: str
    size: int
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    source_mime: str = ""
    is_source: bool = False

    @property
    def suffix(self) -> str:
        """The conventional file suffix for ``mime`` (``.jpg``, ``.png``, ``.webp``, ``.pdf``)."""
        return _SUFFIXES[self.mime]


# --------------------------------------------------------------------------- type sniffing


def sniff(head: bytes) -> str | None:
    """The MIME type of a file from its first bytes (8 KiB are plenty), or None if unknown.

    Usable on the first chunk of a stream to abort early. HEIC/HEIF variants that ``filetype``
    does not know (10-bit ``heix``, ``mif1`` with HEVC brands) are recognised here.
    """
    kind = filetype.guess(head[:_SNIFF_BYTES])
    mime = kind.mime if kind is not None else None
    if mime is None and len(head) >= 16 and head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[0:4], "big")
        end = min(max(box_size, 16), len(head), 512)
        major = head[8:12].decode("latin-1")
        compatible = {head[i : i + 4].decode("latin-1") for i in range(16, end - 3, 4)}
        if major in _HEVC_BRANDS:
            mime = "image/heic"
        elif major in {"mif1", "msf1"} and compatible & _HEVC_BRANDS:
            mime = "image/heif"
    return _ALIASES.get(mime, mime) if mime else None


def _canonical_types(accepted_types: Iterable[str]) -> frozenset[str]:
    result: set[str] = set()
    for raw in accepted_types:
        mime = raw.strip().lower()
        mime = _ALIASES.get(mime, mime)
        if mime not in SUPPORTED_TYPES:
            raise ValueError(f"unsupported material type {raw!r}; supported: {', '.join(SUPPORTED_TYPES)}")
        result.add(mime)
    if result & _HEIF_TYPES:
        result |= _HEIF_TYPES
    if not result:
        raise ValueError("accepted_types must not be empty")
    return frozenset(result)


def allowed_types_message(accepted_types: Iterable[str]) -> str:
    """The citizen-facing sentence naming the allowed types, e.g. 只接受 JPG、PNG、WebP、HEIC 图片或 PDF 文件."""
    accepted = _canonical_types(accepted_types)
    labels: list[str] = []
    for mime in SUPPORTED_TYPES:
        label = _LABELS.get(mime)
        if mime in accepted and label and label not in labels:
            labels.append(label)
    parts = []
    if labels:
        parts.append("、".join(labels) + " 图片")
    if "application/pdf" in accepted:
        parts.append("PDF 文件")
    return "只接受 " + "或 ".join(parts)


def _human_size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib:
        return f"{n / mib:.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} 字节"


def _corrupt(detail: str) -> MaterialRejected:
    return MaterialRejected(RuleViolation, "文件已损坏或无法识别，请重新拍摄或上传", detail, code="corrupt")


# --------------------------------------------------------------------------- entry point


def normalise(
    source: Path,
    *,
    accepted_types: list[str],
    max_bytes: int,
    workdir: Path,
    long_side: int = 3000,
    max_pixels: int = 40_000_000,
    max_pdf_pages: int = 200,
) -> Normalised:
    """Validate ``source`` and write the file to store into a new file in ``workdir``.

    Raises :class:`MaterialRejected` (413 oversize, 415 type not accepted, 422 corrupt, too many
    pixels, encrypted/active PDF, too many pages). ``source`` is never modified.
    """
    accepted = _canonical_types(accepted_types)
    if long_side < 1 or max_pixels < 1 or max_pdf_pages < 1 or max_bytes < 1:
        raise ValueError("limits must be positive")
    source = Path(source)
    size = source.stat().st_size
    if size > max_bytes:
        raise MaterialRejected(
            TooLarge,
            f"文件过大，不能超过 {_human_size(max_bytes)}",
            f"file is {size} bytes, the limit is {max_bytes} bytes",
            code="too_large",
        )
    if size == 0:
        raise MaterialRejected(RuleViolation, "文件为空，请重新上传", "file is empty", code="empty")
    with source.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    mime = sniff(head)
    if mime is None or mime not in accepted:
        raise MaterialRejected(
            UnsupportedMedia,
            allowed_types_message(accepted),
            f"file type {mime or 'unknown'} is not accepted; allowed: {', '.join(sorted(accepted))}",
            code="type_not_accepted",
        )
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if mime == "application/pdf":
        return _normalise_pdf(source, size, max_pdf_pages)
    lossless_webp = mime == "image/webp" and head[12:16] == b"VP8L"
    return _normalise_image(source, mime, workdir, long_side, max_pixels, lossless_webp)


def _new_output(workdir: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="material-", suffix=suffix, dir=workdir)
    os.close(fd)
    return Path(name)


# --------------------------------------------------------------------------- images


def _normalise_image(
    source: Path, mime: str, workdir: Path, long_side: int, max_pixels: int, lossless_webp: bool
) -> Normalised:
    decoder, out_format, out_mime, suffix = _IMAGE_PLAN[mime]
    try:
        # First open: header only — refuse bombs before any pixel is decoded, then verify.
        with Image.open(source, formats=[decoder]) as probe:
            _check_pixels(probe.size, max_pixels)
            probe.verify()
        with Image.open(source, formats=[decoder]) as im:
            _check_pixels(im.size, max_pixels)
            if decoder == "JPEG" and max(im.size) > long_side:
                ratio = long_side / max(im.size)
                im.draft(None, (math.ceil(im.size[0] * ratio), math.ceil(im.size[1] * ratio)))
            im.load()
            image = _prepare(im, out_format, long_side)
    except MaterialRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise _bomb(str(exc)) from exc
    except Image.DecompressionBombWarning as exc:  # only if a caller turned the warning into an error
        raise _bomb(str(exc)) from exc
    except Exception as exc:  # decoders raise many types on hostile input; all mean "unreadable"
        raise _corrupt(f"cannot decode {mime}: {type(exc).__name__}: {exc}") from exc

    out = _new_output(workdir, suffix)
    try:
        with out.open("wb") as fh:
            if out_format == "JPEG":
                image.save(fh, "JPEG", quality=_JPEG_QUALITY, optimize=True, exif=b"", icc_profile=None)
            elif out_format == "PNG":
                params = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
                image.save(fh, "PNG", icc_profile=None, **params)
            else:
                image.save(
                    fh,
                    "WEBP",
                    quality=100 if lossless_webp else _WEBP_QUALITY,
                    lossless=lossless_webp,
                    exif=b"",
                    xmp=b"",
                    icc_profile=None,
                )
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return Normalised(
        path=out, mime=out_mime, size=out.stat().st_size, width=image.width, height=image.height, source_mime=mime
    )


def _bomb(detail: str) -> MaterialRejected:
    return MaterialRejected(
        RuleViolation, "图片像素过多，请缩小后重新上传", f"decompression bomb refused: {detail}", code="too_many_pixels"
    )


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise _corrupt(f"invalid image dimensions {width}x{height}")
    if width * height > max_pixels:
        raise MaterialRejected(
            RuleViolation,
            f"图片像素过多（{width}×{height}），最多 {max_pixels // 10_000} 万像素，请缩小后重新上传",
            f"image header claims {width}x{height} = {width * height} pixels, the limit is {max_pixels}",
            code="too_many_pixels",
        )


def _prepare(im: Image.Image, out_format: str, long_side: int) -> Image.Image:
    """Orientation applied, bounded, sRGB, a mode the output format takes, and no metadata."""
    icc = im.info.get("icc_profile")
    image = ImageOps.exif_transpose(im)  # a new image; never copy its info["exif"] back
    if max(image.size) > long_side:
        if image.mode in ("P", "1"):  # resizing these is nearest-neighbour only: go to full colour first
            image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        ratio = long_side / max(image.size)
        new_size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
        if max(new_size) > long_side:
            new_size = (min(new_size[0], long_side), min(new_size[1], long_side))
        image = image.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        image = _to_srgb(image, icc)
    transparency = image.info.get("transparency")
    if out_format == "JPEG":
        image = _flatten(image) if image.mode not in ("RGB", "L") else image
    elif out_format == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA") if image.has_transparency_data else image.convert("RGB")
    elif image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA") if image.has_transparency_data else image.convert("RGB")
    if image is im:
        image = im.copy()
    # Drop every piece of metadata; only PNG palette/grey transparency survives.
    image.info = {}
    if out_format == "PNG" and transparency is not None and image.mode in ("P", "L", "RGB"):
        image.info["transparency"] = transparency
    return image


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, src, dst, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _flatten(image: Image.Image) -> Image.Image:
    """Any mode -> RGB (or L), alpha composited onto white, as JPEG needs."""
    if image.has_transparency_data or image.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("1", "I;16", "I", "F"):
        return image.convert("L")
    return image.convert("RGB")


# --------------------------------------------------------------------------- PDFs


def _normalise_pdf(source: Path, size: int, max_pages: int) -> Normalised:
    try:
        # qpdf (through pikepdf) parses objects on demand and never loads stream data for this
        # walk, so memory stays small whatever the file's size (pypdf resolved every stream:
        # +204 MiB for a 200 MB upload in tests/bench/bench_uploads.py).
        with pikepdf.open(source, access_mode=pikepdf.AccessMode.stream) as pdf:
            if pdf.is_encrypted:
                raise _encrypted()
            _scan_pdf(pdf)
            pages = len(pdf.pages)
    except MaterialRejected:
        raise
    except pikepdf.PasswordError:
        raise _encrypted() from None
    except Exception as exc:  # qpdf raises on hostile input in many ways; all mean "unreadable"
        raise _corrupt(f"cannot parse PDF: {type(exc).__name__}: {exc}") from exc
    if pages < 1:
        raise _corrupt("PDF has no pages")
    if pages > max_pages:
        raise MaterialRejected(
            RuleViolation,
            f"PDF 页数过多（{pages} 页），最多 {max_pages} 页",
            f"PDF has {pages} pages, the limit is {max_pages}",
            code="pdf_too_many_pages",
        )
    return Normalised(path=source, mime="application/pdf", size=size, pages=pages, source_mime="application/pdf",
                      is_source=True)


def _encrypted() -> MaterialRejected:
    return MaterialRejected(
        RuleViolation, "PDF 文件已加密，请去除密码后重新上传", "encrypted PDFs are not accepted", code="pdf_encrypted"
    )


def _scan_pdf(pdf: pikepdf.Pdf) -> None:
    """Walk everything reachable from the document catalog (pages, annotations, names tree,
    forms, outlines) and refuse scripts, automatic actions, launch actions and embedded files.
    Stream dictionaries are inspected; stream data is never read."""
    stack: list[pikepdf.Object] = [pdf.Root]
    seen: set[tuple[int, int]] = set()
    nodes = 0
    while stack:
        obj = stack.pop()
        nodes += 1
        if nodes > _PDF_MAX_NODES:
            raise _corrupt("PDF object graph is too large to inspect")
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            for key, value in obj.items():
                if key in _PDF_FORBIDDEN_KEYS:
                    raise _active_pdf(f"key {key}")
                if key == "/OpenAction":
                    _check_open_action(value)
                if key in _PDF_TYPE_KEYS and isinstance(value, pikepdf.Name) and str(value) in _PDF_FORBIDDEN_NAMES:
                    raise _active_pdf(f"{key} {value}")
                if isinstance(value, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array):
                    stack.append(value)
        elif isinstance(obj, pikepdf.Array):
            stack.extend(v for v in obj if isinstance(v, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array))


def _check_open_action(value: pikepdf.Object) -> None:
    """/OpenAction may only be a destination (``[page /Fit]``, common in LaTeX output) or a plain
    /GoTo action; anything else (JavaScript, Launch, URI, SubmitForm, chained /Next) is refused."""
    if isinstance(value, pikepdf.Array):
        return
    if isinstance(value, pikepdf.Dictionary) and value.get("/S") == "/GoTo" and "/Next" not in value:
        return
    raise _active_pdf("/OpenAction that is not a plain destination")


def _active_pdf(what: str) -> MaterialRejected:
    return MaterialRejected(
        RuleViolation,
        "PDF 文件包含脚本、自动动作或嵌入文件，出于安全原因不予接收，请另存为普通 PDF 后重新上传",
        f"PDF contains active content or embedded files ({what})",
        code="pdf_active_content",
    )

