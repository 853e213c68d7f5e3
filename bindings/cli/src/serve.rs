//! `khop serve`: parses the options and runs the service of `khop-server`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Args;
use khop_server::{ServeOptions, serve};

#[derive(Args)]
pub struct ServeArgs {
    /// The national index folder (from `khop index build`).
    pub index: PathBuf,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer tokens with their scopes (TOML: `[[tokens]]` with `name`, `token`, `scopes`).
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Run without tokens; only on a loopback address (a trial on this machine, tests).
    #[arg(long)]
    pub no_auth_on_loopback: bool,
    /// Append every write (time, token name, record ids; never values) to this file. Without it
    /// the service takes no writes.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Longest a lookup may take, in seconds, before a 503.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Most records in one batch lookup or one write.
    #[arg(long, default_value_t = 1000)]
    pub max_batch: usize,
}

pub fn run(args: ServeArgs) -> Result<()> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(anyhow!("--timeout must be a positive number of seconds"));
    }
    let options = ServeOptions {
        tokens: args.tokens,
        no_auth_on_loopback: args.no_auth_on_loopback,
        audit_log: args.audit_log,
        max_body_bytes: args.max_body_bytes,
        timeout: Duration::from_secs_f64(args.timeout),
        max_batch: args.max_batch.max(1),
        ..ServeOptions::new(args.index, args.listen)
    };
    serve(options).map_err(|e| anyhow!("khop serve: {e}"))
}
