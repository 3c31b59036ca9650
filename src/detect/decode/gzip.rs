//! gzip (RFC 1952: header parsed here, CRC and size checked, several members accepted) and
//! deflate (RFC 9110 says zlib-wrapped, RFC 1950; browsers also accept raw RFC 1951 deflate, so
//! the first two bytes decide) layers over flate2's raw inflater.

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::stage::Step;
use super::DecodeError;

const FTEXT_RESERVED: u8 = 0xe0;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Where a gzip layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzState {
    /// The 10 fixed header bytes.
    Fixed,
    /// The 2-byte length of the extra field.
    ExtraLen,
    /// Skipping the extra field.
    Extra,
    /// Skipping the zero-terminated file name.
    Name,
    /// Skipping the zero-terminated comment.
    Comment,
    /// Skipping the 2-byte header CRC.
    HeaderCrc,
    /// Inflating the member's data.
    Body,
    /// The 8-byte trailer: CRC-32 and size.
    Trailer,
    /// A member ended: another may follow.
    Between,
    /// Trailing bytes that are not a gzip member: ignored, as browsers do.
    Trailing,
}

/// A gzip layer.
pub(crate) struct Gzip {
    state: GzState,
    /// Header or trailer bytes collected so far.
    buf: [u8; 10],
    got: usize,
    flags: u8,
    /// Bytes left to skip in the extra field or header CRC.
    skip: usize,
    inflate: Decompress,
    crc: Crc,
}

impl Gzip {
    pub fn new() -> Self {
        Gzip {
            state: GzState::Fixed,
            buf: [0; 10],
            got: 0,
            flags: 0,
            skip: 0,
            inflate: Decompress::new(false),
            crc: Crc::new(),
        }
    }

    /// True between members or in trailing bytes (or before any byte: an empty body).
    pub fn is_complete(&self) -> bool {
        match self.state {
            GzState::Between | GzState::Trailing => true,
            GzState::Fixed => self.got == 0,
            _ => false,
        }
    }

    /// Collects up to `want` bytes into `buf`; true once all are there.
    fn collect(&mut self, input: &[u8], pos: &mut usize, want: usize) -> bool {
        let take = (want - self.got).min(input.len() - *pos);
        self.buf[self.got..self.got + take].copy_from_slice(&input[*pos..*pos + take]);
        self.got += take;
        *pos += take;
        self.got == want
    }

    /// The header state after the fixed part, the extra field, name or comment.
    fn next_header_state(&mut self, after: GzState) -> GzState {
        let order = [
            (GzState::ExtraLen, FEXTRA),
            (GzState::Name, FNAME),
            (GzState::Comment, FCOMMENT),
            (GzState::HeaderCrc, FHCRC),
        ];
        // The extra field's data follows its length: both come before the name.
        let after = if after == GzState::Extra {
            GzState::ExtraLen
        } else {
            after
        };
        let start = order
            .iter()
            .position(|(s, _)| *s == after)
            .map_or(0, |i| i + 1);
        for (state, flag) in &order[start..] {
            if self.flags & flag != 0 {
                if *state == GzState::HeaderCrc {
                    self.skip = 2;
                }
                self.got = 0;
                return *state;
            }
        }
        self.inflate.reset(false);
        self.crc.reset();
        GzState::Body
    }

    pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
        let mut pos = 0;
        loop {
            match self.state {
                GzState::Body => {
                    let (consumed, produced, end) =
                        inflate(&mut self.inflate, &input[pos..], output, "gzip")?;
                    self.crc.update(&output[..produced]);
                    if end {
                        self.state = GzState::Trailer;
                        self.got = 0;
                    }
                    return Ok(Step {
                        consumed: pos + consumed,
                        produced,
                        progressed: end,
                    });
                }
                GzState::Trailing => {
                    return Ok(Step {
                        consumed: input.len(),
                        ..Step::default()
                    })
                }
                _ if pos == input.len() => {
                    return Ok(Step {
                        consumed: pos,
                        ..Step::default()
                    })
                }
                GzState::Fixed => {
                    if self.collect(input, &mut pos, 10) {
                        if self.buf[0] != 0x1f || self.buf[1] != 0x8b {
                            return Err(DecodeError::corrupt(
                                "gzip",
                                "not a gzip stream (bad magic bytes)",
                            ));
                        }
                        if self.buf[2] != 8 {
                            return Err(DecodeError::corrupt("gzip", "unknown compression method"));
                        }
                        self.flags = self.buf[3];
                        if self.flags & FTEXT_RESERVED != 0 {
                            return Err(DecodeError::corrupt("gzip", "reserved header flags set"));
                        }
                        self.state = self.next_header_state(GzState::Fixed);
                    }
                }
                GzState::ExtraLen => {
                    if self.collect(input, &mut pos, 2) {
                        self.skip = usize::from(u16::from_le_bytes([self.buf[0], self.buf[1]]));
                        self.state = GzState::Extra;
                    }
                }
                GzState::Extra | GzState::HeaderCrc => {
                    let take = self.skip.min(input.len() - pos);
                    self.skip -= take;
                    pos += take;
                    if self.skip == 0 {
                        self.state = self.next_header_state(self.state);
                    }
                }
                GzState::Name | GzState::Comment => match input[pos..].iter().position(|&b| b == 0)
                {
                    Some(i) => {
                        pos += i + 1;
                        self.state = self.next_header_state(self.state);
                    }
                    None => pos = input.len(),
                },
                GzState::Trailer => {
                    if self.collect(input, &mut pos, 8) {
                        let crc = u32::from_le_bytes([
                            self.buf[0],
                            self.buf[1],
                            self.buf[2],
                            self.buf[3],
                        ]);
                        let size = u32::from_le_bytes([
                            self.buf[4],
                            self.buf[5],
                            self.buf[6],
                            self.buf[7],
                        ]);
                        if crc != self.crc.sum() {
                            return Err(DecodeError::corrupt("gzip", "CRC-32 mismatch"));
                        }
                        if size != self.crc.amount() {
                            return Err(DecodeError::corrupt("gzip", "length mismatch"));
                        }
                        self.state = GzState::Between;
                    }
                }
                GzState::Between => {
                    self.got = 0;
                    self.state = if input[pos] == 0x1f {
                        GzState::Fixed
                    } else {
                        GzState::Trailing
                    };
                }
            }
        }
    }
}

/// Runs the inflater once: (consumed, produced, stream ended).
fn inflate(
    inflate: &mut Decompress,
    input: &[u8],
    output: &mut [u8],
    name: &'static str,
) -> Result<(usize, usize, bool), DecodeError> {
    let in_before = inflate.total_in();
    let out_before = inflate.total_out();
    let status = inflate
        .decompress(input, output, FlushDecompress::None)
        .map_err(|e| DecodeError::corrupt(name, e.to_string()))?;
    // Both deltas are bounded by the slice lengths, so they fit in usize.
    let consumed = usize::try_from(inflate.total_in() - in_before).unwrap_or(input.len());
    let produced = usize::try_from(inflate.total_out() - out_before).unwrap_or(0);
    Ok((consumed, produced, status == Status::StreamEnd))
}

/// True if two bytes are a valid zlib header for deflate (RFC 1950 section 2.2).
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

/// A deflate layer: zlib-wrapped or raw, decided by the first two bytes.
pub(crate) struct Deflate {
    /// The first byte, held while the second is awaited.
    first: Option<u8>,
    /// The held first byte still has to be fed to the inflater.
    feed_first: bool,
    inflate: Option<Decompress>,
    done: bool,
}

impl Deflate {
    pub fn new() -> Self {
        Deflate {
            first: None,
            feed_first: false,
            inflate: None,
            done: false,
        }
    }

    pub fn is_complete(&self) -> bool {
        // An empty body is complete; otherwise the deflate stream must have ended.
        self.done || (self.first.is_none() && self.inflate.is_none())
    }

    pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
        if self.done {
            return Ok(Step {
                consumed: input.len(),
                ..Step::default()
            });
        }
        let name = "deflate";
        let inflater = match &mut self.inflate {
            Some(inflater) => inflater,
            None => {
                let zlib = match (self.first, input) {
                    (_, []) => return Ok(Step::default()),
                    (None, [only]) => {
                        self.first = Some(*only);
                        return Ok(Step {
                            consumed: 1,
                            ..Step::default()
                        });
                    }
                    (None, [a, b, ..]) => is_zlib_header(*a, *b),
                    (Some(a), [b, ..]) => {
                        self.feed_first = true;
                        is_zlib_header(a, *b)
                    }
                };
                self.inflate.insert(Decompress::new(zlib))
            }
        };
        if self.feed_first {
            // Feed the held first byte together with what follows it, so the inflater always
            // sees enough to make progress.
            let mut joined = [0u8; 64];
            joined[0] = self.first.unwrap_or(0);
            let n = input.len().min(joined.len() - 1);
            joined[1..=n].copy_from_slice(&input[..n]);
            let (consumed, produced, end) = inflate(inflater, &joined[..=n], output, name)?;
            if consumed > 0 {
                self.feed_first = false;
            }
            self.done = end;
            return Ok(Step {
                consumed: consumed.saturating_sub(1),
                produced,
                progressed: consumed > 0 || end,
            });
        }
        let (consumed, produced, end) = inflate(inflater, input, output, name)?;
        self.done = end;
        Ok(Step {
            consumed,
            produced,
            progressed: end,
        })
    }
}
