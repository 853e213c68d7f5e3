//! `khop index`: build a national index once, keep it up to date, and look at one. The work is
//! the library's (`Session::build_index`, `Session::update_index`, `Session::retrain_index`,
//! `Session::lookup`); this prints what it did.

use std::path::PathBuf;
use std::time::Instant;

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use khop::index::{LookupOptions, NationalIndex};
use khop::session::{Session, TableSource};

use crate::ReadArgs;
use crate::link::{print_read, print_training, read_model};

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
    /// Find the national record of one or more records: their candidates from the index's
    /// blocking terms, scored, ranked and decided; one JSON object per record on standard output.
    Lookup(LookupArgs),
    /// Upsert records (a record replaces the one of the same id) and delete records by id, in
    /// one commit: readers see all of it or none of it, also after a crash.
    Update(UpdateArgs),
    /// Train a model on a sector table against the records the index holds now, and make it
    /// the one lookups score with (one commit).
    Retrain(RetrainArgs),
}

#[derive(Args)]
pub struct UpdateArgs {
    /// The index folder.
    dir: PathBuf,
    /// Records to add or replace: a file with the columns of the indexed table (CSV, NDJSON or
    /// Parquet), read with the index's roles and id column.
    #[arg(long)]
    upsert: Option<PathBuf>,
    /// Ids of records to delete: a file with the index's id column, or one id per line.
    #[arg(long)]
    delete: Option<PathBuf>,
}

#[derive(Args)]
pub struct RetrainArgs {
    /// The index folder.
    dir: PathBuf,
    /// The sector table to train with (roles detected).
    #[arg(long)]
    train_with: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct LookupArgs {
    /// The index folder.
    dir: PathBuf,
    /// A record as a JSON object of role-named fields, e.g.
    /// '{"full_name": "Nguyễn Văn An", "date_of_birth": "1990-03-02"}'. Repeat it for several.
    #[arg(long)]
    record: Vec<String>,
    /// A file of such records, one JSON object per line.
    #[arg(long)]
    records: Option<PathBuf>,
    /// Score with this model (from `khop train`) instead of the index's.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Candidates to print per record.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Look up by the blocking terms alone, as a batch link blocks: no fuzzy pass on the names
    /// when they find nothing to review.
    #[arg(long)]
    no_fuzzy: bool,
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
    /// Keep this model (from `khop train`) in the index, for lookups.
    #[arg(long, conflicts_with = "train_with")]
    model: Option<PathBuf>,
    /// Train a model on this sector table (a file, or an input of --config) against the
    /// national table and keep it in the index, for lookups.
    #[arg(long)]
    train_with: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(command: IndexCommand) -> Result<()> {
    match command {
        IndexCommand::Build(args) => build(args),
        IndexCommand::Info { dir } => info(dir),
        IndexCommand::Lookup(args) => lookup(args),
        IndexCommand::Update(args) => update(args),
        IndexCommand::Retrain(args) => retrain(args),
    }
}

fn update(args: UpdateArgs) -> Result<()> {
    if args.upsert.is_none() && args.delete.is_none() {
        bail!("nothing to do: give --upsert FILE, --delete FILE or both");
    }
    let session = Session::new();
    let mut index = NationalIndex::open(&args.dir)?;
    let upserts = match &args.upsert {
        Some(path) => {
            let table = session.prepare(&TableSource::for_index(&index, path)?)?;
            print_read(&table.summary());
            if table.stats().rows_rejected > 0 {
                bail!(
                    "{}: {} rows rejected; fix them and run the update again (nothing was changed)",
                    path.display(),
                    table.stats().rows_rejected
                );
            }
            Some(table)
        }
        None => None,
    };
    let deletes = match (&args.delete, index.manifest().id_column.clone()) {
        (Some(path), Some(id_column)) => khop::index::read_id_list(path, &id_column)?,
        (Some(_), None) => {
            bail!("the records of this index are named by row number: they cannot be deleted by id")
        }
        (None, _) => Vec::new(),
    };
    let started = Instant::now();
    let done = session.update_index(&mut index, upserts.as_ref(), &deletes)?;
    println!(
        "update {} committed in {:.2} s: {} upserted ({} replaced, {} new), {} deleted, {} ids to delete not in the index; {} records",
        done.generation,
        started.elapsed().as_secs_f64(),
        done.upserted,
        done.replaced,
        done.upserted - done.replaced,
        done.deleted,
        done.not_found,
        done.records,
    );
    Ok(())
}

fn retrain(args: RetrainArgs) -> Result<()> {
    let session = Session::new().with_observer(crate::progress::Bars::default());
    let mut index = NationalIndex::open(&args.dir)?;
    let sector = session.prepare(&TableSource::detect(&args.train_with, &args.read.options()?)?)?;
    print_read(&sector.summary());
    let (_, report) = session.retrain_index(&mut index, &sector)?;
    print_training(&report);
    println!("model of commit {} kept in {}", index.commit().generation, args.dir.display());
    Ok(())
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
    let sector = match &args.train_with {
        Some(name) if args.config.is_some() => Some(session.input(name)?),
        Some(file) => Some(TableSource::detect(file, &args.read.options()?)?),
        None => None,
    };
    let session = session.with_observer(crate::progress::Bars::default());
    let table = session.prepare(&source)?;
    print_read(&table.summary());
    let model = match (&args.model, sector) {
        (Some(path), _) => Some(read_model(path)?),
        (None, Some(sector)) => {
            let sector = session.prepare(&sector)?;
            print_read(&sector.summary());
            let (model, report) = session.train(&sector, &table)?;
            print_training(&report);
            Some(model)
        }
        (None, None) => None,
    };
    let started = Instant::now();
    let index = session.build_index(&table, &args.out, model.as_ref())?;
    println!(
        "index of {} records written to {} in {:.2} s ({:.1} MiB; the table took {:.2} s to read and prepare)",
        index.manifest().records,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        index.size_on_disk() as f64 / (1024.0 * 1024.0),
        table.seconds(),
    );
    if index.model().is_none() {
        println!("no model kept: lookups need --model (or build with --model or --train-with)");
    }
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
    let commit = index.commit();
    println!(
        "table `{}`: {} records ({} when built from {} rows read, {} rejected); id column: {}",
        m.name,
        commit.records,
        m.records,
        m.rows_read,
        m.rows_rejected,
        m.id_column.as_deref().unwrap_or("none (row numbers)")
    );
    println!("commit {}: {} updates since the build", commit.generation, commit.segments.len());
    for column in &m.columns {
        println!("  {}: {}", column.name, column.role);
    }
    println!("blocking terms of the rules: {}", m.rules.join(", "));
    println!("model: {}", if index.model().is_some() { "kept" } else { "none" });
    let files = m.files.iter().chain(commit.segments.iter().map(|s| &s.file)).chain(&commit.model);
    for file in files {
        println!("  file {}: {} bytes, xxh3 {}", file.name, file.bytes, file.xxh3);
    }
    println!("checked and loaded in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn lookup(args: LookupArgs) -> Result<()> {
    let mut records = Vec::new();
    for (i, text) in args.record.iter().enumerate() {
        records.push(object(text, &format!("--record {}", i + 1))?);
    }
    if let Some(path) = &args.records {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        for (line, text) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            records.push(object(text, &format!("{}, line {}", path.display(), line + 1))?);
        }
    }
    if records.is_empty() {
        bail!("give records to look up: --record JSON or --records FILE");
    }
    let model = args.model.as_deref().map(read_model).transpose()?;
    let index = NationalIndex::open(&args.dir)?;
    let session = Session::new();
    let started = Instant::now();
    let options = LookupOptions { top: args.top, fuzzy: !args.no_fuzzy };
    let found = session.lookup(&index, &records, model.as_ref(), &options)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    for lookup in &found {
        let line = lookup.to_json(&index);
        writeln!(out, "{line}")?;
    }
    eprintln!("{} records looked up in {:.1} ms", found.len(), seconds * 1e3);
    Ok(())
}

/// One record's JSON object; `what` names it in errors (never its values).
fn object(text: &str, what: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => bail!("{what}: a record is a JSON object of role-named fields"),
        Err(e) => bail!("{what}: not JSON ({e})"),
    }
}
