//! Streaming `Content-Encoding` decoding with an expansion cap.
//!
//! [`ContentDecoder`] takes the encoded body chunk by chunk (split anywhere) and pushes decoded
//! bytes out in pieces of at most [`OUTPUT_PIECE`] bytes. Each layer owns one fixed output
//! buffer and its decompressor's window (at most 32 KiB for deflate, 16 MiB for brotli, 8 MiB
//! for zstd), so memory per body is bounded whatever the input.
//!
//! Every layer counts what it consumed and produced. When a layer's output passes
//! [`DecodeCaps::max_output`], or passes [`DecodeCaps::max_ratio`] times its input once past
//! [`DecodeCaps::ratio_grace`], decoding stops with [`DecodeError::Bomb`]: work per input byte is
//! bounded, so a bomb is stopped after at most about `ratio_grace` bytes of wasted work.

use super::stage::{Stage, Step};
use super::{BombLimit, DecodeError};

/// The most stacked encodings accepted (`Content-Encoding: gzip, br` is two).
pub const MAX_LAYERS: usize = 3;

/// Size of each layer's output buffer: the largest piece handed on at once.
pub const OUTPUT_PIECE: usize = 32 * 1024;

/// Expansion caps for one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeCaps {
    /// The most decoded bytes one layer may produce for one body.
    pub max_output: u64,
    /// The most decoded bytes per encoded byte, checked once output passes `ratio_grace`.
    pub max_ratio: u64,
    /// Output allowed before the ratio is checked (small inputs legitimately expand a lot).
    pub ratio_grace: u64,
}

impl Default for DecodeCaps {
    /// 64 MiB of output, 100:1 after the first 1 MiB.
    fn default() -> Self {
        DecodeCaps {
            max_output: 64 * 1024 * 1024,
            max_ratio: 100,
            ratio_grace: 1024 * 1024,
        }
    }
}

impl DecodeCaps {
    /// Checks a layer's totals against the caps.
    fn check(&self, input: u64, output: u64) -> Result<(), DecodeError> {
        let limit = if output > self.max_output {
            BombLimit::Output
        } else if output > self.ratio_grace && output / self.max_ratio.max(1) > input {
            BombLimit::Ratio
        } else {
            return Ok(());
        };
        Err(DecodeError::Bomb {
            limit,
            input,
            output,
        })
    }
}

/// One layer with its output buffer and counters.
struct Layer {
    stage: Stage,
    buf: Box<[u8]>,
    consumed: u64,
    produced: u64,
}

impl Layer {
    /// Decodes all of `input`, handing each piece of output to `emit`. With `flush`, also
    /// drains what the decompressor still holds (used at the end of the body).
    fn run(
        &mut self,
        mut input: &[u8],
        caps: &DecodeCaps,
        emit: &mut dyn FnMut(&[u8]) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        loop {
            let step: Step = self.stage.step(input, &mut self.buf)?;
            let consumed = step.consumed.min(input.len());
            input = &input[consumed..];
            self.consumed += consumed as u64;
            if step.produced > 0 {
                let produced = step.produced.min(self.buf.len());
                self.produced += produced as u64;
                caps.check(self.consumed, self.produced)?;
                emit(&self.buf[..produced])?;
            }
            let output_full = step.produced >= self.buf.len();
            if !step.any() || (input.is_empty() && !output_full) {
                return Ok(());
            }
        }
    }
}

/// Pushes `input` through `layers` (outermost encoding first) to `out`.
fn run_chain(
    layers: &mut [Layer],
    input: &[u8],
    caps: &DecodeCaps,
    out: &mut dyn FnMut(&[u8]),
) -> Result<(), DecodeError> {
    match layers.split_first_mut() {
        None => {
            for piece in input.chunks(OUTPUT_PIECE) {
                out(piece);
            }
            Ok(())
        }
        Some((first, rest)) => {
            first.run(input, caps, &mut |piece| run_chain(rest, piece, caps, out))
        }
    }
}

/// Flushes `layers` in order at the end of the body and checks each stream ended properly.
fn finish_chain(
    layers: &mut [Layer],
    caps: &DecodeCaps,
    out: &mut dyn FnMut(&[u8]),
) -> Result<(), DecodeError> {
    let Some((first, rest)) = layers.split_first_mut() else {
        return Ok(());
    };
    first.run(&[], caps, &mut |piece| run_chain(rest, piece, caps, out))?;
    if first.consumed > 0 && !first.stage.is_complete() {
        return Err(DecodeError::Incomplete {
            encoding: first.stage.name(),
        });
    }
    finish_chain(rest, caps, out)
}

/// Decodes a body's `Content-Encoding`, streaming, with expansion caps.
pub struct ContentDecoder {
    /// Layers in decoding order: the last encoding applied comes first.
    layers: Vec<Layer>,
    caps: DecodeCaps,
    /// Encoded bytes fed.
    fed: u64,
    /// Decoded bytes handed out.
    decoded: u64,
    /// The first error; once set, nothing more is decoded.
    failed: Option<DecodeError>,
}

impl std::fmt::Debug for ContentDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.layers.iter().map(|l| l.stage.name()).collect();
        f.debug_struct("ContentDecoder")
            .field("layers", &names)
            .field("fed", &self.fed)
            .field("decoded", &self.decoded)
            .field("failed", &self.failed)
            .finish()
    }
}

impl ContentDecoder {
    /// A decoder for a `Content-Encoding` header value such as `gzip`, `br`, `gzip, br`
    /// (applied in that order, so decoded in reverse) or `identity`.
    pub fn new(content_encoding: &str, caps: DecodeCaps) -> Result<Self, DecodeError> {
        let tokens: Vec<String> = content_encoding
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty() && t != "identity")
            .collect();
        if tokens.len() > MAX_LAYERS {
            return Err(DecodeError::TooManyLayers(tokens.len()));
        }
        let mut layers = Vec::with_capacity(tokens.len());
        for token in tokens.iter().rev() {
            if let Some(stage) = Stage::for_token(token)? {
                layers.push(Layer {
                    stage,
                    buf: vec![0; OUTPUT_PIECE].into_boxed_slice(),
                    consumed: 0,
                    produced: 0,
                });
            }
        }
        Ok(ContentDecoder {
            layers,
            caps,
            fed: 0,
            decoded: 0,
            failed: None,
        })
    }

    /// True if the body is not encoded (bytes pass through unchanged).
    pub fn is_identity(&self) -> bool {
        self.layers.is_empty()
    }

    /// Encoded bytes fed so far.
    pub fn bytes_in(&self) -> u64 {
        self.fed
    }

    /// Decoded bytes handed out so far.
    pub fn bytes_out(&self) -> u64 {
        self.decoded
    }

    /// Decodes one chunk of the encoded body, handing decoded bytes to `out` in pieces of at
    /// most [`OUTPUT_PIECE`] bytes. After an error, every call returns that error again.
    pub fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), DecodeError> {
        self.fed += chunk.len() as u64;
        self.drive(out, |layers, caps, out| run_chain(layers, chunk, caps, out))
    }

    /// Ends the body: drains every layer and checks each stream ended properly
    /// ([`DecodeError::Incomplete`] if the body was cut short).
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8])) -> Result<(), DecodeError> {
        self.drive(out, finish_chain)
    }

    fn drive(
        &mut self,
        out: &mut dyn FnMut(&[u8]),
        run: impl FnOnce(&mut [Layer], &DecodeCaps, &mut dyn FnMut(&[u8])) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let caps = self.caps;
        let fed = self.fed;
        let decoded = &mut self.decoded;
        let mut counted = |piece: &[u8]| {
            *decoded += piece.len() as u64;
            out(piece);
        };
        let mut result = run(&mut self.layers, &caps, &mut counted);
        if result.is_ok() && !self.layers.is_empty() {
            // The whole chain's ratio too: stacked layers could each stay under the ratio.
            result = caps.check(fed, self.decoded);
        }
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }
}

#[cfg(test)]
#[path = "encoding_tests.rs"]
mod tests;
