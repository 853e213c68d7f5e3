//! Load on `khop serve`: lookups of a sector file's records at several concurrencies (p50, p99,
//! max latency and throughput), optionally with a stream of upserts beside them. One connection
//! per request (`khop_server::client::request`), or with `--keep-alive` one connection per client
//! thread, kept for all its requests as an HTTP client's pool keeps it
//! (`khop_server::client::Connection`). The answers are checked: every request must succeed;
//! with `--truth` (the generator's links file), 99% of the `match` answers must name the true
//! citizen; and without writes each record's answer (best id and decision) must be the same at
//! every concurrency as at the first. The run fails otherwise.
//!
//! ```sh
//! khop serve g/national.idx --no-auth-on-loopback --audit-log audit.jsonl &
//! cargo run --release -p khop-benches --bin serve_load -- 127.0.0.1:8080 g/bhxh.csv 4000 1,8,64 \
//!     --truth g/links_bhxh.csv [--keep-alive] [--upserts g/changes.csv --batch 100] [--pid PID]
//! ```
//!
//! `--upserts FILE` posts the rows of FILE (a CSV with the index's columns) in batches of
//! `--batch` records, one commit each, for as long as the lookups run. `--pid` prints the
//! service's resident memory (now and peak) at the end.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use khop_server::client::{Connection, request};
use serde_json::{Value, json};

mod role_objects;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The rows of a CSV file as JSON objects by column name.
fn csv_rows(path: &Path) -> Result<Vec<serde_json::Map<String, Value>>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| path.display().to_string())?;
    let headers = reader.headers()?.clone();
    reader
        .records()
        .map(|r| {
            Ok(headers
                .iter()
                .zip(r?.iter())
                .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
                .collect())
        })
        .collect()
}

/// One lookup: on the kept connection when given one (opened on first use, kept while it
/// answers), else on a connection of its own.
fn lookup(
    address: SocketAddr,
    kept: Option<&mut Option<Connection>>,
    token: Option<&str>,
    query: &str,
) -> std::io::Result<(u16, Value)> {
    let Some(kept) = kept else { return request(address, "POST", "/v1/lookup", token, Some(query)) };
    let mut connection = match kept.take() {
        Some(connection) => connection,
        None => Connection::open(address)?,
    };
    let answer = connection.request("POST", "/v1/lookup", token, Some(query))?;
    *kept = Some(connection);
    Ok(answer)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, address, sector, count, levels, rest @ ..] = args.as_slice() else {
        bail!(
            "usage: serve_load ADDRESS SECTOR_FILE RECORDS CONCURRENCIES [--keep-alive] [--upserts CSV --batch N] [--pid PID]"
        );
    };
    let address: SocketAddr = address.parse()?;
    let count: usize = count.parse()?;
    let levels: Vec<usize> = levels.split(',').map(str::parse).collect::<Result<_, _>>()?;
    let option = |name: &str| rest.iter().position(|a| a == name).and_then(|i| rest.get(i + 1)).cloned();
    let upserts = option("--upserts").map(|p| csv_rows(Path::new(&p))).transpose()?;
    let batch: usize = option("--batch").map(|b| b.parse()).transpose()?.unwrap_or(100);
    let keep_alive = rest.iter().any(|a| a == "--keep-alive");
    let token = std::env::var("KHOP_TOKEN").ok();
    let write_token = std::env::var("KHOP_WRITE_TOKEN").ok().or_else(|| token.clone());

    let truth = option("--truth").map(|p| role_objects::truth(Path::new(&p))).transpose()?;
    let records = role_objects::read(Path::new(sector), count)?;
    let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    let queries: Vec<String> =
        records.into_iter().map(|(_, record)| json!({"record": record}).to_string()).collect();
    println!(
        "{} records of {sector}; service at {address}; {}",
        queries.len(),
        if keep_alive { "one kept connection per client" } else { "one connection per request" }
    );

    // The upsert stream, running until `stop`.
    let stop = Arc::new(AtomicBool::new(false));
    let commits: Arc<Mutex<Vec<f64>>> = Arc::default();
    let writer = upserts.map(|rows| {
        let (stop, commits, token) = (Arc::clone(&stop), Arc::clone(&commits), write_token.clone());
        std::thread::spawn(move || -> Result<()> {
            for chunk in rows.chunks(batch.max(1)).cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = json!({"upserts": chunk}).to_string();
                let started = Instant::now();
                let (status, answer) =
                    request(address, "POST", "/v1/records", token.as_deref(), Some(&body))?;
                if status != 200 || answer["visible"] != true {
                    bail!("an upsert failed: {status} {answer}");
                }
                commits.lock().unwrap().push(started.elapsed().as_secs_f64());
            }
            Ok(())
        })
    });

    let mut first: Option<HashMap<usize, (Value, Value)>> = None;
    println!("| concurrency | requests | p50 ms | p99 ms | max ms | lookups/s |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for &concurrency in &levels {
        let next = AtomicUsize::new(0);
        let answers: Mutex<HashMap<usize, (Value, Value)>> = Mutex::default();
        let latencies: Mutex<Vec<f64>> = Mutex::default();
        let failed: Mutex<Option<String>> = Mutex::default();
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..concurrency {
                scope.spawn(|| {
                    let mut connection: Option<Connection> = None;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= queries.len() {
                            break;
                        }
                        let asked = Instant::now();
                        let kept = keep_alive.then_some(&mut connection);
                        match lookup(address, kept, token.as_deref(), &queries[i]) {
                            Ok((200, answer)) => {
                                latencies.lock().unwrap().push(asked.elapsed().as_secs_f64() * 1e3);
                                answers
                                    .lock()
                                    .unwrap()
                                    .insert(i, (answer["best_id"].clone(), answer["decision"].clone()));
                            }
                            Ok((status, answer)) => {
                                *failed.lock().unwrap() = Some(format!("record {i}: {status} {answer}"));
                                break;
                            }
                            Err(e) => {
                                *failed.lock().unwrap() = Some(format!("record {i}: {e}"));
                                break;
                            }
                        }
                    }
                });
            }
        });
        let seconds = started.elapsed().as_secs_f64();
        if let Some(failure) = failed.into_inner().unwrap() {
            stop.store(true, Ordering::Relaxed);
            bail!("a lookup failed at concurrency {concurrency}: {failure}");
        }
        let mut latencies = latencies.into_inner().unwrap();
        latencies.sort_by(f64::total_cmp);
        println!(
            "| {concurrency} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(0.0),
            latencies.len() as f64 / seconds
        );
        let answers = answers.into_inner().unwrap();
        if let Some(truth) = &truth {
            let matches: Vec<(&usize, &Value)> =
                answers.iter().filter(|(_, (_, d))| d == "match").map(|(i, (b, _))| (i, b)).collect();
            let right = matches
                .iter()
                .filter(|(i, best)| truth.get(&ids[**i]).is_some_and(|t| best.as_str() == Some(t)))
                .count();
            let precision = right as f64 / matches.len().max(1) as f64;
            if precision < 0.99 {
                stop.store(true, Ordering::Relaxed);
                bail!(
                    "at concurrency {concurrency}, {right} of {} matches name the true citizen",
                    matches.len()
                );
            }
        }
        match &first {
            None => first = Some(answers),
            Some(first) if writer.is_none() && *first != answers => {
                bail!("answers at concurrency {concurrency} differ from those at {}", levels[0])
            }
            Some(_) => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(writer) = writer {
        writer.join().map_err(|_| anyhow::anyhow!("the writer panicked"))??;
        let mut commits = commits.lock().unwrap().clone();
        commits.sort_by(f64::total_cmp);
        if !commits.is_empty() {
            println!(
                "\nupserts: {} commits of {batch} records beside the lookups; commit p50 {:.2} s, max {:.2} s",
                commits.len(),
                percentile(&commits, 0.5),
                commits.last().unwrap()
            );
        }
    }
    if let Some(pid) = option("--pid") {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        };
        let mib = |kib: Option<String>| {
            kib.and_then(|k| k.parse::<f64>().ok())
                .map(|k| format!("{:.0} MiB", k / 1024.0))
                .unwrap_or_default()
        };
        println!("\nservice memory: resident {}, peak {}", mib(field("VmRSS:")), mib(field("VmHWM:")));
    }
    Ok(())
}
