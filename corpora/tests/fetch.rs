//! Resolving and downloading catalog files, offline: a tiny HTTP server on 127.0.0.1 stands in for upstream.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use fivegram_corpora::Error;
use fivegram_corpora::catalog::{Catalog, CatalogFile};
use fivegram_corpora::fetch::{Origin, Resolver, hash_file};

/// What the test server answers for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with a Content-Length and the whole body.
    Ok(Vec<u8>),
    /// 200 announcing the whole body's length, but only `sent` bytes of it before the connection closes.
    CutShort { body: Vec<u8>, sent: usize },
    /// 200 without a Content-Length (the body ends when the connection closes) and only `sent` bytes of it.
    CutShortUnframed { body: Vec<u8>, sent: usize },
}

/// A one-request-per-connection HTTP/1.1 server that counts the requests it gets; unknown paths are 404.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
    routes: Arc<Mutex<Vec<(String, Reply)>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let routes: Arc<Mutex<Vec<(String, Reply)>>> = Arc::default();
        let (count, table) = (Arc::clone(&requests), Arc::clone(&routes));
        // The thread ends with the test process.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = answer(stream, &table);
            }
        });
        Server { base, requests, routes }
    }

    fn route(&self, path: &str, reply: Reply) -> String {
        self.routes.lock().unwrap().push((path.to_string(), reply));
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn answer(stream: TcpStream, routes: &Mutex<Vec<(String, Reply)>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    let reply = routes
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, r)| r.clone());
    let mut out = stream;
    match reply {
        None => {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")?;
        }
        Some(Reply::Ok(body)) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body)?;
        }
        Some(Reply::CutShort { body, sent }) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body[..sent])?;
        }
        Some(Reply::CutShortUnframed { body, sent }) => {
            out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            out.write_all(&body[..sent])?;
        }
    }
    out.flush()?;
    out.shutdown(std::net::Shutdown::Both)
}

/// Deterministic, incompressible-looking bytes, large enough to need several reads.
fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(&path, bytes).unwrap();
    hash_file(&path, &mut |_| {}).unwrap().0
}

/// A one-corpus catalog with one downloadable file (`url`) and one mirror-only file.
fn fixture(url: &str, body: &[u8]) -> Catalog {
    let text = format!(
        r#"
[[corpus]]
name = "tiny"
kind = "monolingual"
languages = ["en"]
description = "a test corpus"
licence = "CC0"
citation = "none"
homepage = "https://example.org/"

[[corpus.file]]
path = "tiny/train.txt.gz"
split = "train"
lang = "en"
size = {size}
sha256 = "{sha}"
url = "{url}"

[[corpus.file]]
path = "tiny/dev.txt"
split = "dev"
lang = "en"
size = {size}
sha256 = "{sha}"
mirror_only = true
built_from = "made by the test"
"#,
        size = body.len(),
        sha = sha256_hex(body),
    );
    Catalog::from_toml_str(&text).unwrap()
}

fn file<'a>(catalog: &'a Catalog, split: &str) -> &'a CatalogFile {
    catalog.split_files("tiny", split, None).unwrap()[0]
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn downloads_into_the_cache_then_reuses_it() {
    let server = Server::start();
    let body = payload(300_000);
    let catalog = fixture(&server.route("/data/train.txt.gz", Reply::Ok(body.clone())), &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));
    let train = file(&catalog, "train");

    let mut reported = 0;
    let first = resolver.resolve_with_progress(train, &mut |n| reported += n).unwrap();
    assert_eq!(first.origin, Origin::Downloaded);
    assert_eq!(
        first.path,
        cache.path().join("corpora").join("tiny").join("train.txt.gz")
    );
    assert_eq!(std::fs::read(&first.path).unwrap(), body);
    assert_eq!(reported, body.len() as u64);
    assert_eq!(server.requests(), 1);
    assert_eq!(
        files_under(cache.path()),
        std::slice::from_ref(&first.path),
        "no temporary file left"
    );

    let second = resolver.resolve(train).unwrap();
    assert_eq!(
        second,
        fivegram_corpora::fetch::Located {
            path: first.path,
            origin: Origin::Cache
        }
    );
    assert_eq!(server.requests(), 1, "the second resolve makes no request");
}

#[test]
fn the_mirror_comes_first_and_is_used_as_it_is() {
    let server = Server::start();
    let body = payload(1000);
    let catalog = fixture(&server.route("/train.txt.gz", Reply::Ok(body.clone())), &body);
    let mirror = tempfile::tempdir().unwrap();
    std::fs::create_dir(mirror.path().join("tiny")).unwrap();
    // Not the catalog's bytes: resolving does not read mirror files; verifying does.
    std::fs::write(mirror.path().join("tiny/train.txt.gz"), b"stale").unwrap();
    std::fs::write(mirror.path().join("tiny/dev.txt"), &body).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new()
        .with_mirror(Some(mirror.path().to_path_buf()))
        .with_cache(Some(cache.path().to_path_buf()));

    for split in ["train", "dev"] {
        let found = resolver.resolve(file(&catalog, split)).unwrap();
        assert_eq!(found.origin, Origin::Mirror);
        assert!(found.path.starts_with(mirror.path()));
    }
    assert_eq!(server.requests(), 0);
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn a_wrong_checksum_leaves_nothing_behind() {
    let server = Server::start();
    let body = payload(200_000);
    let mut other = body.clone();
    other[123_456] ^= 1;
    let catalog = fixture(&server.route("/train.txt.gz", Reply::Ok(other)), &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));

    match resolver.resolve(file(&catalog, "train")) {
        Err(Error::Checksum { path, expected, found }) => {
            assert!(path.to_string_lossy().ends_with("/train.txt.gz"));
            assert_eq!(expected, sha256_hex(&body));
            assert_ne!(found, expected);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert!(files_under(cache.path()).is_empty(), "{:?}", files_under(cache.path()));
    assert!(resolver.locate(file(&catalog, "train")).is_none());
}

#[test]
fn a_connection_dropped_mid_body_leaves_nothing_behind() {
    let server = Server::start();
    let body = payload(500_000);
    let framed = server.route(
        "/framed",
        Reply::CutShort {
            body: body.clone(),
            sent: 250_000,
        },
    );
    let unframed = server.route(
        "/unframed",
        Reply::CutShortUnframed {
            body: body.clone(),
            sent: 250_000,
        },
    );
    for url in [framed, unframed] {
        let catalog = fixture(&url, &body);
        let cache = tempfile::tempdir().unwrap();
        let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));
        match resolver.resolve(file(&catalog, "train")) {
            Err(Error::Download { url: failed, message }) => {
                assert_eq!(failed, url);
                assert!(message.contains("of 500000 bytes"), "{message}");
            }
            other => panic!("expected a download error for {url}, got {other:?}"),
        }
        assert!(
            files_under(cache.path()).is_empty(),
            "{url}: {:?}",
            files_under(cache.path())
        );
    }
}

#[test]
fn a_body_longer_than_the_catalog_says_is_refused() {
    let server = Server::start();
    let body = payload(10_000);
    let mut longer = body.clone();
    longer.extend_from_slice(b"trailing");
    let catalog = fixture(&server.route("/long", Reply::Ok(longer)), &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));
    let err = resolver.resolve(file(&catalog, "train")).unwrap_err();
    assert!(err.to_string().contains("more than the 10000 bytes"), "{err}");
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn a_404_is_a_clear_error() {
    let server = Server::start();
    let body = payload(10);
    let url = format!("{}/moved/away", server.base);
    let catalog = fixture(&url, &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));
    let err = resolver.resolve(file(&catalog, "train")).unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("downloading {url}: HTTP status 404")),
        "{message}"
    );
    assert_eq!(server.requests(), 1);
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn a_mirror_only_file_missing_everywhere_is_unavailable() {
    let server = Server::start();
    let body = payload(10);
    let catalog = fixture(&server.route("/t", Reply::Ok(body.clone())), &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));
    match resolver.resolve(file(&catalog, "dev")) {
        Err(Error::Unavailable { file, searched, hint }) => {
            assert_eq!(file, "tiny/dev.txt");
            assert!(searched.contains("FIVEGRAM_MIRROR unset"), "{searched}");
            assert!(
                hint.contains("set FIVEGRAM_MIRROR") && hint.contains("made by the test"),
                "{hint}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(server.requests(), 0);
}

#[test]
fn an_http_mirror_serves_every_file_by_catalog_path() {
    let server = Server::start();
    let body = payload(4096);
    server.route("/mirror/tiny/dev.txt", Reply::Ok(body.clone()));
    let catalog = fixture("https://upstream.invalid/never-used", &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new()
        .with_cache(Some(cache.path().to_path_buf()))
        .with_url_base(Some(format!("{}/mirror/", server.base)));
    let dev = file(&catalog, "dev");
    assert_eq!(
        resolver.url(dev).unwrap(),
        format!("{}/mirror/tiny/dev.txt", server.base)
    );
    let found = resolver.resolve(dev).unwrap();
    assert_eq!(found.origin, Origin::Downloaded);
    assert_eq!(std::fs::read(found.path).unwrap(), body);
}

#[test]
fn a_cached_file_of_the_wrong_size_is_fetched_again() {
    let server = Server::start();
    let body = payload(2048);
    let catalog = fixture(&server.route("/train", Reply::Ok(body.clone())), &body);
    let cache = tempfile::tempdir().unwrap();
    let resolver = Resolver::new().with_cache(Some(cache.path().to_path_buf()));
    let train = file(&catalog, "train");
    let cached = resolver.cache_path(train).unwrap();
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, &body[..100]).unwrap();
    assert!(resolver.locate(train).is_none());
    assert_eq!(resolver.resolve(train).unwrap().origin, Origin::Downloaded);
    assert_eq!(std::fs::read(&cached).unwrap(), body);
    assert_eq!(server.requests(), 1);
}

#[test]
fn without_a_cache_directory_nothing_is_downloaded() {
    let server = Server::start();
    let body = payload(10);
    let catalog = fixture(&server.route("/t", Reply::Ok(body.clone())), &body);
    let err = Resolver::new().resolve(file(&catalog, "train")).unwrap_err();
    assert!(err.to_string().contains("set FIVEGRAM_CACHE"), "{err}");
    assert_eq!(server.requests(), 0);
}
