//! Tests for [`super::ContentDecoder`]: every encoding round-trips at many chunk sizes, bombs
//! stop early with bounded pieces, corrupt and cut-short input is an error.

use std::io::{Read, Write};

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::{Compression, GzBuilder};

use super::*;

const SAMPLE: &[u8] = include_bytes!("testdata/sample.txt");
const SAMPLE_BR: &[u8] = include_bytes!("testdata/sample.txt.br");
const ZEROS_BR: &[u8] = include_bytes!("testdata/zeros.br");

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Decodes `encoded` fed in chunks of `size` bytes; returns the output and the largest piece.
fn decode(
    encoding: &str,
    encoded: &[u8],
    size: usize,
    caps: DecodeCaps,
) -> (Vec<u8>, usize, Result<(), DecodeError>) {
    let mut dec = ContentDecoder::new(encoding, caps).unwrap();
    let mut out = Vec::new();
    let mut largest = 0;
    let mut push = |piece: &[u8]| {
        largest = largest.max(piece.len());
        out.extend_from_slice(piece);
    };
    for chunk in encoded.chunks(size.max(1)) {
        if let Err(e) = dec.feed(chunk, &mut push) {
            return (out, largest, Err(e));
        }
    }
    let result = dec.finish(&mut push);
    (out, largest, result)
}

fn assert_round_trip(encoding: &str, encoded: &[u8], expected: &[u8]) {
    for size in [1, 2, 3, 7, 64, 4096, encoded.len()] {
        let (out, largest, result) = decode(encoding, encoded, size, DecodeCaps::default());
        assert_eq!(result, Ok(()), "{encoding} at chunk size {size}");
        assert!(
            out == expected,
            "{encoding} at chunk size {size}: output differs"
        );
        assert!(
            largest <= OUTPUT_PIECE,
            "{encoding}: piece of {largest} bytes"
        );
    }
}

#[test]
fn gzip_round_trips_at_every_chunk_size() {
    assert_round_trip("gzip", &gzip(SAMPLE), SAMPLE);
    assert_round_trip("x-gzip", &gzip(SAMPLE), SAMPLE);
    assert_round_trip(" GZIP ", &gzip(b"short"), b"short");
}

#[test]
fn gzip_header_fields_and_multiple_members_are_handled() {
    let mut e = GzBuilder::new()
        .filename("page.html")
        .comment("a comment")
        .extra(vec![1, 2, 3, 4])
        .write(Vec::new(), Compression::best());
    e.write_all(b"first member, ").unwrap();
    let mut body = e.finish().unwrap();
    body.extend(gzip(b"second member"));
    assert_round_trip("gzip", &body, b"first member, second member");
}

#[test]
fn trailing_garbage_after_gzip_is_ignored() {
    let mut body = gzip(b"hello");
    body.extend_from_slice(b"\0\0\0garbage");
    assert_round_trip("gzip", &body, b"hello");
}

#[test]
fn deflate_round_trips_zlib_wrapped_and_raw() {
    assert_round_trip("deflate", &zlib(SAMPLE), SAMPLE);
    assert_round_trip("deflate", &raw_deflate(SAMPLE), SAMPLE);
    assert_round_trip("deflate", &raw_deflate(b"x"), b"x");
}

#[test]
fn brotli_round_trips() {
    assert_round_trip("br", SAMPLE_BR, SAMPLE);
}

#[test]
fn zstd_round_trips_including_several_frames() {
    assert_round_trip("zstd", &zstd(SAMPLE), SAMPLE);
    let mut two = zstd(b"one ");
    two.extend(zstd(b"two"));
    assert_round_trip("zstd", &two, b"one two");
}

#[test]
fn identity_and_empty_header_pass_through() {
    assert_round_trip("identity", SAMPLE, SAMPLE);
    assert_round_trip("", b"abc", b"abc");
    assert!(ContentDecoder::new("identity", DecodeCaps::default())
        .unwrap()
        .is_identity());
}

#[test]
fn stacked_encodings_are_decoded_in_reverse_order() {
    // "gzip, zstd": gzip was applied first, then zstd.
    assert_round_trip("gzip, zstd", &zstd(&gzip(SAMPLE)), SAMPLE);
    // "br, gzip": brotli first, then gzip.
    assert_round_trip("br, gzip", &gzip(SAMPLE_BR), SAMPLE);
    assert_round_trip("deflate,identity, gzip", &gzip(&zlib(SAMPLE)), SAMPLE);
}

#[test]
fn empty_bodies_are_complete() {
    for encoding in ["gzip", "deflate", "br", "zstd"] {
        let (out, _, result) = decode(encoding, b"", 1, DecodeCaps::default());
        assert_eq!(result, Ok(()), "{encoding}");
        assert!(out.is_empty());
    }
}

#[test]
fn unknown_and_too_many_encodings_are_refused() {
    assert_eq!(
        ContentDecoder::new("compress", DecodeCaps::default()).unwrap_err(),
        DecodeError::Unsupported("compress".into())
    );
    assert_eq!(
        ContentDecoder::new("gzip, gzip, gzip, gzip", DecodeCaps::default()).unwrap_err(),
        DecodeError::TooManyLayers(4)
    );
}

fn assert_bomb(encoding: &str, encoded: &[u8]) {
    let caps = DecodeCaps::default();
    for size in [7, 4096, encoded.len()] {
        let (out, largest, result) = decode(encoding, encoded, size, caps);
        assert!(
            matches!(
                result,
                Err(DecodeError::Bomb {
                    limit: BombLimit::Ratio,
                    ..
                })
            ),
            "{encoding}: {result:?}"
        );
        // Stopped just past the grace allowance, one piece at a time.
        assert!(
            out.len() as u64 <= caps.ratio_grace + OUTPUT_PIECE as u64,
            "{}",
            out.len()
        );
        assert!(largest <= OUTPUT_PIECE);
    }
}

/// 200 MB of zeros, compressed while streaming (never held whole).
fn zeros_gzip() -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let block = vec![0u8; 1 << 20];
    for _ in 0..200 {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

#[test]
fn gzip_bomb_is_stopped_early() {
    let bomb = zeros_gzip();
    assert!(bomb.len() < 400_000, "{}", bomb.len());
    assert_bomb("gzip", &bomb);
    // The same bomb inside a second layer is stopped by the inner layer's ratio.
    assert_bomb("gzip, gzip", &gzip(&bomb));
}

#[test]
fn brotli_and_zstd_bombs_are_stopped_early() {
    assert_bomb("br", ZEROS_BR);
    let mut zeros = Vec::new();
    let mut encoder = zstd::stream::Encoder::new(&mut zeros, 19).unwrap();
    std::io::copy(&mut std::io::repeat(0).take(200 << 20), &mut encoder).unwrap();
    encoder.finish().unwrap();
    assert_bomb("zstd", &zeros);
}

#[test]
fn output_cap_stops_large_bodies() {
    let caps = DecodeCaps {
        max_output: 10_000,
        ..DecodeCaps::default()
    };
    let (out, _, result) = decode("gzip", &gzip(SAMPLE), 4096, caps);
    assert!(
        matches!(
            result,
            Err(DecodeError::Bomb {
                limit: BombLimit::Output,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(out.len() <= 10_000);
}

#[test]
fn errors_are_sticky() {
    let mut dec = ContentDecoder::new("gzip", DecodeCaps::default()).unwrap();
    let mut sink = |_: &[u8]| {};
    let first = dec.feed(b"not gzip at all", &mut sink).unwrap_err();
    assert_eq!(dec.feed(&gzip(b"fine"), &mut sink), Err(first.clone()));
    assert_eq!(dec.finish(&mut sink), Err(first));
}

#[test]
fn corrupt_input_is_an_error() {
    let is_corrupt = |r: &Result<(), DecodeError>| matches!(r, Err(DecodeError::Corrupt { .. }));
    let garbage = b"this is definitely not compressed data, just text".repeat(20);
    for encoding in ["gzip", "br", "zstd", "deflate"] {
        let (_, _, result) = decode(encoding, &garbage, 4096, DecodeCaps::default());
        assert!(is_corrupt(&result), "{encoding}: {result:?}");
    }
    // A flipped byte in the gzip data or trailer is caught by inflate or the CRC.
    let good = gzip(SAMPLE);
    for at in [good.len() / 2, good.len() - 6] {
        let mut bad = good.clone();
        bad[at] ^= 0x55;
        let (_, _, result) = decode("gzip", &bad, 4096, DecodeCaps::default());
        assert!(is_corrupt(&result), "flip at {at}: {result:?}");
    }
    let mut bad_zlib = zlib(SAMPLE);
    let n = bad_zlib.len();
    bad_zlib[n - 2] ^= 0xff;
    let (_, _, result) = decode("deflate", &bad_zlib, 4096, DecodeCaps::default());
    assert!(is_corrupt(&result), "{result:?}");
}

#[test]
fn cut_short_streams_are_incomplete() {
    let cases: [(&str, Vec<u8>); 4] = [
        ("gzip", gzip(SAMPLE)),
        ("deflate", zlib(SAMPLE)),
        ("br", SAMPLE_BR.to_vec()),
        ("zstd", zstd(SAMPLE)),
    ];
    for (encoding, full) in cases {
        let cut = &full[..full.len() / 2];
        let (out, _, result) = decode(encoding, cut, 100, DecodeCaps::default());
        assert!(
            matches!(result, Err(DecodeError::Incomplete { .. })),
            "{encoding}: {result:?}"
        );
        assert!(
            SAMPLE.starts_with(&out),
            "{encoding}: partial output is a prefix"
        );
    }
}
