"""The receipt's QR code is segno's own, byte for byte and mask for mask, with the mask chosen by qr_mask.

qr_mask reproduces segno 1.6's choice of data mask (ISO/IEC 18004 7.8.3 as `segno.encoder.mask_scores` counts it)
from bitboards and puts the winner on segno's mask-0 symbol. If a segno release scored masks otherwise, laid the
symbol out otherwise or drew it otherwise, these tests fail rather than receipts quietly carrying another code. The
last tests hold the pieces to segno's internals one by one (layout, format bits, every penalty), to say which."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import segno
from segno import consts, encoder

from adapters.outside import qr_mask
from adapters.outside.documents import qr_data_uri

ROOT = Path(__file__).resolve().parents[2]
REGIONS = "川京沪吉兵苏浙粤鄂湘"
HOSTS = ("http://127.0.0.1:8000", "http://localhost:8000", "https://beian.example.gov.cn",
         "https://rst.sc.gov.cn/beian", "http://10.0.3.15:8080/jnjd")
# ISO/IEC 18004 Table 7: bytes a version holds at level M (the URLs are byte mode: lowercase and '%').
BYTES_AT_M = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412)


def _filing_number(rng: random.Random) -> str:
    return f"{rng.choice(REGIONS)}技评备〔{rng.randint(2020, 2030)}〕{rng.randint(1, 9999):04d}号"


def _receipt_urls(count: int) -> list[str]:
    """Verification addresses as receipts carry them: a host, /public/verify/, a percent-encoded filing number."""
    rng = random.Random(18004)
    return [f"{rng.choice(HOSTS)}/public/verify/{quote(_filing_number(rng))}" for _ in range(count)]


def _urls_by_version(per_version: int) -> list[tuple[str, int]]:
    """URLs of every length class from version 1 to 15 at level M: (url, the version segno must pick)."""
    rng = random.Random(7)
    urls = []
    for version, most in enumerate(BYTES_AT_M, start=1):
        least = BYTES_AT_M[version - 2] + 1 if version > 1 else 14
        for _ in range(per_version):
            length = rng.randint(least, most)
            stem = f"{rng.choice(HOSTS)}/public/verify/{quote(_filing_number(rng))}"
            url = (stem + "?" + "".join(rng.choice("abcdefxyz0123456789-_/") for _ in range(length)))[:length]
            if len(url) < length:  # a short class: a host and a path of letters instead
                url = "http://" + "".join(rng.choice("abcdefghijklmnop.-/") for _ in range(length - 7))
            urls.append((url, version))
    return urls


CASES = [(url, None) for url in _receipt_urls(150)] + _urls_by_version(4)  # 210 in all
CHUNKS = 8  # spread over pytest-xdist's workers


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_the_code_is_segnos_byte_for_byte_with_segnos_mask(chunk: int) -> None:
    for url, version in CASES[chunk::CHUNKS]:
        expected = segno.make(url, error="m")
        assert version is None or expected.version == version, (url, expected.designator)
        ours = qr_mask.make(url, error="m")
        assert (ours.mask, ours.designator) == (expected.mask, expected.designator), url
        assert ours.matrix == expected.matrix, url
        assert qr_data_uri(url) == expected.svg_data_uri(scale=4, border=2), url


# One address for each of the eight masks (the masks 0 and 1 are rare for receipt addresses), so that each mask's
# remasking and format information are drawn at least once.
EACH_MASK = {
    0: "http://10.0.3.15:8080/",
    1: "https://beian.exampl",
    2: "http://127.0.0.1:8000/public/verify/" + quote("川技评备〔2026〕0001号"),
    3: "http://127.0.0.1:8000/public/verify/" + quote("川技评备〔2026〕0038号"),
    4: "http://127.0.0.1:8000/public/verify/" + quote("川技评备〔2026〕0009号"),
    5: "https://beian.example.gov.cn/public/verify/" + quote("川技评备〔2026〕0004号"),
    6: "https://beian.example.gov.cn/public/verify/" + quote("川技评备〔2026〕0003号"),
    7: "http://127.0.0.1:8000/public/verify/" + quote("京技评备〔2026〕0004号"),
}


def test_every_mask_and_versions_1_to_15() -> None:
    assert {version for _url, version in CASES if version} == set(range(1, 16))
    for mask, url in EACH_MASK.items():
        expected = segno.make(url, error="m")
        assert expected.mask == mask, url  # the example still stands for its mask
        assert qr_mask.make(url, error="m").mask == mask, url
        assert qr_data_uri(url) == expected.svg_data_uri(scale=4, border=2), url


def test_micro_codes_and_raised_error_levels_are_segnos_too() -> None:
    # segno draws a Micro QR code for a short enough text, and raises the error level when the version has room.
    designators = set()
    for url in ("http://a.cn/", "http://ab.cn", "http://abcd.cn/x/y", "https://x.cn/public/v/1", "HTTP://X.CN/V/1",
                "http://127.0.0.1:8000/public/verify/1"):
        expected = segno.make(url, error="m")
        ours = qr_mask.make(url, error="m")
        assert (ours.mask, ours.designator, ours.matrix) == (expected.mask, expected.designator, expected.matrix)
        designators.add(expected.designator)
    assert {"M4-M", "2-Q", "2-M", "3-M"} <= designators, designators


def test_the_address_must_still_be_a_web_address() -> None:
    for url in ("ftp://x.cn/a", "javascript:alert(1)", "http://" + "a" * 500):
        with pytest.raises(ValueError, match="核验网址"):
            qr_data_uri(url)


def test_importing_qr_mask_does_not_load_segno() -> None:
    probe = "import sys, adapters.outside.qr_mask; print('segno' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


# segno's internals, piece by piece: a change here names what moved.


def test_layout_is_segnos_for_all_forty_versions() -> None:
    for version in range(1, 41):
        size = version * 4 + 17
        functions = encoder.make_matrix(size, size)
        encoder.add_finder_patterns(functions, size, size)
        encoder.add_alignment_patterns(functions, size, size)
        functions[-8][8] = 0x1
        segnos_data = bytes(int(value > 0x1) for row in functions for value in row)  # its is_encoding_region
        written = tuple(bytearray([0x2] * size) for _ in range(size))
        encoder.add_format_info(written, version, consts.ERROR_LEVEL_M, 0)
        encoder.add_version_info(written, version)
        segnos_late = bytes(int(value != 0x2) for row in written for value in row)
        assert qr_mask.symbol_layout(size) == (segnos_data, segnos_late), version
        assert qr_mask.alignment_centres(version) == list(consts.ALIGNMENT_POS[version - 2] if version > 1 else ())


def test_format_bits_are_segnos() -> None:
    levels = {"L": consts.ERROR_LEVEL_L, "M": consts.ERROR_LEVEL_M, "Q": consts.ERROR_LEVEL_Q,
              "H": consts.ERROR_LEVEL_H}
    for name, level in levels.items():
        for mask in range(8):
            assert qr_mask.format_bits(name, mask) == encoder.calc_format_info(1, level, mask), (name, mask)


def test_every_penalty_is_segnos() -> None:
    """All eight scores, not only the winner, against segno's evaluate_mask on the symbol it scores (no format or
    version information yet)."""
    for url, _version in CASES[::20]:
        size = len(segno.make(url, error="m", mask=0).matrix)
        _data, late = qr_mask.symbol_layout(size)
        segnos = []
        for mask in range(8):
            matrix = segno.make(url, error="m", mask=mask).matrix
            scored = [bytearray(0 if late[i * size + j] else row[j] for j in range(size))
                      for i, row in enumerate(matrix)]
            segnos.append(encoder.evaluate_mask(scored, size, size))
        assert qr_mask.penalties(segno.make(url, error="m", mask=0)) == segnos, url


FINDER_LIKE = tuple(bytes(int(c) for c in pattern)
                    for pattern in ("1011101", "10111011101", "1011101011101", "000010111010000"))


def test_penalties_of_random_squares_are_segnos() -> None:
    """Noise with finder-like patterns planted at the edges, in the middle and overlapping (segno skips some)."""
    rng = random.Random(40)
    for _ in range(150):
        size = rng.choice((21, 25, 29, 45, 57))
        matrix = [bytearray(rng.getrandbits(1) if rng.random() < 0.7 else 0 for _ in range(size)) for _ in range(size)]
        for _ in range(rng.randrange(12)):
            pattern = rng.choice(FINDER_LIKE)
            at = rng.choice((0, size - len(pattern), rng.randrange(size - len(pattern) + 1)))
            line, across = rng.randrange(size), rng.random() < 0.5
            for k, module in enumerate(pattern):
                if across:
                    matrix[line][at + k] = module
                else:
                    matrix[at + k][line] = module
        assert qr_mask.matrix_penalty(matrix) == sum(encoder.mask_scores(matrix, size, size))
