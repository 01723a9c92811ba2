"""The QR code segno draws for a text, with segno's own choice of data mask, made some thirty times faster.

Of the eight data-mask patterns (ISO/IEC 18004:2015 7.8.2) an encoder keeps the one whose symbol scores the fewest
penalty points (7.8.3: runs, 2×2 blocks, finder-like patterns, dark proportion) — that is the mask that makes a
printed code easiest to scan, and we keep it. segno 1.6 scores each candidate module by module in pure Python,
which is three quarters of what drawing a receipt's code costs. Here the same scores come from bitboards: a whole
symbol as one Python int (rows, and again columns), one bit per module, so that each rule is a handful of shifts,
ANDs and popcounts over all lines at once (about 0.2 ms for all eight masks of a receipt's code, against 6 ms).

Only segno's public API is used: `segno.make(..., mask=0)` gives the symbol once (its matrix, error level, version);
taking mask 0 back out of it gives the unmasked symbol, which is scored under all eight masks; the winner is then
put on the same symbol (mask and format information swapped, version information unchanged; the documented
attributes `matrix` and `mask` of the code object segno just made for us), so segno encodes only once. What segno
does not expose — which modules are data, where format and version information sit — is
the standard's fixed layout, computed here. The result must be exactly the code `segno.make(text, error=...)`
returns, same modules and same `.mask`: tests/unit/test_qr_mask.py checks that over hundreds of inputs and every
penalty score against segno's own, so a segno that chose otherwise fails the tests instead of printing a different
code. pyproject.toml pins the segno versions whose mask selection this was checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import segno

# Light modules between two lines of a bitboard. Four, because the N3 rule looks four modules past either end of a
# finder-like pattern and segno counts beyond the symbol's edge as light; the guards also keep runs and patterns
# from continuing from one line into the next.
_GUARD = 4
_ZEROS = bytes(_GUARD)
# A matrix row (bytes 0/1, column 0 first) to the digits of a binary literal, for int(…, 2).
_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
# ISO/IEC 18004 Table 12: the error correction level's two bits in the format information.
_LEVEL_BITS = {"L": 0b01, "M": 0b00, "Q": 0b11, "H": 0b10}


def _board(lines: list[bytes]) -> int:
    """Lines of n bytes 0/1 as one bitboard: line k's module j is bit k·(n + _GUARD) + j, the guards 0."""
    return int(b"".join(line + _ZEROS for line in lines)[::-1].translate(_DIGITS), 2)


def _rows(flat: bytes, size: int) -> list[bytes]:
    return [flat[i:i + size] for i in range(0, size * size, size)]


def _columns(flat: bytes, size: int) -> list[bytes]:
    return [flat[j::size] for j in range(size)]


def _mask_condition(mask: int, i: int, j: int) -> bool:
    """ISO/IEC 18004 Table 10 (i row, j column), written as segno writes it."""
    if mask == 0:
        return (i + j) % 2 == 0
    if mask == 1:
        return i % 2 == 0
    if mask == 2:
        return j % 3 == 0
    if mask == 3:
        return (i + j) % 3 == 0
    if mask == 4:
        return (i // 2 + j // 3) % 2 == 0
    if mask == 5:
        return (i * j) % 2 + (i * j) % 3 == 0
    if mask == 6:
        return ((i * j) % 2 + (i * j) % 3) % 2 == 0
    return ((i + j) % 2 + (i * j) % 3) % 2 == 0


def alignment_centres(version: int) -> list[int]:
    """ISO/IEC 18004 Annex E, Table E.1: the rows (and columns) of the alignment patterns' centres."""
    if version < 2:
        return []
    count = version // 7 + 2
    step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    size = version * 4 + 17
    return [6] + [size - 7 - k * step for k in range(count - 1)][::-1]


def format_bits(error: str, mask: int) -> int:
    """ISO/IEC 18004 7.9.1: the 15 format information bits, a BCH(15,5) code masked with 101010000010010."""
    data = _LEVEL_BITS[error] << 3 | mask
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    return (data << 10 | remainder) ^ 0x5412


def _format_positions(size: int) -> list[tuple[int, int, int]]:
    """(row, column, bit) of each format information module (ISO/IEC 18004 Figure 25), as segno places them."""
    positions = []
    for i in range(8):
        skip_timing = int(i >= 6)
        positions.append((i + skip_timing, 8, i))  # beside the upper left finder, downwards
        positions.append((8, i + skip_timing, 14 - i))  # below it, rightwards
        positions.append((8, size - 1 - i, i))  # below the upper right finder
        if i < 7:  # the eighth is the dark module, always dark
            positions.append((size - 1 - i, 8, 14 - i))  # beside the lower left finder
    return positions


class _Geometry(NamedTuple):
    """The constant bitboards of a square of `size` × `size` modules."""

    valid: int  # rows or columns alike: the modules, without the guards
    pair: int  # modules whose right neighbour in the line is a module too
    below: int  # (rows) modules with a module below


@cache
def _geometry(size: int) -> _Geometry:
    valid = _board([b"\x01" * size] * size)
    return _Geometry(valid, valid & valid >> 1, valid & valid >> (size + _GUARD))


class _Layout(NamedTuple):
    """What depends only on the symbol's size: the masks and the bitboards' constant parts."""

    after_masking: tuple[int, int]  # rows, columns: 1 = written after masking (format, version, dark module) …
    # … which segno scores as light, since it adds them only once the mask is chosen
    flips: tuple[tuple[int, int], ...]  # per mask k, rows and columns: mask 0 taken out, mask k put in
    flips_bytes: tuple[int, ...]  # per mask k, the same as one byte per module (for the matrix itself)


@cache
def symbol_layout(size: int) -> tuple[bytes, bytes]:
    """Two grids of a QR symbol of `size` × `size` modules, row by row, one byte (0/1) per module: the data
    modules (1 = masked), and the modules written after masking (1 = format or version information, dark module)."""
    version = (size - 17) // 4
    data = [bytearray(b"\x01" * size) for _ in range(size)]
    late = [bytearray(size) for _ in range(size)]

    def function(rows: range, columns: range, grid: list[bytearray] = data, value: int = 0) -> None:
        for i in rows:
            grid[i][columns.start:columns.stop] = bytes([value]) * len(columns)

    near, far = range(8), range(size - 8, size)
    for rows, columns in ((near, near), (near, far), (far, near)):
        function(rows, columns)  # finder patterns with their separators
    function(range(6, 7), range(size))  # timing patterns
    function(range(size), range(6, 7))
    function(range(8, 9), range(9))  # format information (and the dark module, column 8 row size - 8)
    function(range(8, 9), far)
    function(range(9), range(8, 9))
    function(far, range(8, 9))
    for row, column, _bit in _format_positions(size):
        late[row][column] = 1
    late[size - 8][8] = 1  # the dark module
    if version >= 7:  # version information, two blocks of 6 × 3
        for rows, columns in ((range(6), range(size - 11, size - 8)), (range(size - 11, size - 8), range(6))):
            function(rows, columns)
            function(rows, columns, late, 1)
    centres = alignment_centres(version)
    corners = {(centres[0], centres[0]), (centres[0], centres[-1]), (centres[-1], centres[0])} if centres else set()
    for x in centres:
        for y in centres:
            if (x, y) not in corners:  # those would sit on a finder pattern
                function(range(x - 2, x + 3), range(y - 2, y + 3))
    return b"".join(data), b"".join(late)


@cache
def _layout(size: int) -> _Layout:
    data, late_flat = symbol_layout(size)

    def mask_grid(mask: int) -> bytes:
        return bytes(data[i * size + j] & _mask_condition(mask, i, j) for i in range(size) for j in range(size))

    base = mask_grid(0)
    flips = [bytes(a ^ b for a, b in zip(base, mask_grid(k), strict=True)) for k in range(8)]
    return _Layout(
        after_masking=(_board(_rows(late_flat, size)), _board(_columns(late_flat, size))),
        flips=tuple((_board(_rows(f, size)), _board(_columns(f, size))) for f in flips),
        flips_bytes=tuple(int.from_bytes(f, "big") for f in flips),
    )


@cache
def _format_change(size: int, error: str, mask: int) -> int:
    """One byte per module: the format information of mask 0 turned into that of `mask`."""
    change = bytearray(size * size)
    difference = format_bits(error, 0) ^ format_bits(error, mask)
    for row, column, bit in _format_positions(size):
        change[row * size + column] = difference >> bit & 1
    return int.from_bytes(change, "big")


def _lines_penalty(board: int, valid: int, pair: int) -> tuple[int, int]:
    """N1 and N3 of all lines of a bitboard (rows, or columns), exactly as segno's `mask_scores` counts them."""
    # N1: a run of n ≥ 5 modules of one colour costs n - 2. `five` marks each module that starts five alike.
    same = (board ^ board >> 1 ^ pair) & pair  # this module and the next one have the same colour
    two = same & same >> 1
    five = two & two >> 2
    # A run of n has n - 4 starts of five, the first of them with no start just before it: (n - 4) + 2 = n - 2.
    n1 = five.bit_count() + 2 * (five & ~(five << 1)).bit_count()
    # N3: dark-light-dark-dark-dark-light-dark, 40 points where four light modules (or the edge) precede or follow.
    light = board ^ valid
    found = board & light >> 1 & board >> 2 & board >> 3 & board >> 4 & light >> 5 & board >> 6
    if not found:
        return n1, 0
    dark_before = board << 1 | board << 2 | board << 3 | board << 4
    dark_after = board >> 7 | board >> 8 | board >> 9 | board >> 10
    counted = found & ~(dark_before & dark_after)
    if not found & (found >> 4 | found >> 6):
        return n1, 40 * counted.bit_count()
    # Patterns overlapping by 3 or 1 modules (common in masked symbols): segno searches on past a counted one (7
    # modules on) or from the fifth module of an uncounted one, so it skips some of them. Walked the way it walks.
    n3, resume = 0, 0
    while found:
        lowest = found & -found
        found ^= lowest
        start = lowest.bit_length() - 1
        if start < resume:
            continue
        if counted & lowest:
            n3 += 40
            resume = start + 7
        else:
            resume = start + 4
    return n1, n3


def penalty(rows: int, columns: int, size: int) -> int:
    """segno's `evaluate_mask` (N1 + N2 + N3 + N4) of a symbol given as its row and column bitboards."""
    geometry = _geometry(size)
    n1_rows, n3_rows = _lines_penalty(rows, geometry.valid, geometry.pair)
    n1_columns, n3_columns = _lines_penalty(columns, geometry.valid, geometry.pair)
    # N2: 3 points per 2×2 block of one colour (blocks may overlap).
    same_right = (rows ^ rows >> 1 ^ geometry.pair) & geometry.pair
    stride = size + _GUARD
    same_below = (rows ^ rows >> stride ^ geometry.below) & geometry.below
    n2 = 3 * (same_right & same_right >> stride & same_below).bit_count()
    # N4: 10 points per whole 5 % the dark modules' share is away from 50 % (segno's float arithmetic, kept as is).
    percent = float(rows.bit_count()) / (size**2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1_rows + n1_columns + n2 + n3_rows + n3_columns + n4


def matrix_penalty(matrix: Sequence[bytes | bytearray]) -> int:
    """segno's `evaluate_mask` of any square matrix given as rows of 0/1 bytes."""
    size = len(matrix)
    return penalty(_board(list(matrix)), _board(_columns(b"".join(matrix), size)), size)


def penalties(code: segno.QRCode) -> list[int]:
    """The penalty segno gives each of the eight masks for `code`'s data, `code` being made with mask 0."""
    if code.is_micro or code.mask != 0:
        raise ValueError("penalties() takes a QR code (not Micro QR) made with mask=0")
    size = len(code.matrix)
    layout = _layout(size)
    flat = b"".join(code.matrix)
    # The symbol as segno scores it: format and version information (and the dark module) still light.
    rows = _board([bytes(row) for row in code.matrix]) & ~layout.after_masking[0]
    columns = _board(_columns(flat, size)) & ~layout.after_masking[1]
    return [penalty(rows ^ flip_rows, columns ^ flip_columns, size) for flip_rows, flip_columns in layout.flips]


def make(content: str, error: str = "m") -> segno.QRCode:
    """`segno.make(content, error=error)`, module for module and mask for mask, in about a third of its time."""
    import segno  # only where a QR code is drawn

    code = segno.make(content, error=error, mask=0)
    if code.is_micro:  # short texts only (Micro QR scores masks otherwise); rare and cheap: let segno choose
        return segno.make(content, error=error)
    scores = penalties(code)
    best = scores.index(min(scores))  # the first of equal scores, as segno keeps it
    if best:
        size = len(code.matrix)
        flat = int.from_bytes(b"".join(code.matrix), "big")
        flat ^= _layout(size).flips_bytes[best] ^ _format_change(size, code.error, best)
        remasked = flat.to_bytes(size * size, "big")
        code.matrix = tuple(bytearray(remasked[i:i + size]) for i in range(0, size * size, size))
        code.mask = best
    return code
