"""Material validation and normalisation (api/uploads/validation.py), on real files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from api.core.errors import RuleViolation, TooLarge, UnsupportedMedia
from api.uploads.validation import (
    MaterialRejected,
    Normalised,
    allowed_types_message,
    normalise,
    sniff,
)

ALL = ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]
MB = 1024 * 1024
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="39,54.45N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _exif_with_gps(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 17.0)
    return exif


def _half_red_half_blue(size: tuple[int, int]) -> Image.Image:
    im = Image.new("RGB", size, (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return im


def _jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # SOS
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        pos += 2 + length
    return markers


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


def _webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        fourcc, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.append(fourcc)
        pos += 8 + length + (length & 1)
    return chunks


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose IHDR claims width×height but that carries almost no pixel data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def _run(source: Path, tmp_path: Path, **kwargs) -> Normalised:
    kwargs.setdefault("accepted_types", ALL)
    kwargs.setdefault("max_bytes", 20 * MB)
    return normalise(source, workdir=tmp_path / "work", **kwargs)


def _rejected(source: Path, tmp_path: Path, **kwargs) -> MaterialRejected:
    with pytest.raises(MaterialRejected) as info:
        _run(source, tmp_path, **kwargs)
    work = tmp_path / "work"
    assert not work.exists() or not any(work.iterdir()), "a rejected material left a file behind"
    return info.value


# --------------------------------------------------------------------------- JPEG


def test_jpeg_gps_exif_xmp_stripped_orientation_applied_and_bounded(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    _half_red_half_blue((400, 200)).save(src, "JPEG", exif=_exif_with_gps(6), xmp=XMP, quality=95)
    with Image.open(src) as check:  # precondition: the source really carries GPS, orientation and XMP
        assert check.getexif().get_ifd(0x8825)
        assert check.getexif()[0x0112] == 6
    assert b"GPS" in src.read_bytes() or b"Exif" in src.read_bytes()
    assert b"ns.adobe.com/xap" in src.read_bytes()

    result = _run(src, tmp_path, long_side=300)

    assert result.mime == "image/jpeg" and result.suffix == ".jpg" and result.source_mime == "image/jpeg"
    assert result.path.parent == tmp_path / "work" and result.path != src
    data = result.path.read_bytes()
    assert result.size == len(data)
    # Orientation 6 applied: 400×200 landscape stored, 200×400 portrait shown; then bounded to 300.
    assert (result.width, result.height) == (150, 300)
    markers = _jpeg_segments(data)
    assert 0xE1 not in markers, "APP1 (EXIF/XMP) segment present"
    assert 0xE2 not in markers, "APP2 (ICC) segment present"
    assert b"Exif" not in data and b"GPS" not in data and b"http://ns.adobe.com/xap" not in data
    assert b"PhoneMaker" not in data
    with Image.open(result.path) as out:
        assert out.format == "JPEG"
        assert out.size == (150, 300)
        assert len(out.getexif()) == 0
        assert "exif" not in out.info and "xmp" not in out.info
        rgb = out.convert("RGB")
        top, bottom = rgb.getpixel((75, 20)), rgb.getpixel((75, 280))
    # 90° clockwise: the red left half becomes the top.
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert src.read_bytes()[:2] == b"\xff\xd8"  # source untouched


def test_jpeg_long_side_default_bound(tmp_path: Path) -> None:
    src = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 2400), (90, 120, 150)).save(src, "JPEG")
    result = _run(src, tmp_path)
    assert (result.width, result.height) == (3000, 1800)
    with Image.open(result.path) as out:
        assert out.size == (3000, 1800)


def test_small_jpeg_is_not_enlarged_and_cmyk_becomes_rgb(tmp_path: Path) -> None:
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (120, 80), (0, 255, 255, 0)).save(src, "JPEG")
    result = _run(src, tmp_path)
    with Image.open(result.path) as out:
        assert out.mode == "RGB" and out.size == (120, 80)
        r, g, b = out.getpixel((60, 40))
    assert r > 200 and g < 60 and b < 60


def test_jpeg_icc_profile_dropped(tmp_path: Path) -> None:
    src = tmp_path / "icc.jpg"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(src, "JPEG", icc_profile=icc)
    result = _run(src, tmp_path)
    with Image.open(result.path) as out:
        assert "icc_profile" not in out.info
        assert out.getpixel((32, 32))[1] > 150


def test_truncated_jpeg_is_422(tmp_path: Path) -> None:
    src = tmp_path / "broken.jpg"
    buf = io.BytesIO()
    Image.effect_noise((600, 600), 64).convert("RGB").save(buf, "JPEG")
    src.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    err = _rejected(src, tmp_path)
    assert err.kind is RuleViolation and err.code == "corrupt"
    assert "损坏" in err.message_zh


def test_jpeg_bomb_refused_from_header(tmp_path: Path) -> None:
    # A real 8×8 JPEG whose SOF0 header is patched to claim 50000×50000.
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 50_000, 50_000)
    src = tmp_path / "bomb.jpg"
    src.write_bytes(bytes(data))
    err = _rejected(src, tmp_path)
    assert err.kind is RuleViolation and err.code == "too_many_pixels"


# --------------------------------------------------------------------------- PNG / WebP / HEIC


def test_png_text_chunks_and_exif_stripped(tmp_path: Path) -> None:
    src = tmp_path / "scan.png"
    info = PngInfo()
    info.add_text("Comment", "GPS 39.9N 116.4E")
    info.add_text("Author", "张三", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    im = Image.new("RGBA", (300, 200), (0, 128, 0, 200))
    im.save(src, "PNG", pnginfo=info, exif=_exif_with_gps(1), dpi=(300, 300))
    assert {b"tEXt", b"iTXt", b"eXIf"} <= set(_png_chunks(src.read_bytes()))

    result = _run(src, tmp_path)

    assert result.mime == "image/png" and result.suffix == ".png"
    chunks = set(_png_chunks(result.path.read_bytes()))
    assert chunks <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}, chunks
    with Image.open(result.path) as out:
        assert out.mode == "RGBA" and out.size == (300, 200)
        assert out.getpixel((10, 10)) == (0, 128, 0, 200)
        assert len(out.getexif()) == 0


def test_palette_png_keeps_transparency(tmp_path: Path) -> None:
    src = tmp_path / "p.png"
    im = Image.new("P", (40, 40), 1)
    im.putpalette([255, 255, 255, 200, 0, 0] + [0] * (256 * 3 - 6))
    im.info["transparency"] = 0
    im.paste(0, (0, 0, 20, 40))
    im.save(src, "PNG", transparency=0)
    result = _run(src, tmp_path)
    with Image.open(result.path) as out:
        rgba = out.convert("RGBA")
        assert rgba.getpixel((5, 5))[3] == 0
        assert rgba.getpixel((30, 5)) == (200, 0, 0, 255)


def test_webp_exif_xmp_stripped_and_stays_webp(tmp_path: Path) -> None:
    src = tmp_path / "photo.webp"
    _half_red_half_blue((320, 160)).save(src, "WEBP", exif=_exif_with_gps(6), xmp=XMP, quality=90)
    assert {b"EXIF", b"XMP "} <= set(_webp_chunks(src.read_bytes()))

    result = _run(src, tmp_path, long_side=200)

    assert result.mime == "image/webp" and result.suffix == ".webp"
    data = result.path.read_bytes()
    chunks = set(_webp_chunks(data))
    assert not chunks & {b"EXIF", b"XMP ", b"ICCP"}, chunks
    assert b"GPS" not in data and b"PhoneMaker" not in data
    assert (result.width, result.height) == (100, 200)
    with Image.open(result.path) as out:
        assert out.format == "WEBP" and out.size == (100, 200)
        assert len(out.getexif()) == 0


def test_heic_becomes_jpeg_without_metadata(tmp_path: Path) -> None:
    src = tmp_path / "IMG_0001.HEIC"
    heif = pillow_heif.from_pillow(_half_red_half_blue((256, 128)))
    heif.info["exif"] = _exif_with_gps(6).tobytes()  # pillow-heif turns this into an irot transform
    heif.info["xmp"] = XMP
    heif.save(src, quality=90)
    assert sniff(src.read_bytes()[:8192]) in {"image/heic", "image/heif"}
    with Image.open(src) as check:
        assert check.getexif().get_ifd(0x8825)

    result = _run(src, tmp_path)

    assert result.mime == "image/jpeg" and result.suffix == ".jpg" and result.source_mime == "image/heic"
    assert (result.width, result.height) == (128, 256)
    data = result.path.read_bytes()
    assert 0xE1 not in _jpeg_segments(data)
    assert b"GPS" not in data and b"PhoneMaker" not in data
    with Image.open(result.path) as out:
        # Rotated exactly once (libheif applies irot, the EXIF orientation is reset): no double rotation.
        assert out.format == "JPEG" and out.size == (128, 256) and out.mode == "RGB"
        assert len(out.getexif()) == 0


def test_heic_not_accepted_when_requirement_excludes_it(tmp_path: Path) -> None:
    src = tmp_path / "x.heic"
    pillow_heif.from_pillow(Image.new("RGB", (64, 64))).save(src)
    err = _rejected(src, tmp_path, accepted_types=["image/jpeg", "image/png"])
    assert err.kind is UnsupportedMedia
    assert err.message_zh == "只接受 JPG、PNG 图片"


def test_png_bomb_refused_before_decoding(tmp_path: Path) -> None:
    # 50k×50k is over Pillow's own hard limit; the IDAT is far too short, so decoding would fail as
    # "corrupt" — a "too_many_pixels" answer proves the header was checked first.
    err = _rejected(_png_header_only(tmp_path / "bomb.png", 50_000, 50_000), tmp_path)
    assert err.kind is RuleViolation and err.code == "too_many_pixels"
    assert "像素" in err.message_zh


def test_pixel_limit_is_ours_not_pillows(tmp_path: Path) -> None:
    # 8000×6000 = 48 MP: under Pillow's default warning threshold, over our 40 MP default.
    err = _rejected(_png_header_only(tmp_path / "big.png", 8000, 6000), tmp_path)
    assert err.kind is RuleViolation and err.code == "too_many_pixels"
    assert "8000x6000" in err.detail_en
    err = _rejected(_png_header_only(tmp_path / "b2.png", 300, 300), tmp_path, max_pixels=80_000)
    assert err.code == "too_many_pixels"


# --------------------------------------------------------------------------- type and size


def test_html_renamed_jpg_is_415_naming_allowed_types(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    src.write_text("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", encoding="utf-8")
    err = _rejected(src, tmp_path)
    assert err.kind is UnsupportedMedia and err.code == "type_not_accepted"
    assert err.message_zh == "只接受 JPG、PNG、WebP、HEIC 图片或 PDF 文件"
    assert "unknown" in err.detail_en


def test_pdf_when_only_images_accepted_is_415(tmp_path: Path) -> None:
    src = tmp_path / "scan.jpg"  # the name lies; the bytes are a PDF
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.write(src)
    err = _rejected(src, tmp_path, accepted_types=["image/jpeg"])
    assert err.kind is UnsupportedMedia and err.message_zh == "只接受 JPG 图片"
    assert "application/pdf" in err.detail_en


def test_oversize_is_413(tmp_path: Path) -> None:
    src = tmp_path / "big.png"
    Image.effect_noise((200, 200), 100).save(src, "PNG")
    err = _rejected(src, tmp_path, max_bytes=1024)
    assert err.kind is TooLarge and err.code == "too_large"
    assert "1 KB" in err.message_zh


def test_empty_file_is_422(tmp_path: Path) -> None:
    src = tmp_path / "empty.jpg"
    src.write_bytes(b"")
    assert _rejected(src, tmp_path).kind is RuleViolation


def test_unsupported_accepted_type_is_a_programming_error(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(src)
    with pytest.raises(ValueError):
        normalise(src, accepted_types=["image/gif"], max_bytes=MB, workdir=tmp_path)
    with pytest.raises(ValueError):
        normalise(src, accepted_types=[], max_bytes=MB, workdir=tmp_path)


def test_allowed_types_message() -> None:
    assert allowed_types_message(["application/pdf"]) == "只接受 PDF 文件"
    assert allowed_types_message(["image/heif", "image/jpg"]) == "只接受 JPG、HEIC 图片"
    assert allowed_types_message(list(reversed(ALL))) == "只接受 JPG、PNG、WebP、HEIC 图片或 PDF 文件"


# --------------------------------------------------------------------------- PDF


def _blank_pdf(path: Path, pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.write(path)
    return writer


def test_plain_pdf_passes_byte_identical(tmp_path: Path) -> None:
    src = tmp_path / "证明.pdf"
    _blank_pdf(src, pages=3)
    result = _run(src, tmp_path)
    assert result.mime == "application/pdf" and result.suffix == ".pdf"
    assert result.pages == 3 and result.width is None and result.height is None
    assert result.path.read_bytes() == src.read_bytes()
    assert result.size == src.stat().st_size
    assert result.is_source and result.path == src  # stored as is: never copied
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []


def test_javascript_hidden_in_a_compressed_object_stream_is_422(tmp_path: Path) -> None:
    # PDF 1.5 object streams compress dictionaries; the scan must see inside them.
    import pikepdf

    src = tmp_path / "objstm.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
        pdf.Root.Names = pikepdf.Dictionary(JavaScript=pdf.make_indirect(pikepdf.Dictionary(
            Names=pikepdf.Array([pikepdf.String("x"), action]))))
        pdf.save(src, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert b"/JavaScript" not in src.read_bytes()  # really hidden from a byte search
    err = _rejected(src, tmp_path)
    assert err.code == "pdf_active_content"


def test_pdf_with_destination_open_action_passes(tmp_path: Path) -> None:
    # LaTeX/hyperref writes /OpenAction [page /Fit]: a view setting, not an action.
    src = tmp_path / "latex.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer._root_object[NameObject("/OpenAction")] = ArrayObject(
        [writer.pages[0].indirect_reference, NameObject("/Fit")]
    )
    writer.write(src)
    assert _run(src, tmp_path).pages == 1


def test_too_many_pages_is_422(tmp_path: Path) -> None:
    src = tmp_path / "long.pdf"
    _blank_pdf(src, pages=5)
    err = _rejected(src, tmp_path, max_pdf_pages=4)
    assert err.kind is RuleViolation and err.code == "pdf_too_many_pages"
    assert "5" in err.message_zh and "4" in err.message_zh


def test_encrypted_pdf_is_422(tmp_path: Path) -> None:
    src = tmp_path / "locked.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    writer.write(src)
    assert PdfReader(src).is_encrypted
    err = _rejected(src, tmp_path)
    assert err.kind is RuleViolation and err.code == "pdf_encrypted"
    assert "加密" in err.message_zh


def test_open_action_javascript_pdf_is_422(tmp_path: Path) -> None:
    src = tmp_path / "js.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    action = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hi');"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    writer.write(src)
    err = _rejected(src, tmp_path)
    assert err.kind is RuleViolation and err.code == "pdf_active_content"
    assert "脚本" in err.message_zh


def test_names_tree_javascript_pdf_is_422(tmp_path: Path) -> None:
    src = tmp_path / "names.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("this.print();")}
    )
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("p"), writer._add_object(action)])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): writer._add_object(tree)})
    writer.write(src)
    err = _rejected(src, tmp_path)
    assert err.code == "pdf_active_content"
    assert "/JavaScript" in err.detail_en or "/JS" in err.detail_en


def test_embedded_file_pdf_is_422(tmp_path: Path) -> None:
    src = tmp_path / "attach.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("payload.exe", b"MZ\x90\x00")
    writer.write(src)
    err = _rejected(src, tmp_path)
    assert err.code == "pdf_active_content"
    assert "/EmbeddedFile" in err.detail_en or "/EF" in err.detail_en


def test_page_annotation_additional_action_is_422(tmp_path: Path) -> None:
    src = tmp_path / "aa.pdf"
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    launch = DictionaryObject({NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc")})
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(launch)})
    writer.write(src)
    err = _rejected(src, tmp_path)
    assert err.code == "pdf_active_content"
    assert "/AA" in err.detail_en


def test_corrupt_pdf_is_422(tmp_path: Path) -> None:
    src = tmp_path / "bad.pdf"
    src.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 200)
    err = _rejected(src, tmp_path)
    assert err.kind is RuleViolation and err.code == "corrupt"

