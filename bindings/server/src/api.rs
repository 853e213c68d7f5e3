//! The routes: what each takes and answers. Errors are JSON, `{"error": {"code", "message"}}`,
//! with 400 for a bad request, 401 and 403 for tokens, 413 for a body over the limit, 503 while
//! the index loads or when a request runs past the time limit. Messages name records by their
//! position in the request and fields by name, never by value.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchIterator};
use arrow_schema::{DataType, Field, Schema};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use khop::Session;
use khop::index::{LookupOptions, NationalIndex};
use khop::read::ReadOptions;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{Refusal, Scope};
use crate::metrics::{RequestLabels, RouteLabels};

/// Every route, as `(method, path)`: the router serves these, and the OpenAPI document describes
/// each (a test checks both).
pub const ROUTES: [(&str, &str); 8] = [
    ("post", "/v1/lookup"),
    ("post", "/v1/lookup/batch"),
    ("post", "/v1/explain"),
    ("post", "/v1/records"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// The OpenAPI document, served as written.
const OPENAPI: &str = include_str!("openapi.json");

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let limit = state.options.max_body_bytes;
    Router::new()
        .route("/v1/lookup", post(lookup))
        .route("/v1/lookup/batch", post(lookup_batch))
        .route("/v1/explain", post(explain))
        .route("/v1/records", post(records))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), measure))
        .with_state(state)
}

/// An error answer.
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<khop::Error> for ApiError {
    fn from(error: khop::Error) -> ApiError {
        use khop::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidArgument(_)
            | ErrorKind::UnknownColumn { .. }
            | ErrorKind::ColumnType { .. } => ApiError::bad_request(error.to_string()),
            ErrorKind::Locked { .. } => ApiError::new(StatusCode::CONFLICT, "locked", error.to_string()),
            _ => ApiError::internal(error.to_string()),
        }
    }
}

type Answer = Result<Response, ApiError>;

/// Times every request and counts it by route and status.
async fn measure(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".into());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    state.metrics.requests.get_or_create(&RequestLabels { route, status: response.status().as_u16() }).inc();
    response
}

/// The token's name, when it has `scope`.
fn authorize(state: &AppState, headers: &HeaderMap, scope: Scope) -> Result<String, ApiError> {
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    state.tokens.check(header, scope).map_err(|refusal| match refusal {
        Refusal::Unauthenticated => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "give a known token: Authorization: Bearer TOKEN",
        ),
        Refusal::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this token may not do that"),
    })
}

/// The request's JSON object; a body over the limit is a 413.
fn body_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is over the limit")
        } else {
            ApiError::bad_request(format!("cannot read the request body: {rejection}"))
        }
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request("the body is JSON but not an object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "the body is not JSON: line {}, column {}",
            e.line(),
            e.column()
        ))),
    }
}

/// The index as lookups see it now; 503 while it loads.
fn current(state: &AppState) -> Result<Arc<NationalIndex>, ApiError> {
    let slot = state.index.read().map_err(|_| poisoned())?;
    slot.clone().ok_or_else(|| not_ready(state))
}

fn poisoned() -> ApiError {
    ApiError::internal("a lock of the service is poisoned")
}

/// Runs `work` on the blocking pool with the index, one lookup per core at a time, within the
/// time limit (waiting for a turn included); 503 while the index loads.
async fn with_index<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&NationalIndex) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let index = current(state)?;
    let run = async {
        let _turn = state.lookups.acquire().await.map_err(|_| poisoned())?;
        tokio::task::spawn_blocking(move || work(&index))
            .await
            .map_err(|e| ApiError::internal(format!("the request failed: {e}")))?
    };
    match tokio::time::timeout(state.options.timeout, run).await {
        Ok(answer) => answer,
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request ran past the time limit",
        )),
    }
}

fn not_ready(state: &AppState) -> ApiError {
    match state.load_error.lock().ok().and_then(|e| e.clone()) {
        Some(error) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "index_failed",
            format!("the index cannot be opened: {error}"),
        ),
        None => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "loading",
            "the index is loading; try again shortly",
        ),
    }
}

/// `top` and `fuzzy` of a lookup request.
fn lookup_options(body: &Map<String, Value>) -> Result<LookupOptions, ApiError> {
    let mut options = LookupOptions::default();
    if let Some(top) = body.get("top") {
        options.top = top
            .as_u64()
            .filter(|&t| (1..=100).contains(&t))
            .ok_or_else(|| ApiError::bad_request("`top` is a number from 1 to 100"))?
            as usize;
    }
    if let Some(fuzzy) = body.get("fuzzy") {
        options.fuzzy = fuzzy.as_bool().ok_or_else(|| ApiError::bad_request("`fuzzy` is true or false"))?;
    }
    Ok(options)
}

fn object(value: &Value, what: &str) -> Result<Map<String, Value>, ApiError> {
    value.as_object().cloned().ok_or_else(|| ApiError::bad_request(format!("{what} is not a JSON object")))
}

/// The request's `record` object.
fn record_of(body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    object(body.get("record").ok_or_else(|| ApiError::bad_request("no `record`"))?, "`record`")
}

/// `POST /v1/lookup`: `{"record": {role: value, ...}, "top": 3, "fuzzy": true}`: the ranked
/// candidates with probability, decision and explanation.
async fn lookup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    authorize(&state, &headers, Scope::Read)?;
    let body = body_object(body)?;
    let options = lookup_options(&body)?;
    let record = record_of(&body)?;
    let answer = with_index(&state, move |index| {
        let found = Session::new().lookup(index, &[record], None, &options)?;
        Ok(found[0].to_json(index))
    })
    .await?;
    Ok(Json(answer).into_response())
}

/// `POST /v1/lookup/batch`: `{"records": [...], "top": 3, "fuzzy": true}`: one answer per record,
/// in order (`{"results": [...]}`).
async fn lookup_batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    authorize(&state, &headers, Scope::Read)?;
    let body = body_object(body)?;
    let options = lookup_options(&body)?;
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("no `records` list"))?;
    if records.len() > state.options.max_batch {
        return Err(ApiError::bad_request(format!(
            "{} records; at most {} in one request",
            records.len(),
            state.options.max_batch
        )));
    }
    let records = records
        .iter()
        .enumerate()
        .map(|(i, r)| object(r, &format!("record {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    let answer = with_index(&state, move |index| {
        let found = Session::new().lookup(index, &records, None, &options)?;
        Ok(found.iter().map(|l| l.to_json(index)).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({"results": answer})).into_response())
}

/// `POST /v1/explain`: `{"record": {...}, "national_id": "..."}`: the pair's weight, probability
/// and each comparison's level and weight.
async fn explain(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    authorize(&state, &headers, Scope::Read)?;
    let body = body_object(body)?;
    let record = record_of(&body)?;
    let id = body
        .get("national_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("no `national_id` (text)"))?
        .to_owned();
    let answer = with_index(&state, move |index| {
        Ok(Session::new().explain_in_index(index, &record, &id, None)?.to_json())
    })
    .await?;
    Ok(Json(answer).into_response())
}

/// `POST /v1/records`: `{"upserts": [{column: value, ...}], "deletes": ["id", ...]}`, with the
/// index's column names: one commit. The answer comes once the commit is durable and visible to
/// lookups (`"visible": true`), with what the update did and the generation committed.
async fn records(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let token = authorize(&state, &headers, Scope::Write)?;
    if state.audit.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "this service takes no writes: start it with --audit-log FILE",
        ));
    }
    let body = body_object(body)?;
    for key in body.keys() {
        if key != "upserts" && key != "deletes" {
            return Err(ApiError::bad_request(format!(
                "unknown field `{key}`: expected `upserts` and `deletes`"
            )));
        }
    }
    let upserts = match body.get("upserts") {
        None => Vec::new(),
        Some(value) => value
            .as_array()
            .cloned()
            .ok_or_else(|| ApiError::bad_request("`upserts` is a list of records"))?,
    };
    let deletes: Vec<String> = match body.get("deletes") {
        None => Vec::new(),
        Some(value) => value
            .as_array()
            .and_then(|ids| ids.iter().map(|id| id.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| ApiError::bad_request("`deletes` is a list of ids (text)"))?,
    };
    if upserts.len() + deletes.len() > state.options.max_batch {
        return Err(ApiError::bad_request(format!(
            "{} changes; at most {} in one request",
            upserts.len() + deletes.len(),
            state.options.max_batch
        )));
    }
    let shared = Arc::clone(&state);
    let task = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let _writing = shared.writer.lock().map_err(|_| poisoned())?;
        // The update goes to a clone; lookups go on against the index as it was, until the swap.
        let mut index = NationalIndex::clone(current(&shared)?.as_ref());
        let table = if upserts.is_empty() { None } else { Some(upsert_table(&index, &upserts)?) };
        let session = Session::new();
        let done = session.update_index(&mut index, table.as_ref(), &deletes)?;
        let ids: Vec<&str> = table
            .as_ref()
            .map(|t| (0..t.len() as u32).map(|i| t.records().record_id(i)).collect())
            .unwrap_or_default();
        audit(&shared, &token, &ids, &deletes, done.generation)?;
        shared.metrics.index(&index);
        *shared.index.write().map_err(|_| poisoned())? = Some(Arc::new(index));
        shared.metrics.records_upserted.inc_by(done.upserted);
        shared.metrics.records_deleted.inc_by(done.deleted);
        shared.metrics.last_commit.set(unix_seconds());
        let mut answer = serde_json::to_value(&done).map_err(|e| ApiError::internal(e.to_string()))?;
        answer["visible"] = Value::Bool(true);
        Ok(answer)
    });
    // A write is not cut short by the time limit: once it started, it commits or fails whole.
    let answer = task.await.map_err(|e| ApiError::internal(format!("the write failed: {e}")))??;
    Ok(Json(answer).into_response())
}

/// The records of `upserts` (JSON objects keyed by the index's column names) as a table of the
/// index's columns, every value as text. A field the index does not have, a value that is not
/// text, a number or null, or a record without its id is refused, naming the record and field.
fn upsert_table(index: &NationalIndex, upserts: &[Value]) -> Result<khop::Table, ApiError> {
    let dataset = index.manifest().dataset()?;
    let id_column = dataset.id_column.clone().ok_or_else(|| {
        ApiError::bad_request("this index names records by row number: it takes no upserts")
    })?;
    let mut columns: Vec<String> = vec![id_column.clone()];
    columns.extend(dataset.columns.iter().map(|c| c.name.clone()).filter(|c| *c != id_column));
    let mut builders: Vec<StringBuilder> = columns.iter().map(|_| StringBuilder::new()).collect();
    for (i, record) in upserts.iter().enumerate() {
        let record = record
            .as_object()
            .ok_or_else(|| ApiError::bad_request(format!("upsert {i} is not a JSON object")))?;
        for key in record.keys() {
            if !columns.contains(key) {
                return Err(ApiError::bad_request(format!(
                    "upsert {i}: unknown field `{key}`; the index's columns are {}",
                    columns.join(", ")
                )));
            }
        }
        for (column, builder) in columns.iter().zip(builders.iter_mut()) {
            match record.get(column) {
                None | Some(Value::Null) if *column == id_column => {
                    return Err(ApiError::bad_request(format!(
                        "upsert {i}: no `{id_column}` (the record id)"
                    )));
                }
                None | Some(Value::Null) => builder.append_null(),
                Some(Value::String(text)) => builder.append_value(text),
                Some(Value::Number(number)) => builder.append_value(number.to_string()),
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "upsert {i}: `{column}` is not text, a number or null"
                    )));
                }
            }
        }
    }
    let schema = Arc::new(Schema::new(
        columns.iter().map(|c| Field::new(c, DataType::Utf8, true)).collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
    let batch =
        RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(|e| ApiError::internal(e.to_string()))?;
    let reader = RecordBatchIterator::new([Ok(batch)], schema);
    let options = ReadOptions { max_rejected_share: None, ..ReadOptions::default() };
    let table = Session::new().prepare_arrow("upserts", Box::new(reader), Some(&dataset), &options)?;
    if let Some(reject) = table.rejects().first() {
        return Err(ApiError::bad_request(format!("upsert {}: {}", reject.row - 1, reject.reason)));
    }
    Ok(table)
}

fn unix_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Appends one line to the audit log and syncs it: time, token name, operation, record ids.
fn audit(
    state: &AppState,
    token: &str,
    upserted: &[&str],
    deleted: &[String],
    generation: u64,
) -> Result<(), ApiError> {
    use std::io::Write;
    let Some(file) = &state.audit else { return Ok(()) };
    let line = json!({
        "time_unix": unix_seconds(),
        "token": token,
        "operation": "records",
        "upserted": upserted,
        "deleted": deleted,
        "generation": generation,
    });
    let failed = |e: std::io::Error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "audit_log",
            format!("the audit log cannot be written: {e}"),
        )
    };
    let mut file = file.lock().map_err(|_| ApiError::internal("the audit log lock is poisoned"))?;
    writeln!(file, "{line}").map_err(failed)?;
    file.sync_data().map_err(failed)
}

/// `GET /health`: the process answers.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    Json(json!({"status": "ok", "uptime_seconds": state.started.elapsed().as_secs_f64()})).into_response()
}

/// `GET /ready`: 200 once the index is loaded, 503 before (or when it cannot be).
async fn ready(State(state): State<Arc<AppState>>) -> Answer {
    let loaded = current(&state).ok().map(|i| (i.commit().records, i.commit().generation));
    match loaded {
        Some((records, generation)) => {
            Ok(Json(json!({"status": "ready", "records": records, "generation": generation})).into_response())
        }
        None => Err(not_ready(&state)),
    }
}

/// `GET /metrics`: Prometheus's text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.encode(),
    )
        .into_response()
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
