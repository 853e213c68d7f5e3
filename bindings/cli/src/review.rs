//! `khop review export`: the pairs a clerk should settle, for a spreadsheet or an offline page.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use khop::review::Labels;

use crate::link::{DecisionArgs, Tables, TablesArgs, print_training, read_model};

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Link the tables and write the pairs a clerk should settle (near the thresholds,
    /// ambiguous, national records claimed twice), without the model's score: an offline HTML
    /// page that saves the answers as a labels file, or a table with an empty `label` column.
    Export(ExportArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// Where to write the pairs: `.html` for the clerk's page, else a table (.csv, .parquet or
    /// .ndjson) whose filled-in `label` column makes it a labels file.
    #[arg(short, long)]
    pub out: PathBuf,
    /// How many pairs to export.
    #[arg(long, default_value_t = 500)]
    pub pairs: usize,
    /// Earlier answers (labels files; repeat for several rounds): pairs they label or settle are
    /// not exported again.
    #[arg(long)]
    pub labels: Vec<PathBuf>,
    /// Use this trained model instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub decision: DecisionArgs,
}

pub fn run(command: ReviewCommand) -> Result<()> {
    match command {
        ReviewCommand::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> Result<()> {
    let tables = Tables::from_args(&args.tables, Some(&args.decision))?;
    let mut plan = tables.plan(args.model.as_deref());
    for labels in &args.labels {
        plan.input("a labels file", labels);
    }
    plan.file("the review output", Some(&args.out));
    plan.check()?;
    let labels = Labels::read_all(&args.labels)?;
    let model = args.model.as_deref().map(read_model).transpose()?;
    let (left, right) = tables.prepare_both()?;
    let run = tables.session.link(&left, &right, model.as_ref())?;
    if let Some(report) = run.training() {
        print_training(report);
    }
    let review = run.review(&labels, args.pairs)?;
    let written = review.write(&args.out)?;
    println!(
        "{written} pairs to review written to {} ({} already labelled and {} settled by earlier answers skipped)",
        args.out.display(),
        review.skipped_labelled,
        review.skipped_implied
    );
    Ok(())
}
