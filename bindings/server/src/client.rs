//! A minimal blocking HTTP/1.1 client for this service: one connection per request
//! ([`request`]), or requests one after another on a kept connection ([`Connection`], as an HTTP
//! client's connection pool does). What the tests, the kill test of `khop serve` and the load
//! generator in `benches/` use to talk to it. Not a general HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// Sends `method path` with `body` (JSON) and a bearer `token` on a connection of its own; the
/// status and the body, parsed as JSON (a JSON string when it is not JSON).
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<(u16, Value)> {
    Connection::open(address)?.exchange(method, path, token, body, "close")
}

/// A connection kept open between requests (HTTP/1.1 keep-alive).
pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Opens a connection to `address`.
    pub fn open(address: SocketAddr) -> std::io::Result<Connection> {
        Ok(Connection { reader: BufReader::new(open(address)?) })
    }

    /// [`request`] on this connection, which stays open for the next one. An error leaves the
    /// connection unusable: open another.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> std::io::Result<(u16, Value)> {
        self.exchange(method, path, token, body, "keep-alive")
    }

    /// Sends one request with the `Connection` header `connection` and reads its response.
    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        connection: &str,
    ) -> std::io::Result<(u16, Value)> {
        self.reader.get_mut().write_all(&head(method, path, token, body, connection))?;
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 =
            line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("not an HTTP response"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(bad("the connection closed inside a response"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse::<usize>().map_err(|_| bad("a bad Content-Length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
        let body = match (chunked, length) {
            (true, _) => self.chunks()?,
            (false, Some(length)) => {
                let mut body = vec![0; length];
                self.reader.read_exact(&mut body)?;
                String::from_utf8_lossy(&body).into_owned()
            }
            // No length: the body runs to the end of the connection.
            (false, None) => {
                let mut body = Vec::new();
                self.reader.read_to_end(&mut body)?;
                String::from_utf8_lossy(&body).into_owned()
            }
        };
        Ok((status, serde_json::from_str(&body).unwrap_or(Value::String(body))))
    }

    /// The body of a chunked response, read off the connection.
    fn chunks(&mut self) -> std::io::Result<String> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "a bad chunk size"))?;
            let mut chunk = vec![0; size + 2]; // the data and its CRLF
            self.reader.read_exact(&mut chunk)?;
            if size == 0 {
                return Ok(String::from_utf8_lossy(&body).into_owned());
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
}

fn open(address: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A request's head and body.
fn head(method: &str, path: &str, token: Option<&str>, body: Option<&str>, connection: &str) -> Vec<u8> {
    let body = body.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: khop\r\nConnection: {connection}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
