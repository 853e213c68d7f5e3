//! The service end to end on a loopback port: lookups answer what the library answers, tokens
//! and scopes are enforced, writes are committed, visible and audited without field values, bad
//! requests get clear JSON errors, and every route is in the OpenAPI document.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use khop::index::{LookupOptions, NationalIndex};
use khop::read::ReadOptions;
use khop::session::{Session, TableSource};
use khop_server::{ROUTES, ServeOptions, Server};
use serde_json::{Value, json};

const READER: &str = "reader-0123456789abcdef0123456789abcdef";
const WRITER: &str = "writer-0123456789abcdef0123456789abcdef";

fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    khop_server::client::request(address, method, path, token, body).unwrap()
}

/// A national index with a model, from a generated population; returns the sector table's path.
fn build_index(dir: &Path) -> std::path::PathBuf {
    let options = khop_datasets::GenOptions {
        persons: 1500,
        seed: 3,
        format: khop_datasets::OutputFormat::Csv,
        ..Default::default()
    };
    khop_datasets::generate(dir, &khop_datasets::Profile::named("default").unwrap(), &options).unwrap();
    let session = Session::new();
    let prepare = |name: &str| {
        session.prepare(&TableSource::detect(dir.join(name), &ReadOptions::default()).unwrap()).unwrap()
    };
    let national = prepare("national.csv");
    let sector = prepare("bhxh.csv");
    let (model, _) = session.train(&sector, &national).unwrap();
    session.build_index(&national, dir.join("national.idx"), Some(&model)).unwrap();
    dir.join("bhxh.csv")
}

/// A running service and the way to stop it.
struct Running {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start(options: ServeOptions) -> Running {
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let server = Server::bind(options).await.unwrap();
            address_tx.send(server.local_addr().unwrap()).unwrap();
            server
                .run(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    let address = address_rx.recv().unwrap();
    // Wait for the index.
    for _ in 0..600 {
        if request(address, "GET", "/ready", None, None).0 == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Running { address, stop: Some(stop), thread: Some(thread) }
}

fn tokens_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("tokens.toml");
    std::fs::write(
        &path,
        format!(
            "[[tokens]]\nname = \"form\"\ntoken = \"{READER}\"\nscopes = [\"read\"]\n\n\
             [[tokens]]\nname = \"sync\"\ntoken = \"{WRITER}\"\nscopes = [\"read\", \"write\"]\n"
        ),
    )
    .unwrap();
    path
}

/// The role-named record of a national row, as a clerk's form would send it.
fn query_of(row: &serde_json::Map<String, Value>) -> Value {
    json!({
        "full_name": row["ho_va_ten"],
        "date_of_birth": row["ngay_sinh"],
        "sex": row["gioi_tinh"],
        "address": row["noi_thuong_tru"],
    })
}

/// The national table's rows as JSON objects, by column name.
fn national_rows(dir: &Path) -> Vec<serde_json::Map<String, Value>> {
    let mut reader = csv::Reader::from_path(dir.join("national.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_owned(), Value::String(v.to_owned()))).collect()
        })
        .collect()
}

#[test]
fn lookups_writes_tokens_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    build_index(dir.path());
    let index_dir = dir.path().join("national.idx");
    let audit = dir.path().join("audit.jsonl");
    let options = ServeOptions {
        tokens: Some(tokens_file(dir.path())),
        audit_log: Some(audit.clone()),
        max_body_bytes: 64 << 10,
        max_batch: 50,
        ..ServeOptions::new(&index_dir, "127.0.0.1:0".parse().unwrap())
    };
    let running = start(options);
    let at = running.address;
    let rows = national_rows(dir.path());
    let row = &rows[7];
    let query = query_of(row);
    let body = json!({"record": query, "top": 2}).to_string();

    // Tokens: none, unknown, and a reader writing.
    assert_eq!(request(at, "POST", "/v1/lookup", None, Some(&body)).0, 401);
    assert_eq!(request(at, "POST", "/v1/lookup", Some("not-a-token"), Some(&body)).0, 401);
    let (status, error) = request(at, "POST", "/v1/records", Some(READER), Some(r#"{"deletes": []}"#));
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("forbidden")));

    // A lookup answers what the library answers.
    let (status, answer) = request(at, "POST", "/v1/lookup", Some(READER), Some(&body));
    assert_eq!(status, 200, "{answer}");
    let index = NationalIndex::open(&index_dir).unwrap();
    let expected = Session::new()
        .lookup(&index, &[query.as_object().unwrap().clone()], None, &LookupOptions { top: 2, fuzzy: true })
        .unwrap();
    assert_eq!(answer, expected[0].to_json(&index));
    assert_eq!(answer["best_id"], row["ma_cong_dan"]);
    assert!(answer["candidates"].as_array().unwrap().len() <= 2, "top 2");

    // Requests one after another on a kept connection (as clients' connection pools send them)
    // get the same answers, errors included.
    let mut kept = khop_server::client::Connection::open(at).unwrap();
    for _ in 0..3 {
        assert_eq!(
            kept.request("POST", "/v1/lookup", Some(READER), Some(&body)).unwrap(),
            (200, answer.clone())
        );
        let (status, error) = kept.request("POST", "/v1/lookup", Some(READER), Some("{not json")).unwrap();
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some("bad_request")));
        assert_eq!(kept.request("GET", "/health", None, None).unwrap().0, 200);
    }

    // A batch, and an explanation of the best pair.
    let batch = json!({"records": [query, query_of(&rows[8])]}).to_string();
    let (status, answers) = request(at, "POST", "/v1/lookup/batch", Some(READER), Some(&batch));
    assert_eq!(status, 200);
    assert_eq!(answers["results"][1]["best_id"], rows[8]["ma_cong_dan"]);
    let explain = json!({"record": query, "national_id": row["ma_cong_dan"]}).to_string();
    let (status, pair) = request(at, "POST", "/v1/explain", Some(READER), Some(&explain));
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["weight"], answer["candidates"][0]["weight"]);

    // Bad requests: clear errors, no values echoed.
    let (status, error) = request(at, "POST", "/v1/lookup", Some(READER), Some("{not json"));
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("bad_request")));
    let (status, _) =
        request(at, "POST", "/v1/lookup", Some(READER), Some(r#"{"record": {"full_name": ["Nguyễn"]}}"#));
    assert_eq!(status, 400);
    let many = json!({"records": vec![query.clone(); 51]}).to_string();
    assert_eq!(request(at, "POST", "/v1/lookup/batch", Some(READER), Some(&many)).0, 400);
    let huge = json!({"record": {"full_name": "x".repeat(70_000)}}).to_string();
    assert_eq!(request(at, "POST", "/v1/lookup", Some(READER), Some(&huge)).0, 413);

    // A write: delete the record, upsert it back under its id; each answer says it is visible.
    let id = row["ma_cong_dan"].as_str().unwrap().to_owned();
    let (status, done) =
        request(at, "POST", "/v1/records", Some(WRITER), Some(&json!({"deletes": [id]}).to_string()));
    assert_eq!(
        (status, done["deleted"].as_u64(), done["visible"].as_bool()),
        (200, Some(1), Some(true)),
        "{done}"
    );
    let (_, after) = request(at, "POST", "/v1/lookup", Some(READER), Some(&body));
    assert_ne!(after["best_id"], row["ma_cong_dan"]);
    let upsert = json!({"upserts": [row]}).to_string();
    let (status, done) = request(at, "POST", "/v1/records", Some(WRITER), Some(&upsert));
    assert_eq!((status, done["upserted"].as_u64()), (200, Some(1)), "{done}");
    let (_, again) = request(at, "POST", "/v1/lookup", Some(READER), Some(&body));
    assert_eq!(again["best_id"], row["ma_cong_dan"]);
    let (status, error) =
        request(at, "POST", "/v1/records", Some(WRITER), Some(r#"{"upserts": [{"no_such_column": "1"}]}"#));
    assert_eq!(status, 400);
    assert!(error["error"]["message"].as_str().unwrap().contains("no_such_column"));

    // The audit log names the token and the ids, never a value of the record.
    let log = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(log.lines().count(), 2);
    assert!(log.contains("\"sync\"") && log.contains(&id));
    assert!(!log.contains(row["ho_va_ten"].as_str().unwrap()));

    // Health, readiness, metrics and the OpenAPI document, which lists every route.
    assert_eq!(request(at, "GET", "/health", None, None).0, 200);
    let (status, ready) = request(at, "GET", "/ready", None, None);
    assert_eq!((status, ready["records"].as_u64()), (200, Some(rows.len() as u64)));
    let (status, metrics) = request(at, "GET", "/metrics", None, None);
    let metrics = metrics.as_str().unwrap().to_owned();
    assert_eq!(status, 200);
    assert!(metrics.contains("khop_http_requests_total{route=\"/v1/lookup\",status=\"200\"}"), "{metrics}");
    assert!(metrics.contains("khop_index_records ") && metrics.contains("khop_records_upserted_total 1"));
    let (status, openapi) = request(at, "GET", "/openapi.json", None, None);
    assert_eq!(status, 200);
    for (method, path) in ROUTES {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
}

#[test]
fn no_tokens_only_on_loopback_and_no_writes_without_an_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let refused =
        runtime.block_on(Server::bind(ServeOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap())));
    assert!(refused.err().unwrap().contains("no tokens"));
    let open = ServeOptions {
        no_auth_on_loopback: true,
        ..ServeOptions::new(dir.path(), "0.0.0.0:0".parse().unwrap())
    };
    assert!(runtime.block_on(Server::bind(open)).err().unwrap().contains("loopback"));

    // An index that cannot be opened: not ready, with the reason.
    let options = ServeOptions {
        no_auth_on_loopback: true,
        ..ServeOptions::new(dir.path().join("absent.idx"), "127.0.0.1:0".parse().unwrap())
    };
    let running = start(options);
    let (status, error) = request(running.address, "GET", "/ready", None, None);
    assert_eq!((status, error["error"]["code"].as_str()), (503, Some("index_failed")));
    let (status, error) = request(running.address, "POST", "/v1/records", None, Some("{}"));
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("read_only")));
}
