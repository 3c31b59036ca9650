//! Persistence of identity events, so a restart keeps history.
//!
//! [`EventStore`] is the small interface the service needs (replay, append, sync, retain); it
//! is kept narrow so the history can move into the incident store later. [`JsonlEventLog`] is
//! today's implementation: an append-only file of one JSON [`IdentityEvent`] per line in the
//! data directory (mode 0600: it holds MACs and user names), flushed and fsync'd in batches by
//! the service, and rewritten (temporary file, fsync, rename) when retention drops old events.
//! A line cut off by a crash is skipped and counted at replay; appending resumes on a new line.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::event::IdentityEvent;
use super::report::{ParseReport, RecordError};

/// The event log's file name inside the data directory.
pub const EVENT_LOG_FILE: &str = "identity-events.jsonl";

/// Why the store failed; the service keeps running on its in-memory index.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on the log file.
    #[error("identity event log {path}: {source}; check the data directory exists, is writable by gatewatch and the disk is not full")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// An event could not be encoded (should not happen).
    #[error("cannot encode an identity event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Where identity events are kept between restarts.
pub trait EventStore: Send {
    /// Calls `f` with every stored event, oldest first; unreadable records are skipped and
    /// counted in the returned report.
    fn replay(&mut self, f: &mut dyn FnMut(IdentityEvent)) -> Result<ParseReport, StoreError>;
    /// Appends events (buffered: call [`EventStore::sync`] to make them durable).
    fn append(&mut self, events: &[IdentityEvent]) -> Result<(), StoreError>;
    /// Writes buffered events and fsyncs them.
    fn sync(&mut self) -> Result<(), StoreError>;
    /// Keeps only the events `keep` accepts; returns how many were dropped.
    fn retain(&mut self, keep: &mut dyn FnMut(&IdentityEvent) -> bool) -> Result<u64, StoreError>;
}

/// The JSON-lines event log; see the module documentation.
#[derive(Debug)]
pub struct JsonlEventLog {
    path: PathBuf,
    writer: BufWriter<File>,
}

fn open_private(path: &Path, append: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).mode(0o600);
    if append {
        o.read(true).append(true);
    } else {
        o.write(true).truncate(true);
    }
    o.open(path)
}

impl JsonlEventLog {
    /// Opens (creating, mode 0600) the log in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(EVENT_LOG_FILE);
        let io_err = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io_err)?;
        let mut file = open_private(&path, true).map_err(io_err)?;
        // After a crash mid-line, start the next record on a line of its own.
        let len = file.metadata().map_err(io_err)?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(io_err)?;
            file.read_exact(&mut last).map_err(io_err)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io_err)?;
            }
        }
        Ok(JsonlEventLog {
            path: path.clone(),
            writer: BufWriter::with_capacity(256 * 1024, file),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read_each(
        &self,
        f: &mut dyn FnMut(IdentityEvent),
        report: &mut ParseReport,
    ) -> Result<(), StoreError> {
        let file = File::open(&self.path).map_err(|e| self.io(e))?;
        let mut reader = BufReader::with_capacity(1024 * 1024, file);
        let mut line = Vec::new();
        let mut n = 0;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| self.io(e))?;
            if read == 0 {
                return Ok(());
            }
            n += 1;
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            if body.iter().all(u8::is_ascii_whitespace) {
                report.ignore();
                continue;
            }
            match serde_json::from_slice::<IdentityEvent>(body) {
                Ok(ev) => {
                    report.record();
                    f(ev);
                }
                Err(_) if !line.ends_with(b"\n") => report.skip(n, RecordError::Truncated),
                Err(_) => report.skip(n, RecordError::Invalid("event")),
            }
        }
    }
}

impl EventStore for JsonlEventLog {
    fn replay(&mut self, f: &mut dyn FnMut(IdentityEvent)) -> Result<ParseReport, StoreError> {
        self.writer.flush().map_err(|e| self.io(e))?;
        let mut report = ParseReport::default();
        self.read_each(f, &mut report)?;
        Ok(report)
    }

    fn append(&mut self, events: &[IdentityEvent]) -> Result<(), StoreError> {
        for ev in events {
            serde_json::to_writer(&mut self.writer, ev)?;
            self.writer.write_all(b"\n").map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.writer.flush().map_err(|e| self.io(e))?;
        self.writer.get_ref().sync_data().map_err(|e| self.io(e))
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&IdentityEvent) -> bool) -> Result<u64, StoreError> {
        self.sync()?;
        let tmp = self.path.with_extension("jsonl.tmp");
        let out = open_private(&tmp, false).map_err(|e| self.io(e))?;
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        let (mut dropped, mut failed) = (0u64, None);
        let mut report = ParseReport::default();
        self.read_each(
            &mut |ev| {
                if failed.is_some() {
                    return;
                }
                if keep(&ev) {
                    let written = serde_json::to_writer(&mut out, &ev)
                        .map_err(StoreError::from)
                        .and_then(|()| {
                            out.write_all(b"\n").map_err(|source| StoreError::Io {
                                path: tmp.clone(),
                                source,
                            })
                        });
                    if let Err(e) = written {
                        failed = Some(e);
                    }
                } else {
                    dropped += 1;
                }
            },
            &mut report,
        )?;
        if let Some(e) = failed {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        let file = out.into_inner().map_err(|e| self.io(e.into_error()))?;
        file.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let file = open_private(&self.path, true).map_err(|e| self.io(e))?;
        self.writer = BufWriter::with_capacity(256 * 1024, file);
        Ok(dropped + report.skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::event::{LeaseEnd, LeaseEvent, LeaseKind, Source};
    use std::os::unix::fs::PermissionsExt;

    fn lease(n: u8) -> IdentityEvent {
        IdentityEvent::Lease(LeaseEvent {
            kind: LeaseKind::Bind,
            ip: format!("10.0.0.{n}").parse().unwrap(),
            mac: crate::identity::MacAddr::parse("02:00:00:00:00:01").ok(),
            hostname: Some("zoë's \"pad\"".into()),
            client_id: None,
            start: i64::from(n) * 100,
            end: LeaseEnd::At(i64::from(n) * 100 + 50),
            source: Source::Kea,
        })
    }

    fn replay(log: &mut JsonlEventLog) -> (Vec<IdentityEvent>, ParseReport) {
        let mut out = Vec::new();
        let report = log.replay(&mut |e| out.push(e)).unwrap();
        (out, report)
    }

    #[test]
    fn events_survive_a_reopen_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = JsonlEventLog::open(dir.path()).unwrap();
        log.append(&[lease(1), lease(2)]).unwrap();
        log.sync().unwrap();
        drop(log);
        let mode = std::fs::metadata(dir.path().join(EVENT_LOG_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut log = JsonlEventLog::open(dir.path()).unwrap();
        assert_eq!(replay(&mut log).0, vec![lease(1), lease(2)]);
    }

    #[test]
    fn a_line_cut_by_a_crash_is_skipped_and_appending_resumes_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENT_LOG_FILE);
        let whole = serde_json::to_string(&lease(1)).unwrap();
        std::fs::write(&path, format!("{whole}\n{}", &whole[..20])).unwrap();
        let mut log = JsonlEventLog::open(dir.path()).unwrap();
        log.append(&[lease(3)]).unwrap();
        log.sync().unwrap();
        let (events, report) = replay(&mut log);
        assert_eq!(events, vec![lease(1), lease(3)]);
        assert_eq!((report.records, report.skipped), (2, 1));
    }

    #[test]
    fn retain_rewrites_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = JsonlEventLog::open(dir.path()).unwrap();
        log.append(&[lease(1), lease(2), lease(3)]).unwrap();
        let dropped = log
            .retain(&mut |e| !matches!(e, IdentityEvent::Lease(l) if l.start < 200))
            .unwrap();
        assert_eq!(dropped, 1);
        log.append(&[lease(4)]).unwrap();
        log.sync().unwrap();
        assert_eq!(replay(&mut log).0, vec![lease(2), lease(3), lease(4)]);
        assert!(!dir.path().join("identity-events.jsonl.tmp").exists());
    }
}
