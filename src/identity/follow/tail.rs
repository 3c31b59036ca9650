//! [`TailReader`]: the new bytes of one file path, across appends, truncation and rotation.
//!
//! Each [`TailReader::poll`] stats the path. The same file (device and inode) that grew is read
//! from the kept offset; one that shrank was truncated and is read again from its start. A
//! different file at the path means rotation by rename (dhcpd's `dhcpd.leases~`, Kea's `.1`,
//! logrotate): the old file, still open, is read to its end first, then the new one from its
//! start. While the path is missing (between the rename and the new file) the old file keeps
//! being drained. Text is returned as UTF-8; a multi-byte character split across reads is
//! carried over, invalid bytes become U+FFFD.
//!
//! Limits: a file truncated and rewritten to at least its old size between two polls is not
//! noticed (as with `tail -F`); append-only logs are not rewritten in place.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// At most this many bytes are read per poll, so one huge file cannot stall the others.
pub const MAX_READ_PER_POLL: usize = 8 * 1024 * 1024;

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// What a poll produced, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// A new file (or a truncated one) starts here: parsers must start afresh.
    Start,
    /// The next text of the current file.
    Text(String),
}

#[derive(Debug)]
struct Current {
    /// `None` while parked (closed, position remembered).
    file: Option<File>,
    id: FileId,
    offset: u64,
    carry: Vec<u8>,
}

/// Follows one path; see the module documentation.
#[derive(Debug)]
pub struct TailReader {
    path: PathBuf,
    current: Option<Current>,
}

impl TailReader {
    /// A reader that will start at the beginning of whatever file is at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TailReader {
            path: path.into(),
            current: None,
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed from the current file.
    pub fn offset(&self) -> u64 {
        self.current.as_ref().map_or(0, |c| c.offset)
    }

    /// Closes the file descriptor but remembers the file and offset; the next poll reopens it
    /// if it grew. Used for files that are probably finished (yesterday's detail file).
    pub fn park(&mut self) {
        if let Some(c) = &mut self.current {
            c.file = None;
        }
    }

    /// Reads what is new. `Err` only for I/O errors other than the path being missing.
    pub fn poll(&mut self) -> io::Result<Vec<Chunk>> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        match (self.current.take(), meta) {
            (None, None) => {}
            (None, Some(_)) => self.open_new(&mut out)?,
            (Some(mut c), Some(m)) if c.id == FileId::of(&m) => {
                if m.len() < c.offset {
                    c.offset = 0;
                    c.carry.clear();
                    if let Some(f) = &mut c.file {
                        f.seek(SeekFrom::Start(0))?;
                    }
                    out.push(Chunk::Start);
                }
                if m.len() > c.offset || c.file.is_some() {
                    if c.file.is_none() {
                        let mut f = File::open(&self.path)?;
                        f.seek(SeekFrom::Start(c.offset))?;
                        c.file = Some(f);
                    }
                    read_available(&mut c, &mut out)?;
                }
                self.current = Some(c);
            }
            (Some(mut c), other) => {
                // Rotated away (or removed): finish the old file first.
                if c.file.is_some() {
                    read_available(&mut c, &mut out)?;
                }
                if other.is_some() {
                    if !c.carry.is_empty() {
                        out.push(Chunk::Text(
                            String::from_utf8_lossy(&std::mem::take(&mut c.carry)).into_owned(),
                        ));
                    }
                    self.open_new(&mut out)?;
                } else {
                    // Keep draining the old file until a new one appears.
                    self.current = Some(c);
                }
            }
        }
        Ok(out)
    }

    /// True when the path currently names the file being read (not rotated away, not gone).
    pub fn path_is_current(&self) -> bool {
        match (&self.current, std::fs::metadata(&self.path)) {
            (Some(c), Ok(m)) => FileId::of(&m) == c.id,
            _ => false,
        }
    }

    fn open_new(&mut self, out: &mut Vec<Chunk>) -> io::Result<()> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let id = FileId::of(&file.metadata()?);
        let mut c = Current {
            file: Some(file),
            id,
            offset: 0,
            carry: Vec::new(),
        };
        out.push(Chunk::Start);
        read_available(&mut c, out)?;
        self.current = Some(c);
        Ok(())
    }
}

fn read_available(c: &mut Current, out: &mut Vec<Chunk>) -> io::Result<()> {
    let Some(file) = &mut c.file else {
        return Ok(());
    };
    let mut bytes = std::mem::take(&mut c.carry);
    let before = bytes.len();
    let mut buf = [0u8; 64 * 1024];
    while bytes.len() - before < MAX_READ_PER_POLL {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    c.offset += u64::try_from(bytes.len() - before).unwrap_or(0);
    let complete = utf8_complete_prefix(&bytes);
    c.carry = bytes.split_off(complete);
    if !bytes.is_empty() {
        out.push(Chunk::Text(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }));
    }
    Ok(())
}

/// Length of `bytes` without a trailing, incomplete UTF-8 sequence.
fn utf8_complete_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let b = bytes[len - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: keep looking for the lead byte
        }
        let needed = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1, // invalid lead byte: let the lossy decoder replace it
        };
        return if needed > back { len - back } else { len };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn text(chunks: &[Chunk]) -> String {
        chunks
            .iter()
            .map(|c| match c {
                Chunk::Start => "|".to_owned(),
                Chunk::Text(t) => t.clone(),
            })
            .collect()
    }

    fn append(path: &Path, s: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(s).unwrap();
    }

    #[test]
    fn appends_are_read_once_from_the_kept_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut t = TailReader::new(&path);
        assert!(t.poll().unwrap().is_empty(), "no file yet");
        append(&path, b"one\n");
        assert_eq!(text(&t.poll().unwrap()), "|one\n");
        assert!(t.poll().unwrap().is_empty());
        append(&path, b"two\nthr");
        append(&path, b"ee\n");
        assert_eq!(text(&t.poll().unwrap()), "two\nthree\n");
        assert_eq!(t.offset(), 14);
    }

    #[test]
    fn truncation_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        append(&path, b"a long first line\n");
        let mut t = TailReader::new(&path);
        t.poll().unwrap();
        std::fs::write(&path, b"short\n").unwrap();
        assert_eq!(text(&t.poll().unwrap()), "|short\n");
    }

    #[test]
    fn rotation_finishes_the_old_file_then_reads_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dhcpd.leases");
        append(&path, b"old 1\n");
        let mut t = TailReader::new(&path);
        assert_eq!(text(&t.poll().unwrap()), "|old 1\n");
        // The writer appends, then the file is renamed away...
        append(&path, b"old 2\n");
        std::fs::rename(&path, dir.path().join("dhcpd.leases~")).unwrap();
        assert_eq!(text(&t.poll().unwrap()), "old 2\n");
        // ...and is still written to before the new file appears.
        append(&dir.path().join("dhcpd.leases~"), b"old 3\n");
        assert_eq!(text(&t.poll().unwrap()), "old 3\n");
        append(&dir.path().join("dhcpd.leases~"), b"old 4\n");
        append(&path, b"new 1\n");
        assert_eq!(text(&t.poll().unwrap()), "old 4\n|new 1\n");
        assert!(t.path_is_current());
    }

    #[test]
    fn split_utf8_is_carried_and_parked_readers_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("detail");
        let zoe = "zoë\n".as_bytes();
        append(&path, &zoe[..3]); // ends inside the two-byte ë
        let mut t = TailReader::new(&path);
        assert_eq!(text(&t.poll().unwrap()), "|zo");
        t.park();
        assert!(
            t.poll().unwrap().is_empty(),
            "parked and unchanged: nothing"
        );
        append(&path, &zoe[3..]);
        assert_eq!(text(&t.poll().unwrap()), "ë\n");
        append(&path, b"\xff\n");
        assert_eq!(text(&t.poll().unwrap()), "\u{fffd}\n");
    }

    #[test]
    fn utf8_prefix_handles_every_tail() {
        assert_eq!(utf8_complete_prefix(b""), 0);
        assert_eq!(utf8_complete_prefix(b"ab"), 2);
        assert_eq!(utf8_complete_prefix(&"é".as_bytes()[..1]), 0);
        assert_eq!(utf8_complete_prefix("aé".as_bytes()), 3);
        assert_eq!(utf8_complete_prefix(&"a€".as_bytes()[..3]), 1);
        assert_eq!(utf8_complete_prefix(&[0x80, 0x80, 0x80, 0x80, 0x80]), 5);
    }
}
