//! The school CA: the one certificate authority whose leaves gatewatch presents to clients.
//!
//! It lives in the CA directory (`paths.ca_dir`) as `ca.pem` (the certificate, mode 0644, what
//! devices install) and `ca.key.pem` (the PKCS#8 private key, mode 0600). gatewatch generates
//! both on first start. The key is written to a temporary file created with mode 0600 and then
//! renamed into place, so it is never readable by other users, not even briefly.
//!
//! A key file that other users can read is loaded with a warning rather than refused: refusing
//! would stop the proxy (and with it monitoring) over a fixable permission, and the warning
//! names the `chmod` that fixes it. `gatewatch ca show` ([`SchoolCa::describe`]) repeats it.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::error::TlsError;

/// File name of the school CA certificate inside the CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the school CA private key inside the CA directory.
pub const CA_KEY_FILE: &str = "ca.key.pem";

/// How long a new school CA is valid.
const CA_VALIDITY: Duration = Duration::days(3652);
/// How far a new school CA's `notBefore` is backdated, for clients with a slow clock.
const CA_BACKDATE: Duration = Duration::days(1);
/// Warn when the school CA expires within this long.
const CA_EXPIRY_WARNING: Duration = Duration::days(90);

/// Encoding for [`SchoolCa::export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// PEM text (`-----BEGIN CERTIFICATE-----`), served as `.crt`.
    Pem,
    /// Binary DER, served as `.cer`.
    Der,
}

/// The school CA, loaded from or generated in the CA directory.
pub struct SchoolCa {
    cert_path: PathBuf,
    key_path: PathBuf,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
    subject: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    fingerprint: String,
    key_mode: u32,
}

impl std::fmt::Debug for SchoolCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchoolCa")
            .field("cert_path", &self.cert_path)
            .field("subject", &self.subject)
            .field("fingerprint", &self.fingerprint)
            .field("key", &"[elided]")
            .finish()
    }
}

impl SchoolCa {
    /// Loads the school CA from `dir`, generating and saving a new one when neither
    /// `ca.pem` nor `ca.key.pem` exists. Fails, without touching anything, when only one
    /// of them exists.
    pub fn load_or_create(dir: &Path) -> Result<SchoolCa, TlsError> {
        let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        match (exists(&cert_path)?, exists(&key_path)?) {
            (false, false) => SchoolCa::create(dir, OffsetDateTime::now_utc()),
            _ => SchoolCa::load(dir),
        }
    }

    /// Loads the school CA from `dir`; never creates one.
    pub fn load(dir: &Path) -> Result<SchoolCa, TlsError> {
        let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        match (exists(&cert_path)?, exists(&key_path)?) {
            (true, true) => {}
            (false, false) => {
                return Err(TlsError::CaMissing {
                    dir: dir.to_path_buf(),
                })
            }
            (true, false) => {
                return Err(TlsError::CaIncomplete {
                    present: cert_path,
                    missing: key_path,
                })
            }
            (false, true) => {
                return Err(TlsError::CaIncomplete {
                    present: key_path,
                    missing: cert_path,
                })
            }
        }
        let cert_text = fs::read(&cert_path).map_err(io_err("read", &cert_path))?;
        let cert_der = CertificateDer::pem_slice_iter(&cert_text)
            .next()
            .ok_or_else(|| TlsError::CaCertParse {
                path: cert_path.clone(),
                reason: "no CERTIFICATE block".to_string(),
            })?
            .map_err(|e| TlsError::CaCertParse {
                path: cert_path.clone(),
                reason: e.to_string(),
            })?;
        let key_mode = fs::metadata(&key_path)
            .map_err(io_err("read", &key_path))?
            .permissions()
            .mode()
            & 0o7777;
        let key_text = fs::read_to_string(&key_path).map_err(io_err("read", &key_path))?;
        let key = KeyPair::from_pem(&key_text).map_err(|_| TlsError::CaKeyParse {
            path: key_path.clone(),
        })?;
        drop(key_text);
        if key_mode & 0o077 != 0 {
            tracing::warn!(
                path = %key_path.display(),
                mode = format_args!("{key_mode:04o}"),
                "the school CA private key is readable by other users; anyone who can read it \
                 can impersonate any website to every device that trusts the school CA. Run \
                 `chmod 600` on it"
            );
        }
        let ca = SchoolCa::from_parts(cert_path, key_path, cert_der, key, key_mode)?;
        let now = OffsetDateTime::now_utc();
        if ca.not_after <= now {
            tracing::warn!(not_after = %format_time(ca.not_after),
                "the school CA has expired; every intercepted site will fail. Rotate it \
                 (see certs/README.md)");
        } else if ca.not_after - now < CA_EXPIRY_WARNING {
            tracing::warn!(not_after = %format_time(ca.not_after),
                "the school CA expires soon; rotate it and roll the new certificate out to \
                 devices (see certs/README.md)");
        }
        Ok(ca)
    }

    /// Generates a new school CA at time `now` and writes it to `dir`.
    fn create(dir: &Path, now: OffsetDateTime) -> Result<SchoolCa, TlsError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err("create", dir))?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| {
            TlsError::Generate {
                what: "school CA key",
                source,
            }
        })?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            format!("gatewatch School CA {}", format_date(now)),
        );
        dn.push(DnType::OrganizationName, "gatewatch");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // Limits what a leaked key could do on clients that chain EKUs (Windows): it can
        // vouch for web servers, not for code or e-mail.
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = now - CA_BACKDATE;
        params.not_after = now + CA_VALIDITY;
        params.serial_number = Some(random_serial());
        let cert = params
            .self_signed(&key)
            .map_err(|source| TlsError::Generate {
                what: "school CA certificate",
                source,
            })?;

        let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        write_new_file(dir, &key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_new_file(dir, &cert_path, pem_encode(cert.der()).as_bytes(), 0o644)?;
        if let Ok(d) = fs::File::open(dir) {
            // Make the renames durable; failure only risks losing a fresh CA on power loss.
            let _ = d.sync_all();
        }
        let ca = SchoolCa::from_parts(cert_path, key_path, cert.der().clone(), key, 0o600)?;
        tracing::info!(
            path = %ca.cert_path.display(),
            fingerprint = %ca.fingerprint,
            "generated a new school CA; devices must install ca.pem to trust intercepted sites"
        );
        Ok(ca)
    }

    fn from_parts(
        cert_path: PathBuf,
        key_path: PathBuf,
        cert_der: CertificateDer<'static>,
        key: KeyPair,
        key_mode: u32,
    ) -> Result<SchoolCa, TlsError> {
        let parse_err = |reason: String| TlsError::CaCertParse {
            path: cert_path.clone(),
            reason,
        };
        let (_, x509) =
            x509_parser::parse_x509_certificate(&cert_der).map_err(|e| parse_err(e.to_string()))?;
        if x509.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(TlsError::CaKeyMismatch {
                cert: cert_path,
                key: key_path,
            });
        }
        let is_ca = x509
            .basic_constraints()
            .map_err(|e| parse_err(e.to_string()))?
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(TlsError::NotACa { path: cert_path });
        }
        let subject = x509.subject().to_string();
        let not_before = x509.validity().not_before.to_datetime();
        let not_after = x509.validity().not_after.to_datetime();
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)
            .map_err(|e| parse_err(format!("cannot sign with it: {e}")))?;
        Ok(SchoolCa {
            cert_path,
            key_path,
            cert_pem: pem_encode(&cert_der),
            fingerprint: fingerprint_sha256(&cert_der),
            cert_der,
            issuer,
            subject,
            not_before,
            not_after,
            key_mode,
        })
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA certificate as PEM text (only the certificate, whatever else `ca.pem` holds).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// SHA-256 fingerprint of the DER certificate: upper-case hex pairs joined by colons,
    /// as browsers and `openssl x509 -fingerprint -sha256` show it.
    pub fn fingerprint_sha256(&self) -> String {
        self.fingerprint.clone()
    }

    /// The subject, e.g. `CN=gatewatch School CA 2025-09-01, O=gatewatch`.
    pub fn subject(&self) -> String {
        self.subject.clone()
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of the validity period.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Path of `ca.pem`.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Path of `ca.key.pem`.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// The certificate in the given encoding, for serving to devices.
    pub fn export(&self, format: ExportFormat) -> Vec<u8> {
        match format {
            ExportFormat::Pem => self.cert_pem.as_bytes().to_vec(),
            ExportFormat::Der => self.cert_der.to_vec(),
        }
    }

    /// A multi-line human summary for `gatewatch ca show`. Contains no key material.
    pub fn describe(&self) -> String {
        let key_note = if self.key_mode & 0o077 != 0 {
            format!(
                "mode {:04o}: WARNING readable by other users, run `chmod 600 {}`",
                self.key_mode,
                self.key_path.display()
            )
        } else {
            format!("mode {:04o}", self.key_mode)
        };
        let now = OffsetDateTime::now_utc();
        let status = if now > self.not_after {
            "EXPIRED: rotate the school CA (see certs/README.md)"
        } else if now < self.not_before {
            "not yet valid: check this machine's clock"
        } else {
            "valid"
        };
        format!(
            "School CA certificate: {}\n\
             Private key:           {} ({key_note})\n\
             Subject:               {}\n\
             SHA-256 fingerprint:   {}\n\
             Valid from:            {}\n\
             Valid until:           {}\n\
             Status:                {status}\n",
            self.cert_path.display(),
            self.key_path.display(),
            self.subject,
            self.fingerprint,
            format_time(self.not_before),
            format_time(self.not_after),
        )
    }

    /// The rcgen issuer that signs leaves with the school CA key.
    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

/// A random, positive 16-byte certificate serial number.
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // Positive (top bit clear) and exactly 16 bytes long (a high bit set below it).
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// Colon-separated upper-case hex SHA-256 of `der`.
fn fingerprint_sha256(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// PEM text for one certificate (RFC 7468: standard base64, 64-character lines).
pub(crate) fn pem_encode(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 0x3f]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// `2025-09-01 12:00:00 UTC`.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        format_date(t),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn format_date(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn exists(path: &Path) -> Result<bool, TlsError> {
    path.try_exists().map_err(io_err("check", path))
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> TlsError {
    let path = path.to_path_buf();
    move |source| TlsError::CaIo {
        action,
        path,
        source,
    }
}

/// Writes `contents` to a fresh temporary file in `dir` created with `mode`, then renames it
/// to `path`. The file therefore never exists with wider permissions or half-written.
fn write_new_file(dir: &Path, path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_key_with_mode_0600_and_reloads_the_same_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_dir = dir.path().join("certs");
        let ca = SchoolCa::load_or_create(&ca_dir).expect("create");
        let key_mode = fs::metadata(ca_dir.join(CA_KEY_FILE))
            .expect("key exists")
            .permissions()
            .mode();
        assert_eq!(key_mode & 0o777, 0o600);
        assert!(ca_dir.join(CA_CERT_FILE).is_file());
        let leftovers: Vec<_> = fs::read_dir(&ca_dir)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

        let again = SchoolCa::load_or_create(&ca_dir).expect("load");
        assert_eq!(again.fingerprint_sha256(), ca.fingerprint_sha256());
        assert_eq!(again.cert_der(), ca.cert_der());
        let loaded = SchoolCa::load(&ca_dir).expect("load only");
        assert_eq!(loaded.subject(), ca.subject());
    }

    #[test]
    fn new_ca_has_the_promised_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = OffsetDateTime::now_utc();
        let ca = SchoolCa::load_or_create(dir.path()).expect("create");
        assert!(
            ca.subject().contains("CN=gatewatch School CA"),
            "{}",
            ca.subject()
        );
        assert!(ca.subject().contains("O=gatewatch"), "{}", ca.subject());
        assert!(ca.not_before() < now - Duration::hours(23));
        let years = (ca.not_after() - ca.not_before()).whole_days() / 365;
        assert_eq!(years, 10);

        let (_, x509) = x509_parser::parse_x509_certificate(ca.cert_der()).expect("parse");
        let bc = x509
            .basic_constraints()
            .expect("bc")
            .expect("present")
            .value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = x509.key_usage().expect("ku").expect("present").value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        assert!(!ku.digital_signature());
        assert_eq!(x509.raw_serial().len(), 16);

        // The file on disk is exactly what we expose, and PEM and DER exports agree.
        let on_disk = fs::read_to_string(ca.cert_path()).expect("read");
        assert_eq!(on_disk, ca.cert_pem());
        assert_eq!(ca.export(ExportFormat::Der), ca.cert_der().to_vec());
        let reparsed = CertificateDer::from_pem_slice(&ca.export(ExportFormat::Pem)).expect("pem");
        assert_eq!(reparsed, *ca.cert_der());
    }

    #[test]
    fn pem_encoding_matches_rcgen() {
        let key = KeyPair::generate().expect("key");
        for san in [
            "a.example",
            "a-much-longer-name.example.org",
            "b.example.net",
        ] {
            let cert = CertificateParams::new(vec![san.to_string()])
                .expect("params")
                .self_signed(&key)
                .expect("cert");
            assert_eq!(pem_encode(cert.der()), cert.pem());
        }
        assert_eq!(
            pem_encode(b"M"),
            "-----BEGIN CERTIFICATE-----\nTQ==\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(
            pem_encode(b"Ma"),
            "-----BEGIN CERTIFICATE-----\nTWE=\n-----END CERTIFICATE-----\n"
        );
    }

    #[test]
    fn fingerprint_is_colon_hex_sha256() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            fingerprint_sha256(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn refuses_half_a_ca_and_overwrites_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        SchoolCa::load_or_create(dir.path()).expect("create");
        let cert_before = fs::read(dir.path().join(CA_CERT_FILE)).expect("read");
        fs::remove_file(dir.path().join(CA_KEY_FILE)).expect("remove key");
        let err = SchoolCa::load_or_create(dir.path()).expect_err("must refuse");
        assert!(matches!(err, TlsError::CaIncomplete { .. }), "{err}");
        assert_eq!(
            fs::read(dir.path().join(CA_CERT_FILE)).expect("read"),
            cert_before
        );
        assert!(!dir.path().join(CA_KEY_FILE).exists());

        let empty = tempfile::tempdir().expect("tempdir");
        let err = SchoolCa::load(empty.path()).expect_err("no CA");
        assert!(matches!(err, TlsError::CaMissing { .. }), "{err}");
        assert!(!empty.path().join(CA_CERT_FILE).exists());
    }

    #[test]
    fn rejects_a_key_from_another_ca() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        SchoolCa::load_or_create(a.path()).expect("a");
        SchoolCa::load_or_create(b.path()).expect("b");
        fs::copy(b.path().join(CA_KEY_FILE), a.path().join(CA_KEY_FILE)).expect("copy");
        let err = SchoolCa::load(a.path()).expect_err("mismatch");
        assert!(matches!(err, TlsError::CaKeyMismatch { .. }), "{err}");
    }

    #[test]
    fn loads_a_readable_key_but_describe_warns() {
        let dir = tempfile::tempdir().expect("tempdir");
        SchoolCa::load_or_create(dir.path()).expect("create");
        let key_path = dir.path().join(CA_KEY_FILE);
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let ca = SchoolCa::load(dir.path()).expect("loads with a warning");
        let text = ca.describe();
        assert!(text.contains("WARNING readable by other users"), "{text}");
        assert!(text.contains(&ca.fingerprint_sha256()), "{text}");
        assert!(text.contains("Status:                valid"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    #[test]
    fn garbage_files_give_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(CA_CERT_FILE), "not a certificate").expect("write");
        fs::write(dir.path().join(CA_KEY_FILE), "not a key").expect("write");
        let err = SchoolCa::load_or_create(dir.path()).expect_err("garbage");
        assert!(matches!(err, TlsError::CaCertParse { .. }), "{err}");

        let good = tempfile::tempdir().expect("tempdir");
        SchoolCa::load_or_create(good.path()).expect("create");
        fs::copy(
            good.path().join(CA_CERT_FILE),
            dir.path().join(CA_CERT_FILE),
        )
        .expect("copy");
        let err = SchoolCa::load(dir.path()).expect_err("bad key");
        assert!(matches!(err, TlsError::CaKeyParse { .. }), "{err}");
        assert!(!err.to_string().contains("not a key"));
    }
}
