//! One decoding layer: a push decompressor that turns some input into some output per step,
//! plus the brotli and zstd layers (gzip and deflate live in `gzip`).

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use zstd::stream::raw::{DParameter, Decoder as ZstdDecoder, Operation};

use super::gzip::{Deflate, Gzip};
use super::DecodeError;

/// The largest zstd window accepted: 8 MiB (log2 23), what RFC 9659 asks HTTP decoders to
/// support. Bigger windows would let one response claim gigabytes of memory.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// What one step did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Step {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Output bytes written to the front of the output buffer.
    pub produced: usize,
    /// Internal progress without input or output (a buffered byte was used).
    pub progressed: bool,
}

impl Step {
    /// True if the step did anything at all.
    pub fn any(self) -> bool {
        self.consumed > 0 || self.produced > 0 || self.progressed
    }
}

/// A decoding layer.
pub(crate) enum Stage {
    Gzip(Box<Gzip>),
    Deflate(Box<Deflate>),
    Brotli(Box<Brotli>),
    Zstd(Box<Zstd>),
}

impl Stage {
    /// A layer for one token of a `Content-Encoding` header (already lower-cased), `None` for
    /// identity, an error for anything unknown.
    pub fn for_token(token: &str) -> Result<Option<Stage>, DecodeError> {
        Ok(Some(match token {
            "identity" | "" => return Ok(None),
            "gzip" | "x-gzip" => Stage::Gzip(Box::new(Gzip::new())),
            "deflate" => Stage::Deflate(Box::new(Deflate::new())),
            "br" => Stage::Brotli(Box::new(Brotli::new())),
            "zstd" => Stage::Zstd(Box::new(Zstd::new()?)),
            other => return Err(DecodeError::Unsupported(other.to_owned())),
        }))
    }

    /// The encoding's name, for errors.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Gzip(_) => "gzip",
            Stage::Deflate(_) => "deflate",
            Stage::Brotli(_) => "br",
            Stage::Zstd(_) => "zstd",
        }
    }

    /// Decodes some of `input` into `output`. With empty input it flushes pending output.
    pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
        match self {
            Stage::Gzip(g) => g.step(input, output),
            Stage::Deflate(d) => d.step(input, output),
            Stage::Brotli(b) => b.step(input, output),
            Stage::Zstd(z) => z.step(input, output),
        }
    }

    /// True if the encoded stream reached its proper end.
    pub fn is_complete(&self) -> bool {
        match self {
            Stage::Gzip(g) => g.is_complete(),
            Stage::Deflate(d) => d.is_complete(),
            Stage::Brotli(b) => b.done,
            Stage::Zstd(z) => z.frame_done,
        }
    }
}

/// Brotli (RFC 7932), standard windows only (at most 16 MiB; "large window" streams are
/// refused as corrupt, as browsers do).
pub(crate) struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    total_out: usize,
    done: bool,
}

impl Brotli {
    fn new() -> Self {
        Brotli {
            state: BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            total_out: 0,
            done: false,
        }
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
        if self.done {
            // Bytes after the end of the stream are ignored, as browsers do.
            return Ok(Step {
                consumed: input.len(),
                ..Step::default()
            });
        }
        let mut available_in = input.len();
        let mut input_offset = 0;
        let mut available_out = output.len();
        let mut output_offset = 0;
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            output,
            &mut self.total_out,
            &mut self.state,
        );
        match result {
            BrotliResult::ResultFailure => Err(DecodeError::corrupt("br", "invalid brotli stream")),
            BrotliResult::ResultSuccess => {
                self.done = true;
                Ok(Step {
                    consumed: input_offset,
                    produced: output_offset,
                    progressed: true,
                })
            }
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => Ok(Step {
                consumed: input_offset,
                produced: output_offset,
                progressed: false,
            }),
        }
    }
}

/// Zstandard (RFC 8878), windows up to 8 MiB, any number of frames.
pub(crate) struct Zstd {
    decoder: ZstdDecoder<'static>,
    /// The last step ended a frame with nothing left to flush.
    frame_done: bool,
}

impl Zstd {
    fn new() -> Result<Self, DecodeError> {
        let mut decoder =
            ZstdDecoder::new().map_err(|e| DecodeError::corrupt("zstd", e.to_string()))?;
        decoder
            .set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
            .map_err(|e| DecodeError::corrupt("zstd", e.to_string()))?;
        Ok(Zstd {
            decoder,
            // An empty body is a complete (empty) stream.
            frame_done: true,
        })
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
        let status = self
            .decoder
            .run_on_buffers(input, output)
            .map_err(|e| DecodeError::corrupt("zstd", e.to_string()))?;
        if status.bytes_read > 0 || status.bytes_written > 0 {
            self.frame_done = status.remaining == 0 && status.bytes_written < output.len();
        }
        Ok(Step {
            consumed: status.bytes_read,
            produced: status.bytes_written,
            progressed: false,
        })
    }
}
