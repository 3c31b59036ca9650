//! The starter library compiled into the binary, so `gatewatch run` detects on embedded
//! defaults wherever it runs. Its files are `libraries/starter/`; the checksum is recomputed
//! over the same bytes.

use crate::library::{Library, LibraryError};

const MANIFEST: &str = include_str!("../../libraries/starter/library.toml");

const FILES: &[(&str, &str)] = &[
    (
        "child-sexual-abuse.toml",
        include_str!("../../libraries/starter/child-sexual-abuse.toml"),
    ),
    (
        "terrorism.toml",
        include_str!("../../libraries/starter/terrorism.toml"),
    ),
    (
        "bullying.toml",
        include_str!("../../libraries/starter/bullying.toml"),
    ),
    (
        "grooming.toml",
        include_str!("../../libraries/starter/grooming.toml"),
    ),
    (
        "discrimination.toml",
        include_str!("../../libraries/starter/discrimination.toml"),
    ),
    (
        "hate-speech.toml",
        include_str!("../../libraries/starter/hate-speech.toml"),
    ),
    (
        "drugs.toml",
        include_str!("../../libraries/starter/drugs.toml"),
    ),
    (
        "extremism.toml",
        include_str!("../../libraries/starter/extremism.toml"),
    ),
    (
        "pornography.toml",
        include_str!("../../libraries/starter/pornography.toml"),
    ),
    (
        "self-harm.toml",
        include_str!("../../libraries/starter/self-harm.toml"),
    ),
    (
        "suicide.toml",
        include_str!("../../libraries/starter/suicide.toml"),
    ),
    (
        "violence.toml",
        include_str!("../../libraries/starter/violence.toml"),
    ),
    (
        "weapons.toml",
        include_str!("../../libraries/starter/weapons.toml"),
    ),
    (
        "gambling.toml",
        include_str!("../../libraries/starter/gambling.toml"),
    ),
    (
        "mental-health.toml",
        include_str!("../../libraries/starter/mental-health.toml"),
    ),
];

/// The embedded starter library.
pub fn starter_library() -> Result<Library, LibraryError> {
    let version = MANIFEST
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| {
            t.get("library")?
                .get("version")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string());
    Library::from_sources(
        "gatewatch-starter",
        &version,
        "The gatewatch starter library (embedded)",
        FILES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_starter_matches_the_files_on_disk() {
        let embedded = starter_library().expect("embedded starter library is valid");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("libraries/starter");
        let on_disk = Library::load_dir(&dir).expect("starter library loads");
        assert_eq!(embedded.checksum(), on_disk.checksum());
        assert_eq!(embedded.version(), on_disk.version());
        assert_eq!(embedded.entries().len(), on_disk.entries().len());
    }
}
