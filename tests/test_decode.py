import codecs

import pytest

from pipeline.core.decode import DecodeError, decode_bytes

TEXT = "Café “quoted” — naïve, Nazary’s déjà vu.\nSecond line."


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),  # with BOM
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_detects_encoding_and_keeps_text(data, encoding):
    out = decode_bytes(data)
    assert out.encoding == encoding
    assert out.text == TEXT


def test_latin1_bytes_decode_to_the_same_letters():
    out = decode_bytes("Déjà vu à Genève: ½ ¾ ÿ".encode("latin-1"))
    assert out.text == "Déjà vu à Genève: ½ ¾ ÿ"
    assert out.repairs and out.repairs[0].startswith("decoded:")


def test_mojibake_is_repaired_and_recorded():
    broken = "The NRFâ€™s head said â€œlong-term conflictâ€\x9d in CafÃ©".encode()
    out = decode_bytes(broken)
    assert out.text == "The NRF’s head said “long-term conflict” in Café"
    assert any(r.startswith("ftfy") for r in out.repairs)


def test_curly_quotes_are_not_uncurled():
    assert decode_bytes("“Hi,” he said’".encode()).text == "“Hi,” he said’"


def test_line_endings_and_nfc():
    decomposed = "Cafe\u0301\r\nnext\rline"
    out = decode_bytes(decomposed.encode())
    assert out.text == "Café\nnext\nline"
    assert "line_endings" in out.repairs


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
        (bytes(range(1, 9)) * 50, "binary"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "undecodable"),
    ],
)
def test_bad_bytes_raise_with_reason(data, reason):
    with pytest.raises(DecodeError) as err:
        decode_bytes(data)
    assert err.value.reason == reason
    assert str(err.value)
