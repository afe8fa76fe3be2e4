//! Wheels, read from hostile bytes within fixed bounds. A wheel is accepted
//! only when it is what installers will take it for: one `.dist-info`
//! directory named for the release, `WHEEL` at format version 1, a `RECORD`
//! that lists every file with its true sha256 and size, and `METADATA`
//! whose name and version are the file name's. Nothing is extracted to
//! disk: each entry is streamed through the hasher and dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use base64::Engine as _;

use crate::filename::{DistFilename, DistKind};
use crate::metadata::{CoreMetadata, MAX_METADATA_BYTES, MetadataError};
use crate::names::ProjectName;
use crate::versions::PyVersion;

/// Largest wheel accepted.
pub const MAX_WHEEL_BYTES: usize = 256 * 1024 * 1024;
/// Most entries in one wheel.
pub const MAX_ENTRIES: usize = 50_000;
/// Most bytes all entries may unpack to.
pub const MAX_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;
/// Highest compression ratio accepted for an entry larger than
/// [`RATIO_FREE_BYTES`]: real files stay far below it, bombs far above.
pub const MAX_RATIO: u64 = 200;
/// Entries up to this size may compress as well as they like.
pub const RATIO_FREE_BYTES: u64 = 1024 * 1024;

/// Why a wheel is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WheelError {
    /// The file name is not a wheel's.
    #[error("not a wheel file name")]
    NotAWheel,
    /// Over one of the size or count bounds.
    #[error("the wheel is too large: {0}")]
    TooLarge(String),
    /// Not a readable zip archive.
    #[error("the wheel is not a readable zip archive: {0}")]
    Zip(String),
    /// An entry whose name is absolute, climbs out (`..`), holds a
    /// backslash or NUL, or repeats another entry's name.
    #[error("the wheel has an unsafe or duplicate entry name: {0:?}")]
    EntryName(String),
    /// A symbolic link (installers would write it as a file or follow it).
    #[error("the wheel holds a symbolic link: {0}")]
    Symlink(String),
    /// An entry that compresses far better than real files do.
    #[error("the wheel entry {0} is compressed suspiciously well (a zip bomb?)")]
    Ratio(String),
    /// An entry whose bytes differ in length from its header.
    #[error("the wheel entry {0} is not the size its header says")]
    Size(String),
    /// Not exactly one `.dist-info` directory, or one named for another
    /// project or version.
    #[error("the wheel needs one {expected}.dist-info directory")]
    DistInfo {
        /// The directory name expected.
        expected: String,
    },
    /// `WHEEL`, `METADATA` or `RECORD` is missing.
    #[error("the wheel has no .dist-info/{0}")]
    Missing(&'static str),
    /// `WHEEL` is not a version 1 wheel.
    #[error("the wheel's WHEEL file does not declare Wheel-Version 1.x")]
    WheelVersion,
    /// `RECORD` is malformed, misses a file, lists a missing one, or has a
    /// wrong hash or size.
    #[error("the wheel's RECORD {0}")]
    Record(String),
    /// `METADATA` is refused.
    #[error("the wheel's METADATA: {0}")]
    Metadata(#[from] MetadataError),
    /// `METADATA` names another project or version than the file name.
    #[error("the wheel's METADATA is for {name} {version}, not the file name's")]
    Mismatch {
        /// The project `METADATA` names.
        name: String,
        /// The version it names.
        version: String,
    },
}

/// What a wheel is, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    /// The `METADATA` bytes as they are (served for PEP 658).
    pub metadata_bytes: Vec<u8>,
    /// `METADATA`, parsed.
    pub metadata: CoreMetadata,
    /// Regular files in the archive.
    pub files: usize,
    /// Their total unpacked size.
    pub unpacked_size: u64,
}

fn zip_error(error: &zip::result::ZipError) -> WheelError {
    WheelError::Zip(error.to_string())
}

/// Whether `name` is a relative path that stays inside the archive root.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains(['\\', '\0'])
        && name
            .trim_end_matches('/')
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// One entry's bytes: hashed, and kept only when `keep` (the small files
/// of `.dist-info`).
struct Entry {
    sha256: [u8; 32],
    size: u64,
    kept: Option<Vec<u8>>,
}

/// Reads one entry through the hasher, failing when its bytes are not the
/// `declared` length.
fn read_entry(
    reader: impl std::io::Read,
    name: &str,
    declared: u64,
    keep: bool,
) -> Result<Entry, WheelError> {
    let (sha256, kept) = regesta_core::archive::read_declared(reader, declared, keep)
        .map_err(|e| WheelError::Zip(format!("{name}: {e}")))?
        .ok_or_else(|| WheelError::Size(name.to_owned()))?;
    Ok(Entry {
        sha256,
        size: declared,
        kept,
    })
}

/// The `.dist-info` directory `entries` must have for `file`, checked.
fn dist_info(names: &BTreeSet<String>, file: &DistFilename) -> Result<String, WheelError> {
    let expected = format!(
        "{}-{}",
        file.name.file_component(),
        file.version.normalized()
    );
    let refused = || WheelError::DistInfo {
        expected: expected.clone(),
    };
    let dirs: BTreeSet<&str> = names
        .iter()
        .filter_map(|n| n.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    let [dir] = dirs.into_iter().collect::<Vec<_>>()[..] else {
        return Err(refused());
    };
    let (name, version) = dir
        .trim_end_matches(".dist-info")
        .rsplit_once('-')
        .ok_or_else(refused)?;
    let same = ProjectName::parse(name).is_ok_and(|n| n == file.name)
        && PyVersion::parse(version).is_ok_and(|v| v == file.version);
    if same {
        Ok(dir.to_owned())
    } else {
        Err(refused())
    }
}

/// The fields of one CSV record (RFC 4180 quoting), or `None` if malformed.
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' {
                break;
            }
            field.push(c);
            chars.next();
        }
        fields.push(field);
        if chars.next().is_none() {
            return Some(fields);
        }
    }
}

/// A file's sha256 and size.
type Hashed = ([u8; 32], u64);

/// `RECORD`: path → its sha256 and size, `None` for the record files
/// themselves, which carry no hash.
type Record = BTreeMap<String, Option<Hashed>>;

/// Parses `RECORD`.
fn parse_record(text: &str) -> Result<Record, WheelError> {
    let bad = |what: String| WheelError::Record(what);
    let mut out = BTreeMap::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields =
            csv_fields(line).ok_or_else(|| bad(format!("line {} is not CSV", index + 1)))?;
        let [path, hash, size] = fields.as_slice() else {
            return Err(bad(format!("line {} does not have 3 fields", index + 1)));
        };
        let entry = if hash.is_empty() {
            None
        } else {
            let digest = hash
                .strip_prefix("sha256=")
                .and_then(|b64| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(b64)
                        .ok()
                })
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| bad(format!("has no sha256 for {path}")))?;
            let size = size
                .parse::<u64>()
                .map_err(|_| bad(format!("has no size for {path}")))?;
            Some((digest, size))
        };
        if out.insert(path.clone(), entry).is_some() {
            return Err(bad(format!("lists {path} twice")));
        }
    }
    Ok(out)
}

/// Whether `WHEEL` declares format version 1.x.
fn wheel_version_1(text: &str) -> bool {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("Wheel-Version"))
        .is_some_and(|(_, value)| value.trim().split('.').next() == Some("1"))
}

/// Reads and checks the wheel `bytes` uploaded as `file`.
///
/// # Errors
/// Any bound exceeded or rule broken; see [`WheelError`].
pub fn read(bytes: &[u8], file: &DistFilename) -> Result<Wheel, WheelError> {
    if !matches!(file.kind, DistKind::Wheel { .. }) {
        return Err(WheelError::NotAWheel);
    }
    if bytes.len() > MAX_WHEEL_BYTES {
        return Err(WheelError::TooLarge(format!(
            "over {MAX_WHEEL_BYTES} bytes"
        )));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error(&e))?;
    if archive.len() > MAX_ENTRIES {
        return Err(WheelError::TooLarge(format!("over {MAX_ENTRIES} entries")));
    }
    // First pass, headers only: names, kinds and sizes.
    let mut names = BTreeSet::new();
    let mut regular = Vec::new();
    let mut unpacked = 0_u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| zip_error(&e))?;
        let name = entry.name().map_err(|e| zip_error(&e))?.into_owned();
        if !safe_name(&name) || !names.insert(name.clone()) {
            return Err(WheelError::EntryName(name));
        }
        if entry.is_symlink() {
            return Err(WheelError::Symlink(name));
        }
        if entry.is_dir() {
            continue;
        }
        let size = entry.size();
        if size > RATIO_FREE_BYTES && size / entry.compressed_size().max(1) > MAX_RATIO {
            return Err(WheelError::Ratio(name));
        }
        unpacked = unpacked.saturating_add(size);
        if unpacked > MAX_UNPACKED_BYTES {
            return Err(WheelError::TooLarge(format!(
                "unpacks to over {MAX_UNPACKED_BYTES} bytes"
            )));
        }
        regular.push((index, name, size));
    }
    let dir = dist_info(&names, file)?;
    let special = |leaf: &str| format!("{dir}/{leaf}");
    // Second pass: every regular file hashed; the .dist-info files kept.
    let mut hashed = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for (index, name, size) in &regular {
        let keep = [special("METADATA"), special("WHEEL"), special("RECORD")].contains(name);
        if keep && *size > MAX_METADATA_BYTES as u64 {
            return Err(WheelError::TooLarge(format!(
                "{name} is over {MAX_METADATA_BYTES} bytes"
            )));
        }
        let entry = archive.by_index(*index).map_err(|e| zip_error(&e))?;
        let read = read_entry(entry, name, *size, keep)?;
        if let Some(bytes) = read.kept {
            kept.insert(name.clone(), bytes);
        }
        hashed.insert(name.clone(), (read.sha256, read.size));
    }
    let mut take =
        |leaf: &'static str| kept.remove(&special(leaf)).ok_or(WheelError::Missing(leaf));
    let (metadata_bytes, wheel, record) = (take("METADATA")?, take("WHEEL")?, take("RECORD")?);
    if !std::str::from_utf8(&wheel).is_ok_and(wheel_version_1) {
        return Err(WheelError::WheelVersion);
    }
    let record = std::str::from_utf8(&record)
        .map_err(|_| WheelError::Record("is not UTF-8".into()))
        .and_then(parse_record)?;
    check_record(&record, &hashed, &dir)?;
    let metadata = CoreMetadata::parse(&metadata_bytes)?;
    if let Some((name, version)) = metadata.differs_from(file) {
        return Err(WheelError::Mismatch { name, version });
    }
    Ok(Wheel {
        metadata_bytes,
        metadata,
        files: hashed.len(),
        unpacked_size: unpacked,
    })
}

/// Every file is in `RECORD` with its hash and size, and `RECORD` lists
/// nothing else; only the record files (`RECORD`, its signatures) go
/// unhashed.
fn check_record(
    record: &Record,
    hashed: &BTreeMap<String, Hashed>,
    dir: &str,
) -> Result<(), WheelError> {
    let unhashed = [
        format!("{dir}/RECORD"),
        format!("{dir}/RECORD.jws"),
        format!("{dir}/RECORD.p7s"),
    ];
    for (name, actual) in hashed {
        match record.get(name) {
            Some(Some(listed)) if listed == actual => {}
            Some(Some(_)) => {
                return Err(WheelError::Record(format!(
                    "has the wrong hash or size for {name}"
                )));
            }
            Some(None) | None if unhashed.contains(name) => {}
            Some(None) => return Err(WheelError::Record(format!("has no hash for {name}"))),
            None => return Err(WheelError::Record(format!("does not list {name}"))),
        }
    }
    if let Some(extra) = record.keys().find(|name| !hashed.contains_key(*name)) {
        return Err(WheelError::Record(format!(
            "lists {extra}, which the wheel does not hold"
        )));
    }
    Ok(())
}
