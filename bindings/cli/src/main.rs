//! The `khop` command. It only translates between the terminal and the `khop` library: parsing
//! arguments, showing progress bars and tables. No matching logic lives here.

mod commands;
mod index;
mod link;
mod progress;
mod reconcile;
mod review;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// khop: identity matching and deduplication for Vietnamese population records.
#[derive(Parser)]
#[command(name = "khop", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Profile files: roles, completeness, distinct values, lengths, accents, invalid shapes.
    Profile(ProfileArgs),
    /// Write the normalized columns of a file (name keys, parsed dates, decoded ids, unit codes,
    /// flags) for inspection.
    Normalize(NormalizeArgs),
    /// Link a sector table to the national table: train a model without labels (or load one),
    /// score candidate pairs, and decide for every sector record.
    Link(link::LinkArgs),
    /// Link a sector table to the national table and list what to correct: every field on which
    /// an accepted link's records disagree (the worklist), and the records not accepted, with
    /// their closest national record and why.
    Reconcile(reconcile::ReconcileArgs),
    /// Explain one pair of records for a clerk: each comparison's values, level and weight.
    Explain(reconcile::ExplainArgs),
    /// Find the records of one table that are the same person, and cluster them.
    Dedupe(link::DedupeArgs),
    /// Train a matching model on two tables and save it as JSON.
    Train(link::TrainArgs),
    /// Report the candidate pairs each blocking rule produces.
    Blocking(link::BlockingArgs),
    /// Build a national index (the national table prepared once, kept in a folder) or look at one.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Serve lookups over a national index on HTTP: look up, explain, upsert and delete records,
    /// with bearer tokens, an audit log of writes, health, readiness and Prometheus metrics.
    Serve(serve::ServeArgs),
    /// Write or check a configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Generate a synthetic Vietnamese population, link its social-insurance table to its national
    /// table without labels, and score the links against the truth.
    Demo(DemoArgs),
    /// Generate a synthetic population, its national and sector tables, and the ground truth.
    Gen(GenArgs),
    /// Score predicted links or clusters against the truth.
    Eval(EvalArgs),
    /// Clerical review: the pairs a clerk should settle, without the model's score.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Render a report saved as JSON (`--report run.json` of link, reconcile or dedupe) as one
    /// self-contained HTML page.
    Report(ReportArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// The report's data, as a run wrote it with `--report FILE.json`.
    data: PathBuf,
    /// Where to write the HTML page.
    #[arg(short, long)]
    out: PathBuf,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Write a commented configuration for FILES, from their headers and values.
    Init {
        /// Files to describe.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the configuration (standard output when absent).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Validate a configuration, and check that its columns exist in its files.
    Check {
        /// The configuration file.
        config: PathBuf,
        /// Check the TOML only, without opening the files.
        #[arg(long)]
        no_files: bool,
    },
}

/// How to read files given on the command line (a configuration file overrides these).
#[derive(Args, Clone, Debug)]
pub struct ReadArgs {
    /// File format (csv, ndjson, parquet); taken from the extension when absent.
    #[arg(long)]
    pub format: Option<String>,
    /// Text encoding of CSV and NDJSON files (auto, utf-8, utf-16le, utf-16be, windows-1258...).
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// CSV delimiter (one character; `\t` for tab; `auto` detects `,` `;` tab or `|`).
    #[arg(long, default_value = "auto")]
    pub delimiter: String,
    /// The CSV file has no header line.
    #[arg(long)]
    pub no_header: bool,
    /// Rows per batch.
    #[arg(long, default_value_t = 65_536)]
    pub batch_size: usize,
    /// Share of a file's rows that may be rejected before the run stops (1 accepts any).
    #[arg(long, default_value_t = 0.05, value_parser = link::probability)]
    pub max_rejected_share: f64,
}

#[derive(Args)]
struct ProfileArgs {
    /// Files to profile (or use --config).
    files: Vec<PathBuf>,
    /// A configuration naming the files, their columns and roles.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Write rejected rows, with their reasons, to this CSV file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
struct NormalizeArgs {
    /// The file to normalize: one of the configuration's inputs, or any file when roles are to be
    /// detected. May be left out when the configuration has a single input.
    file: Option<PathBuf>,
    /// A configuration giving the columns and their roles (detected when absent).
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Where to write the normalized rows (.parquet, .csv or .ndjson).
    #[arg(short, long)]
    out: PathBuf,
    /// Write rejected rows, with their reasons, to this CSV file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
struct DemoArgs {
    /// People in the synthetic population.
    #[arg(long, default_value_t = 100_000)]
    persons: u64,
    /// Folder for the generated files (a temporary folder when absent).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Args)]
struct GenArgs {
    /// People to generate.
    #[arg(long, default_value_t = 10_000)]
    persons: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Seed: the same seed and profile give the same files, whatever the thread count.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Error profile: `default`, `hard`, `wild` (every kind of error at moderate rates), or a TOML file.
    #[arg(long, default_value = "default")]
    profile: String,
    /// Table format: parquet or csv (truth files are always CSV).
    #[arg(long, default_value = "parquet")]
    format: String,
}

#[derive(Args)]
struct EvalArgs {
    /// Predicted links (`left,right`) or, with --clusters, assignments (`record,cluster`, or the clusters file of `khop dedupe`): CSV with a
    /// header.
    #[arg(long)]
    pred: PathBuf,
    /// True links or assignments, same layout (e.g. `links_<source>.csv`, `truth_<source>.csv`).
    #[arg(long, required_unless_present = "labels")]
    truth: Option<PathBuf>,
    /// Score the links against a clerk's labels instead (`left_id,right_id,label`, from `khop
    /// review export`; repeat to merge several rounds): precision and recall over the pairs
    /// labelled `match` or `non_match`.
    #[arg(long, conflicts_with_all = ["truth", "clusters", "symmetric", "corruptions"])]
    labels: Vec<PathBuf>,
    /// Score clusters (pairwise and B-cubed) instead of links.
    #[arg(long)]
    clusters: bool,
    /// Links are unordered pairs within one table (deduplication).
    #[arg(long)]
    symmetric: bool,
    /// `corruptions_<source>.csv`: break recall down by error kind (links only).
    #[arg(long)]
    corruptions: Option<PathBuf>,
    /// A worklist (`khop reconcile --out`, CSV) to score against the corruptions the generator
    /// injected: --pred is then the run's links (`khop reconcile --links`, CSV), --corruptions the
    /// sector table's corruptions.
    #[arg(long, requires = "corruptions")]
    worklist: Option<PathBuf>,
    /// With --worklist: `corruptions_national.csv`, the national table's own changes.
    #[arg(long, requires = "worklist")]
    national_corruptions: Option<PathBuf>,
    /// Also write the scores as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Profile(args) => commands::profile(args),
        Command::Normalize(args) => commands::normalize(args),
        Command::Link(args) => link::link(args),
        Command::Train(args) => link::train(args),
        Command::Dedupe(args) => link::dedupe(args),
        Command::Reconcile(args) => reconcile::reconcile(args),
        Command::Explain(args) => reconcile::explain(args),
        Command::Blocking(args) => link::blocking(args),
        Command::Index(command) => index::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Config(ConfigCommand::Init { files, output, read }) => {
            commands::config_init(&files, output.as_deref(), &read)
        }
        Command::Config(ConfigCommand::Check { config, no_files }) => {
            commands::config_check(&config, no_files)
        }
        Command::Demo(args) => commands::demo(args),
        Command::Gen(args) => commands::gen_population(args),
        Command::Eval(args) => commands::eval(args),
        Command::Report(args) => commands::report(args),
        Command::Review(command) => review::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
