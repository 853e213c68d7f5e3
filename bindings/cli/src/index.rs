//! `khop index`: build a national index once, and look at one. The work is the library's
//! (`Session::build_index`, `Session::open_index`); this prints what it did.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use khop::index::NationalIndex;
use khop::session::{Session, TableSource};

use crate::ReadArgs;
use crate::link::print_read;

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Read and prepare the national table once and write it into a new index folder, which
    /// `khop link --index DIR` (and `train`, `reconcile`) then load instead of the file.
    Build(BuildArgs),
    /// Check an index (manifest, sizes, checksums, records) and print what it holds.
    Info {
        /// The index folder.
        dir: PathBuf,
    },
}

#[derive(Args)]
pub struct BuildArgs {
    /// The national table: a file (roles detected), or an input name of --config [default: the
    /// configuration's input named `national`].
    national: Option<String>,
    /// A configuration naming the inputs, their columns and roles.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// The index folder to create; it must not exist.
    #[arg(short, long)]
    out: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(command: IndexCommand) -> Result<()> {
    match command {
        IndexCommand::Build(args) => build(args),
        IndexCommand::Info { dir } => info(dir),
    }
}

fn build(args: BuildArgs) -> Result<()> {
    let (session, source) = match (&args.config, &args.national) {
        (Some(config), name) => {
            let session = Session::from_config_file(config)?;
            let source = session.input(name.as_deref().unwrap_or("national"))?;
            (session, source)
        }
        (None, Some(file)) => (Session::new(), TableSource::detect(file, &args.read.options()?)?),
        (None, None) => bail!("name the national table: a FILE, or --config C [INPUT]"),
    };
    let session = session.with_observer(crate::progress::Bars::default());
    let table = session.prepare(&source)?;
    print_read(&table.summary());
    let started = Instant::now();
    let index = session.build_index(&table, &args.out)?;
    println!(
        "index of {} records written to {} in {:.2} s ({:.1} MiB; the table took {:.2} s to read and prepare)",
        index.manifest().records,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        index.size_on_disk() as f64 / (1024.0 * 1024.0),
        table.seconds(),
    );
    Ok(())
}

fn info(dir: PathBuf) -> Result<()> {
    let started = Instant::now();
    let index = NationalIndex::open(&dir)?;
    let m = index.manifest();
    println!(
        "{}: index format {} v{}, written by khop {}",
        dir.display(),
        m.format,
        m.version,
        m.khop_version
    );
    println!(
        "table `{}`: {} records ({} rows read, {} rejected when built); id column: {}",
        m.name,
        m.records,
        m.rows_read,
        m.rows_rejected,
        m.id_column.as_deref().unwrap_or("none (row numbers)")
    );
    for column in &m.columns {
        println!("  {}: {}", column.name, column.role);
    }
    for file in &m.files {
        println!("  file {}: {} bytes, xxh3 {}", file.name, file.bytes, file.xxh3);
    }
    println!("checked and loaded in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
