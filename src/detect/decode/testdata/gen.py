#!/usr/bin/env python3
"""Makes the brotli fixtures for the decode tests (no brotli encoder crate is a dependency).

Run from this directory with the `brotli` package installed (`pip install brotli`):
    python3 gen.py
Writes:
    sample.txt     about 40 KB of deterministic text with non-ASCII letters
    sample.txt.br  sample.txt, brotli quality 9, window 22
    zeros.br       256 MiB of zero bytes, brotli quality 5 (a decompression bomb)
"""
import brotli

words = ("the quick brown fox jumps over lazy dog zażółć gęślą jaźń "
         "café naïve smörgåsbord résumé gatewatch safeguarding school").split()
lines = []
for i in range(1200):
    line = " ".join(words[(i * 7 + j * 3) % len(words)] for j in range(5))
    lines.append(f"{i:05d} {line}\n")
sample = "".join(lines).encode("utf-8")
open("sample.txt", "wb").write(sample)
open("sample.txt.br", "wb").write(brotli.compress(sample, quality=9, lgwin=22))

c = brotli.Compressor(quality=5)
out = []
block = bytes(1 << 20)
for _ in range(256):
    out.append(c.process(block))
out.append(c.finish())
open("zeros.br", "wb").write(b"".join(out))
