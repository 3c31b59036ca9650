//! Decoding bodies to text, streaming: first the `Content-Encoding` layers
//! ([`encoding::ContentDecoder`]: gzip, deflate, br, zstd, with an expansion cap against
//! decompression bombs), then the charset ([`charset::CharsetDecoder`]: encoding_rs, with BOM
//! and `<meta charset>` sniffing) to UTF-8.
//!
//! # Layout
//! - [`encoding`]: the content decoder, its caps and the layer driver.
//! - `gzip`: gzip (multi-member, CRC checked) and deflate (zlib-wrapped or raw) layers.
//! - `stage`: the layer interface, plus the brotli and zstd layers.
//! - [`charset`]: bytes in a declared or sniffed charset to UTF-8 text.

pub mod charset;
pub mod encoding;
mod gzip;
mod stage;

pub use charset::{CharsetDecoder, Sniff};
pub use encoding::{ContentDecoder, DecodeCaps};

/// Which expansion cap a body exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BombLimit {
    /// More decoded bytes than [`DecodeCaps::max_output`].
    Output,
    /// More than [`DecodeCaps::max_ratio`] decoded bytes per encoded byte (after the grace
    /// allowance).
    Ratio,
}

/// Why a body could not be decoded. Every error ends inspection of that body only; the body
/// itself is relayed unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `Content-Encoding` gatewatch cannot decode.
    #[error("unsupported Content-Encoding `{0}`: the body is relayed uninspected")]
    Unsupported(String),
    /// Too many stacked encodings (each layer costs a window of memory).
    #[error(
        "{0} stacked Content-Encodings exceed the limit of {max}: the body is relayed uninspected",
        max = encoding::MAX_LAYERS
    )]
    TooManyLayers(usize),
    /// The body expanded past a cap: a decompression bomb or an unusually repetitive body.
    #[error(
        "decompression stopped after {output} decoded bytes from {input} encoded bytes \
         ({limit:?} cap): the rest of this body is not inspected; raise the caps in the \
         inspection config if this body is legitimate"
    )]
    Bomb {
        /// The cap that was exceeded.
        limit: BombLimit,
        /// Encoded bytes consumed so far.
        input: u64,
        /// Decoded bytes produced so far.
        output: u64,
    },
    /// The encoded data is invalid.
    #[error("corrupt {encoding} data ({detail}): the rest of this body is not inspected")]
    Corrupt {
        /// The encoding whose data was corrupt.
        encoding: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The body ended in the middle of an encoded stream.
    #[error("the {encoding} stream ended early: the body was cut short (the text before the cut was inspected)")]
    Incomplete {
        /// The encoding whose stream was cut short.
        encoding: &'static str,
    },
}

impl DecodeError {
    pub(crate) fn corrupt(encoding: &'static str, detail: impl Into<String>) -> Self {
        DecodeError::Corrupt {
            encoding,
            detail: detail.into(),
        }
    }
}
