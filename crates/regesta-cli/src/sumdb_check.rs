//! The Go checksum database as a whole: fetched, rebuilt from its data
//! tiles and held against Regesta's log (`verify-log`), and kept by
//! mirrors under `go-sumdb/` once it checks out.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::Context as _;

use bytes::Bytes;
use regesta_client::http::RegistryClient;
use regesta_projection_go::paths::ModulePath;
use regesta_projection_go::sumdb::{SumTree, TileRequest};
use regesta_projection_go::versions::ModuleVersion;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, EventBody, SealedEvent};
use regesta_tlog::{Note, NoteVerifier};

use crate::verify::Findings;
use crate::verify_go::{tile_path, tree_of};

/// The records of a data tile: `(id, text)` in order (Go's
/// `tlog.FormatRecord` blocks: id line, record lines, blank line).
fn data_records(body: &str) -> Option<Vec<(u64, String)>> {
    let mut records = Vec::new();
    let mut lines = body.split_inclusive('\n');
    while let Some(id) = lines.next() {
        let id = id.strip_suffix('\n')?.parse().ok()?;
        let mut text = String::new();
        loop {
            let line = lines.next()?;
            if line == "\n" {
                break;
            }
            text.push_str(line);
        }
        records.push((id, text));
    }
    Some(records)
}

/// The (path, version) a record is about: the first two fields of its
/// first line.
fn record_subject(text: &str) -> Option<(&str, &str)> {
    let mut fields = text.lines().next()?.split(' ');
    Some((fields.next()?, fields.next()?))
}

/// A Go release of the log: its module path and version, all a checksum
/// database check keeps of an event.
pub(crate) type GoRelease = (String, String);

/// The Go release `event` publishes, if it publishes one.
pub(crate) fn go_release(event: &SealedEvent) -> Option<GoRelease> {
    match &event.event.body {
        EventBody::ReleasePublished {
            package, version, ..
        } => {
            let module = ModulePath::from_id(package).ok()?;
            ModuleVersion::parse(version.as_str(), &module).ok()?;
            Some((module.as_str().to_owned(), version.as_str().to_owned()))
        }
        _ => None,
    }
}

/// The Go releases of mirrored `events` (those of earlier runs), in log
/// order. `releases` are the mirror's releases (its inventory's, which
/// lists every release it mirrored): only the envelopes of the Go ones
/// among them are read, each event's id rechecked and placed by its
/// position in `events` (a release of a later event is not one of
/// these), so a resume reads no event file of a registry without Go
/// releases and holds only the Go releases' ids.
///
/// # Errors
/// A Go release's envelope is missing or damaged.
pub(crate) fn mirrored_go_releases(
    dir: &Path,
    events: &[Digest],
    releases: &BTreeSet<(String, String)>,
) -> anyhow::Result<Vec<GoRelease>> {
    let mut go = HashMap::new();
    for (id, version) in releases.iter().filter(|(id, _)| id.starts_with("go:")) {
        let path = crate::mirror::release_path(dir, id, version);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let envelope = parse_strict(&bytes, bytes.len())
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let event = SealedEvent::from_json(&envelope["event"])
            .with_context(|| format!("the event in {}", path.display()))?;
        if let Some(release) = go_release(&event) {
            go.insert(event.id, release);
        }
    }
    if go.is_empty() {
        return Ok(Vec::new());
    }
    Ok(events.iter().filter_map(|id| go.remove(id)).collect())
}

/// A registry's Go checksum database as fetched and rebuilt: its key, its
/// signed latest note, the tree rebuilt from its data tiles, and what is
/// wrong with it (nothing, for an honest registry).
pub(crate) struct FetchedSumdb {
    /// The verifier key (`<name>+<hash>+<key>`).
    pub(crate) key: String,
    /// The signed latest tree note.
    pub(crate) note: Bytes,
    /// The tree rebuilt from the data tiles.
    pub(crate) tree: SumTree,
    /// Problems found.
    pub(crate) problems: Vec<String>,
}

/// Fetches the registry's Go checksum database (`None` when it serves
/// none) and rebuilds its whole tree from the records its data tiles
/// serve: they must be `releases` (the log's Go releases) in order, the
/// rebuilt root the one its signed latest note commits to, and its key
/// `pinned` when one is. With `held` (a mirror's `go-sumdb/`), the full
/// data tiles found there are read instead of fetched: full tiles never
/// change, and the rebuilt root checks them with the others.
///
/// # Errors
/// The registry could not be reached.
pub(crate) async fn fetch(
    client: &RegistryClient,
    releases: &[GoRelease],
    pinned: Option<&str>,
    held: Option<&Path>,
) -> anyhow::Result<Option<FetchedSumdb>> {
    let key = client.get("/go/sumdb-key").await?;
    if key.status != 200 {
        return Ok(None);
    }
    let key_text = String::from_utf8_lossy(&key.body).trim().to_owned();
    let mut f = Findings::default();
    if let Some(pinned) = pinned
        && pinned.trim() != key_text
    {
        f.problem(format!(
            "/go/sumdb-key: {key_text} is not the pinned key {}",
            pinned.trim()
        ));
    }
    let Ok(verifier) = NoteVerifier::from_text(&key_text) else {
        f.problem("/go/sumdb-key: not a note verifier key".to_owned());
        return Ok(Some(FetchedSumdb {
            key: key_text,
            note: Bytes::new(),
            tree: SumTree::default(),
            problems: f.into_problems(),
        }));
    };
    let base = format!("/go/sumdb/{}", verifier.name());
    let latest = client.get(&format!("{base}/latest")).await?;
    let tree = Note::parse(&latest.body)
        .ok()
        .filter(|n| n.verify(std::slice::from_ref(&verifier)).is_ok())
        .and_then(|n| tree_of(&n));
    let done = |f: Findings, tree: SumTree| {
        Ok(Some(FetchedSumdb {
            key: key_text.clone(),
            note: latest.body.clone(),
            tree,
            problems: f.into_problems(),
        }))
    };
    let Some((size, root)) = tree else {
        f.problem(format!(
            "{base}/latest: not a tree note signed by the database's key"
        ));
        return done(f, SumTree::default());
    };
    f.check(size == releases.len() as u64, || {
        format!(
            "{base}: the tree holds {size} records, the log {} Go releases",
            releases.len()
        )
    });
    let mut tree = SumTree::default();
    for index in 0..size.div_ceil(256) {
        let width = (size - index * 256).min(256);
        let path = tile_path(&base, None, index, width);
        let body = if let Some(body) = held.and_then(|root| held_data_tile(root, index, width)) {
            Ok(body)
        } else {
            let reply = client.get(&path).await?;
            if reply.status == 200 {
                Ok(String::from_utf8_lossy(&reply.body).into_owned())
            } else {
                Err(reply.status)
            }
        };
        let Some(records) = body.as_deref().ok().and_then(data_records) else {
            let status = body.err().unwrap_or(200);
            f.problem(format!("{path}: not a data tile (status {status})"));
            return done(f, tree);
        };
        for (id, text) in records {
            let expected = releases.get(usize::try_from(id).unwrap_or(usize::MAX));
            let subject = record_subject(&text);
            f.check(
                id == tree.size()
                    && expected.is_some_and(|(p, v)| subject == Some((p.as_str(), v.as_str()))),
                || format!("{path}: record {id} is not the log's Go release {expected:?}"),
            );
            let (p, v) = subject.unwrap_or_default();
            let (p, v) = (p.to_owned(), v.to_owned());
            tree.push(&p, &v, text);
        }
    }
    f.check(
        tree.size() == size && tree.root(size).ok() == Some(root),
        || {
            format!(
                "{base}: the tree rebuilt from the data tiles is not the signed tree of size {size}"
            )
        },
    );
    done(f, tree)
}

/// Full data tile `index` as a mirror holds it under `root`, if it does
/// (a partial one grows with the tree: fetched). Bytes that are not text
/// are taken as they are (lossily): they then fail the tree's check, and
/// the held tiles are rewritten.
fn held_data_tile(root: &Path, index: u64, width: u64) -> Option<String> {
    let request = TileRequest {
        level: None,
        index,
        width: 256,
    };
    if width != 256 {
        return None;
    }
    let bytes = std::fs::read(root.join(request.path())).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `verify-log`'s check of the database: its problems, if it serves one.
///
/// # Errors
/// The registry could not be reached.
pub(crate) async fn check_log(
    client: &RegistryClient,
    releases: &[GoRelease],
    f: &mut Findings,
) -> anyhow::Result<()> {
    if let Some(fetched) = fetch(client, releases, None, None).await? {
        f.check_all(fetched.problems);
    }
    Ok(())
}

/// Keeps the database in the mirror at `dir` (`go-sumdb/key`, `latest`
/// and every tile of its size, the full ones it holds left as they are),
/// after [`fetch`] found nothing wrong; the key is pinned by the first
/// mirror run. The tiles are written (not yet durably), the key and note
/// staged in `last`, placed once the tiles are durable. The database's
/// size and its tiles are given: tiles of an earlier size go once the
/// note is placed (`mirror_log::prune_tiles`). `None` when the registry
/// serves no database.
///
/// # Errors
/// A problem with the database, or the mirror cannot be written.
pub(crate) async fn keep(
    client: &RegistryClient,
    dir: &Path,
    releases: &[GoRelease],
    last: &mut crate::mirror_saves::LastFiles,
) -> anyhow::Result<Option<(u64, std::collections::BTreeSet<String>)>> {
    let root = dir.join("go-sumdb");
    let pinned = std::fs::read_to_string(root.join("key")).ok();
    let pinned = pinned.as_deref();
    let Some(mut fetched) = fetch(client, releases, pinned, Some(&root)).await? else {
        return Ok(None);
    };
    // Held tiles that do not give the signed tree (damaged) are fetched
    // again, and all of them rewritten.
    let repair = !fetched.problems.is_empty();
    if repair {
        fetched = fetch(client, releases, pinned, None)
            .await?
            .context("the registry stopped serving its Go checksum database")?;
    }
    if let Some(first) = fetched.problems.first() {
        anyhow::bail!("refusing the registry's Go checksum database: {first}");
    }
    let tiles = fetched.tree.tiles();
    for (name, bytes) in &tiles {
        crate::mirror_log::keep_tile(&root, name, bytes, repair)?;
    }
    let keep = tiles.into_iter().map(|(n, _)| n).collect();
    last.stage(root.join("key"), |out| writeln!(out, "{}", fetched.key))?;
    last.stage(root.join("latest"), |out| out.write_all(&fetched.note))?;
    Ok(Some((fetched.tree.size(), keep)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use regesta_protocol::{
        ChannelName, Digest, Event, EventBody, PackageId, SealedEvent, Timestamp, Version,
    };

    use std::sync::{Arc, Mutex};

    use regesta_client::http::RegistryClient;
    use regesta_projection_go::sumdb::{SumTree, parse_tile, record};
    use regesta_tlog::NoteSigner;
    use regesta_tlog::note::ALG_ED25519;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::{data_records, mirrored_go_releases};
    use crate::mirror_saves::LastFiles;

    fn release(package: &str, version: &str, at: i64) -> SealedEvent {
        Event {
            timestamp: Timestamp::from_unix_millis(at).unwrap(),
            authorization: None,
            body: EventBody::ReleasePublished {
                package: PackageId::parse(package).unwrap(),
                version: Version::parse(version).unwrap(),
                manifest_digest: Digest::of(b"manifest"),
                channel: ChannelName::latest(),
                source_digest: Digest::of(b"source"),
                artifact_digests: Vec::new(),
            },
        }
        .seal()
        .unwrap()
    }

    /// Writes `event`'s release envelope (its event, as served) where a
    /// mirror keeps it, and gives the release as the inventory lists it.
    fn keep(dir: &std::path::Path, event: &SealedEvent) -> (String, String) {
        let EventBody::ReleasePublished {
            package, version, ..
        } = &event.event.body
        else {
            unreachable!("a release")
        };
        let served: serde_json::Value =
            serde_json::from_slice(&event.served_bytes().unwrap()).unwrap();
        let path = crate::mirror::release_path(dir, package.as_str(), version.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::json!({ "event": served }).to_string()).unwrap();
        (package.to_string(), version.to_string())
    }

    /// A loopback registry serving only a Go checksum database of `tree`
    /// (its key, signed note and tiles, one request per connection); the
    /// data tiles asked for are noted.
    async fn serve(tree: SumTree) -> (String, Arc<Mutex<Vec<String>>>) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let signer = NoteSigner::new("sum.localhost", ALG_ED25519, key).unwrap();
        let note = tree.signed(&signer).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let noted = asked.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    if socket.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    request.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let path = text.split(' ').nth(1).unwrap_or_default();
                let tile = path.strip_prefix("/go/sumdb/sum.localhost/");
                if tile.is_some_and(|t| t.starts_with("tile/8/data/")) {
                    noted.lock().unwrap().push(path.to_owned());
                }
                let body = match path {
                    "/go/sumdb-key" => Some(signer.verifier_key().into_bytes()),
                    "/go/sumdb/sum.localhost/latest" => Some(note.clone().into_bytes()),
                    _ => tile.and_then(parse_tile).and_then(|t| tree.tile(t)),
                };
                let (status, body) = body.map_or((404, Vec::new()), |b| (200, b));
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(&body).await.unwrap();
            }
        });
        (base, asked)
    }

    /// The data tiles asked for since the last call, sorted.
    fn taken(asked: &Mutex<Vec<String>>) -> Vec<String> {
        let mut paths = std::mem::take(&mut *asked.lock().unwrap());
        paths.sort();
        paths
    }

    /// A mirror keeping the database fetches the full data tiles it does
    /// not hold, only the partial one once it holds them, and, when a held
    /// one no longer gives the signed tree, fetches and rewrites them all.
    #[tokio::test]
    async fn held_full_data_tiles_are_read_and_damaged_ones_refetched() {
        let mut tree = SumTree::default();
        let mut releases = Vec::new();
        for i in 0..300 {
            let path = format!("a.localhost/m{i}");
            tree.push(
                &path,
                "v1.0.0",
                record(&path, "v1.0.0", "h1:zip=", "h1:mod="),
            );
            releases.push((path, "v1.0.0".to_owned()));
        }
        let (base, asked) = serve(tree).await;
        let client = RegistryClient::new(&base).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keep = || async {
            let mut last = LastFiles::new(&dir.path().join(".tmp"));
            super::keep(&client, dir.path(), &releases, &mut last)
                .await
                .unwrap()
                .unwrap()
                .0
        };
        let tiles = |names: &[&str]| -> Vec<String> {
            names
                .iter()
                .map(|n| format!("/go/sumdb/sum.localhost/tile/8/data/{n}"))
                .collect()
        };
        assert_eq!(keep().await, 300);
        assert_eq!(taken(&asked), tiles(&["000", "001.p/44"]));
        assert_eq!(keep().await, 300);
        assert_eq!(taken(&asked), tiles(&["001.p/44"]));

        let held = dir.path().join("go-sumdb/tile/8/data/000");
        let served = std::fs::read(&held).unwrap();
        let damaged = String::from_utf8(served.clone())
            .unwrap()
            .replacen("h1:zip=", "h1:zap=", 1);
        let mut not_text = served.clone();
        not_text[10] = 0xff;
        for damaged in [damaged.into_bytes(), not_text] {
            std::fs::write(&held, damaged).unwrap();
            assert_eq!(keep().await, 300);
            assert_eq!(taken(&asked), tiles(&["000", "001.p/44", "001.p/44"]));
            assert_eq!(std::fs::read(&held).unwrap(), served, "rewritten as served");
        }
        assert_eq!(keep().await, 300);
        assert_eq!(taken(&asked), tiles(&["001.p/44"]));
    }

    /// The Go releases of earlier events come in log order (not the
    /// inventory's), without other ecosystems' releases or those of
    /// events not yet among the earlier ones; a damaged envelope is an
    /// error, and without Go releases nothing is read.
    #[test]
    fn earlier_go_releases_come_from_their_envelopes_in_log_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = [
            release("go:a.localhost/zed", "v1.0.0", 1),
            release("npm:a.localhost/js", "1.0.0", 2),
            release("go:a.localhost/alpha", "v1.2.0", 3),
            release("go:a.localhost/alpha", "v1.0.0", 4),
            release("go:a.localhost/later", "v1.0.0", 5),
        ];
        let releases: BTreeSet<_> = log.iter().map(|e| keep(dir.path(), e)).collect();
        let earlier: Vec<Digest> = log[..4].iter().map(|e| e.id).collect();
        let go = mirrored_go_releases(dir.path(), &earlier, &releases).unwrap();
        let expected = [
            ("a.localhost/zed", "v1.0.0"),
            ("a.localhost/alpha", "v1.2.0"),
            ("a.localhost/alpha", "v1.0.0"),
        ];
        assert_eq!(
            go,
            expected.map(|(p, v)| (p.to_owned(), v.to_owned())).to_vec()
        );

        let npm_only: BTreeSet<_> = releases
            .iter()
            .filter(|(id, _)| id.starts_with("npm:"))
            .cloned()
            .collect();
        assert!(
            mirrored_go_releases(dir.path(), &earlier, &npm_only)
                .unwrap()
                .is_empty()
        );

        let path = crate::mirror::release_path(dir.path(), "go:a.localhost/zed", "v1.0.0");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("zed", "zee");
        std::fs::write(&path, text).unwrap();
        assert!(mirrored_go_releases(dir.path(), &earlier, &releases).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(mirrored_go_releases(dir.path(), &earlier, &releases).is_err());
    }

    #[test]
    fn data_tiles_split_into_records() {
        let body = "0\na v1 h1:x\na v1/go.mod h1:y\n\n1\nb v2 h1:z\nb v2/go.mod h1:w\n\n";
        let records = data_records(body).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1], (1, "b v2 h1:z\nb v2/go.mod h1:w\n".to_owned()));
        assert_eq!(data_records("0\nno end\n"), None);
    }
}
