//! Errors from the TLS layer: the school CA on disk, minting leaf certificates and building
//! upstream trust. Every message says what to do next.

use std::path::PathBuf;

/// An error from the school CA, the certificate minter or upstream trust setup.
///
/// None of these messages ever contain key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file or directory of the school CA could not be read or written.
    #[error(
        "could not {action} {}: {source}; check the paths.ca_dir setting and that the \
         gatewatch user may read and write that directory",
        path.display()
    )]
    CaIo {
        /// What gatewatch was doing ("read", "create", ...).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// Only one of `ca.pem` and `ca.key.pem` exists.
    #[error(
        "found {} but not {}; gatewatch will not generate a new CA over half of an existing \
         one. Restore the missing file from your backup, or move {} aside to generate a new \
         school CA (every device must then install the new certificate)",
        present.display(),
        missing.display(),
        present.display()
    )]
    CaIncomplete {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },

    /// Neither CA file exists and the caller asked not to create one.
    #[error(
        "no school CA in {}: start gatewatch once to generate one, or restore ca.pem and \
         ca.key.pem from your backup into that directory",
        dir.display()
    )]
    CaMissing {
        /// The CA directory that was searched.
        dir: PathBuf,
    },

    /// The CA certificate file is not a usable PEM certificate.
    #[error(
        "{} is not a valid PEM certificate ({reason}); restore ca.pem from your backup",
        path.display()
    )]
    CaCertParse {
        /// The certificate file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// The CA certificate is not a CA certificate.
    #[error(
        "the certificate in {} is not a CA certificate (basic constraints CA:TRUE is missing), \
         so it cannot sign site certificates; restore the school CA from your backup or move \
         both CA files aside to generate a new one",
        path.display()
    )]
    NotACa {
        /// The certificate file.
        path: PathBuf,
    },

    /// The CA key file is not a usable private key.
    #[error(
        "{} is not a PEM private key gatewatch can use (PKCS#8 ECDSA P-256/P-384, Ed25519 or \
         RSA); restore ca.key.pem from your backup",
        path.display()
    )]
    CaKeyParse {
        /// The key file.
        path: PathBuf,
    },

    /// The CA key does not belong to the CA certificate.
    #[error(
        "the private key in {} does not belong to the certificate in {}; restore the matching \
         pair from your backup",
        key.display(),
        cert.display()
    )]
    CaKeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },

    /// Generating a key or a certificate failed (not expected in practice).
    #[error("could not generate a {what}: {source}; this is a bug in gatewatch, please report it")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// The error from rcgen.
        source: rcgen::Error,
    },

    /// A host name cannot be put in a certificate.
    #[error("cannot make a certificate for {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// Signing a leaf certificate failed.
    #[error("could not sign a certificate for {name}: {source}")]
    Mint {
        /// The name the leaf was for.
        name: String,
        /// The error from rcgen.
        source: rcgen::Error,
    },

    /// rustls refused a key or a configuration.
    #[error("TLS setup failed: {0}; this is a bug in gatewatch, please report it")]
    Rustls(#[from] rustls::Error),

    /// An `upstream.extra_ca_files` entry could not be read or parsed.
    #[error(
        "could not read the upstream CA file {} (upstream.extra_ca_files): {reason}; fix the \
         path or the file (PEM, one or more CERTIFICATE blocks)",
        path.display()
    )]
    ExtraCaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// No upstream trust anchors at all.
    #[error(
        "gatewatch would trust no upstream server: upstream.trust_mozilla and \
         upstream.trust_system are off or found nothing, and upstream.extra_ca_files added no \
         certificate; turn on upstream.trust_mozilla or list a CA file"
    )]
    EmptyRootStore,

    /// Building the upstream certificate verifier failed.
    #[error("could not build the upstream certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_ca_message_says_what_to_do() {
        let err = TlsError::CaIncomplete {
            present: PathBuf::from("/etc/gatewatch/ca.key.pem"),
            missing: PathBuf::from("/etc/gatewatch/ca.pem"),
        };
        let text = err.to_string();
        assert!(text.contains("/etc/gatewatch/ca.pem"), "{text}");
        assert!(text.contains("Restore the missing file"), "{text}");
    }
}
