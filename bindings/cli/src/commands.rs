//! The subcommands.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use comfy_table::{Cell, ContentArrangement, Table, presets};
use khop::config::detect::detect_file;
use khop::config::{Config, InitInput, render_config};
use khop::profile::DatasetProfile;
use khop::read::{Format, ReadOptions, Reader, TextEncoding};
use khop::session::{LinkOutputs, OutputPlan, Session, TableSource};
use khop::{DatasetSpec, Role};

use crate::{DemoArgs, EvalArgs, GenArgs, NormalizeArgs, ProfileArgs, ReadArgs, progress};

impl ReadArgs {
    pub fn options(&self) -> Result<ReadOptions> {
        let format = self.format.as_deref().map(str::parse::<Format>).transpose()?;
        let encoding = TextEncoding::from_label(&self.encoding)
            .with_context(|| format!("unknown encoding `{}`", self.encoding))?;
        let delimiter = match self.delimiter.as_str() {
            "auto" => None,
            "\\t" | "tab" => Some(b'\t'),
            d if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
            d => bail!("the delimiter must be one ASCII character, not {d:?}"),
        };
        Ok(ReadOptions {
            format,
            encoding,
            delimiter,
            has_header: !self.no_header,
            batch_size: self.batch_size,
            max_rejected_share: Some(self.max_rejected_share),
            ..ReadOptions::default()
        })
    }
}

/// One file to profile: its path, how to read it and the role of each column.
type ProfileJob = (PathBuf, ReadOptions, Vec<(String, Option<Role>)>);

pub fn profile(args: ProfileArgs) -> Result<()> {
    let mut jobs: Vec<ProfileJob> = Vec::new();
    let mut rejects_path = args.rejects.clone();
    if let Some(config) = &args.config {
        let config = Config::from_file(config)?;
        if rejects_path.is_none() {
            rejects_path = config.rejects.clone();
        }
        for input in config.inputs {
            let roles = roles_of(&input.dataset);
            jobs.push((input.path, input.read, roles));
        }
    }
    let options = args.read.options()?;
    for path in &args.files {
        let (_, detection) = detect_file(path, &options)?;
        let roles = detection.columns.iter().map(|c| (c.name.clone(), c.role)).collect();
        jobs.push((path.clone(), options.clone(), roles));
    }
    if jobs.is_empty() {
        bail!("nothing to profile: name files, or a configuration with --config");
    }
    let mut plan = OutputPlan::new();
    for (path, _, _) in &jobs {
        plan.input(format!("the input {}", path.display()), path);
    }
    plan.file("the rejects file", rejects_path.as_deref());
    plan.check()?;

    let session = Session::new().with_observer(progress::Bars::default());
    let mut profiles = Vec::new();
    let mut rejects = Vec::new();
    for (path, options, roles) in &jobs {
        let started = Instant::now();
        let profiled = session.profile(path, options, roles)?;
        if !args.json {
            print_profile(&profiled.profile, started.elapsed().as_secs_f64());
        }
        profiles.push(profiled.profile);
        rejects.push(profiled.rejects);
    }
    if let Some(path) = rejects_path {
        let count = khop::session::write_rejects(&path, rejects.iter().map(Vec::as_slice))?;
        if count > 0 {
            eprintln!("{count} rejected rows written to {}", path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&profiles)?);
    }
    Ok(())
}

fn roles_of(dataset: &DatasetSpec) -> Vec<(String, Option<Role>)> {
    dataset.column_names().into_iter().map(|name| (name.to_owned(), dataset.role_of(name))).collect()
}

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.1}%", s * 100.0)).unwrap_or_else(|| "-".into())
}

fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(limit - 1).collect();
        short.push('…');
        short
    }
}

fn print_profile(profile: &DatasetProfile, seconds: f64) {
    println!(
        "\n{} ({}): {} rows read, {} passed, {} rejected, in {seconds:.2} s",
        profile.file, profile.format, profile.rows_read, profile.rows_passed, profile.rows_rejected
    );
    if !profile.rejects_by_reason.is_empty() {
        let reasons: Vec<String> =
            profile.rejects_by_reason.iter().map(|(reason, n)| format!("{reason}: {n}")).collect();
        println!("rejected: {}", reasons.join(", "));
    }
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header([
        "column",
        "role",
        "complete",
        "distinct≈",
        "length min/p50/p90/max",
        "accents with/without",
        "invalid shape",
        "top values",
    ]);
    for column in &profile.columns {
        let top: Vec<String> = column
            .top_values
            .iter()
            .take(3)
            .map(|t| {
                format!(
                    "{} ({}{})",
                    cut(&t.value, 18),
                    if column.top_values_exact { "" } else { "≥" },
                    t.count
                )
            })
            .collect();
        let accents = match (column.share_with_diacritics, column.share_without_diacritics) {
            (Some(with), Some(without)) => {
                format!("{} / {}", percent(Some(with)), percent(Some(without)))
            }
            _ => "-".into(),
        };
        let l = &column.length;
        table.add_row([
            Cell::new(&column.name),
            Cell::new(column.role.as_deref().unwrap_or("-")),
            Cell::new(percent(Some(column.completeness))),
            Cell::new(column.approx_distinct),
            Cell::new(format!("{}/{}/{}/{}", l.min, l.p50, l.p90, l.max)),
            Cell::new(accents),
            Cell::new(match &column.shape_rule {
                Some(rule) => format!("{} ({rule})", percent(column.share_invalid_shape)),
                None => "-".into(),
            }),
            Cell::new(top.join(", ")),
        ]);
    }
    println!("{table}");
}

pub fn normalize(args: NormalizeArgs) -> Result<()> {
    let (source, config_rejects) = match &args.config {
        Some(config) => {
            let config = Config::from_file(config)?;
            let input = match &args.file {
                Some(file) => {
                    let wanted = std::path::absolute(file)?;
                    config
                        .inputs
                        .iter()
                        .find(|i| std::path::absolute(&i.path).is_ok_and(|p| p == wanted))
                        .with_context(|| format!("{} is not an input of the configuration", file.display()))?
                }
                None => match config.inputs.as_slice() {
                    [only] => only,
                    _ => bail!("the configuration has several inputs: name the file to normalize"),
                },
            };
            (TableSource::from_input(input), config.rejects.clone())
        }
        None => {
            let file = args.file.clone().context("name a file, or a configuration with --config")?;
            (TableSource::detect(&file, &args.read.options()?)?, None)
        }
    };
    let rejects_path = args.rejects.clone().or(config_rejects);
    let session = Session::new().with_observer(progress::Bars::default());
    let summary = session.normalize(&source, &args.out, rejects_path.as_deref())?;
    println!(
        "{}: {} rows read, {} normalized into {}, {} rejected{}, in {:.2} s",
        summary.input.display(),
        summary.rows_read,
        summary.rows_written,
        summary.output.display(),
        summary.rows_rejected,
        match (&rejects_path, summary.rows_rejected) {
            (Some(p), n) if n > 0 => format!(" (see {})", p.display()),
            (None, n) if n > 0 => " (name a file with --rejects to see them)".to_owned(),
            _ => String::new(),
        },
        summary.seconds
    );
    Ok(())
}

pub fn config_init(files: &[PathBuf], output: Option<&Path>, read: &ReadArgs) -> Result<()> {
    let options = read.options()?;
    let base = output.and_then(Path::parent).map(Path::to_owned);
    let mut inputs = Vec::new();
    for file in files {
        let (format, detection) = detect_file(file, &options)?;
        let path = relative_to(file, base.as_deref());
        inputs.push(InitInput {
            path,
            format,
            detection,
            encoding: options.encoding,
            delimiter: options.delimiter,
        });
    }
    let text = render_config(&inputs);
    match output {
        Some(path) => {
            khop::write::write_atomic(path, &text)?;
            eprintln!(
                "wrote {}: check the roles, then run `khop config check {}`",
                path.display(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `file` as written in a configuration stored in `base`: relative when it can be.
fn relative_to(file: &Path, base: Option<&Path>) -> String {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    if let Some(base) = base.map(|b| std::path::absolute(b).unwrap_or_else(|_| b.to_owned()))
        && let Ok(relative) = absolute.strip_prefix(&base)
    {
        return relative.display().to_string();
    }
    absolute.display().to_string()
}

pub fn config_check(path: &Path, no_files: bool) -> Result<()> {
    let config = Config::from_file(path)?;
    if !no_files {
        config.check_files()?;
    }
    println!("{}: valid, {} input(s)", path.display(), config.inputs.len());
    for input in &config.inputs {
        let id = input.dataset.id_column.as_deref().unwrap_or("(row number)");
        println!(
            "  {}: {} (id: {id}, {} columns with roles)",
            input.name,
            input.path.display(),
            input.dataset.columns.len()
        );
    }
    Ok(())
}

pub fn demo(args: DemoArgs) -> Result<()> {
    let temporary;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_owned()
        }
    };
    let started = Instant::now();
    let profile = khop_datasets::Profile::named("default")?;
    let options = khop_datasets::GenOptions {
        persons: args.persons,
        seed: args.seed,
        format: khop_datasets::OutputFormat::Parquet,
        ..Default::default()
    };
    let report = khop_datasets::generate(&dir, &profile, &options).map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "generated a synthetic population of {} people (no real data) and its tables in {:.2} s: {}",
        report.persons,
        started.elapsed().as_secs_f64(),
        report.rows.iter().map(|(name, rows)| format!("{name} {rows}")).collect::<Vec<_>>().join(", ")
    );
    println!("linking the social-insurance table (bhxh) to the national table, roles detected, no labels:");
    let links = dir.join("links_bhxh_pred.parquet");
    let started = Instant::now();
    let session = Session::new().with_observer(progress::Bars::default());
    let options = ReadOptions::default();
    let sector = session.prepare(&TableSource::detect(dir.join("bhxh.parquet"), &options)?)?;
    let national = session.prepare(&TableSource::detect(dir.join("national.parquet"), &options)?)?;
    crate::link::print_read(&sector.summary());
    crate::link::print_read(&national.summary());
    let outputs = LinkOutputs {
        links: links.clone(),
        rejects: Some(dir.join("rejects.csv")),
        model: Some(dir.join("model.json")),
        summary: Some(dir.join("summary.json")),
        report: Some(dir.join("report.html")),
        report_options: khop::report::ReportOptions::default(),
    };
    crate::link::link_and_print(&session, &sector, &national, None, &outputs)?;
    let seconds = started.elapsed().as_secs_f64();

    // Score the match decisions against the generator's truth.
    let mut predicted = Vec::new();
    let mut reader = Reader::open(&links, &ReadOptions::default())?;
    for batch in &mut reader {
        let records = batch?.records;
        let column =
            |name: &str| records.column_by_name(name).and_then(|a| khop::read::TextColumn::new(a.as_ref()));
        let (Some(left), Some(right), Some(decision)) =
            (column("left_id"), column("right_id"), column("decision"))
        else {
            bail!("{}: unexpected columns", links.display());
        };
        for i in 0..records.num_rows() {
            if decision.get(i) == Some("match") {
                let text = |c: &khop::read::TextColumn<'_>| c.get(i).unwrap_or_default().to_owned();
                predicted.push((text(&left), text(&right)));
            }
        }
    }
    let truth = khop::eval::read_pairs(&dir.join("links_bhxh.csv"))?;
    let scores = khop::eval::link_scores(&predicted, &truth, false);
    println!(
        "accuracy against the truth: precision {:.4}, recall {:.4}, F1 {:.4} ({} right, {} wrong, {} missed)",
        scores.precision,
        scores.recall,
        scores.f1,
        scores.true_positives,
        scores.false_positives,
        scores.false_negatives
    );
    println!("linked in {seconds:.2} s; files in {}", dir.display());
    Ok(())
}

pub fn gen_population(args: GenArgs) -> Result<()> {
    let profile = khop_datasets::Profile::named(&args.profile)?;
    let format = match args.format.as_str() {
        "parquet" => khop_datasets::OutputFormat::Parquet,
        "csv" => khop_datasets::OutputFormat::Csv,
        other => bail!("--format must be parquet or csv, not {other:?}"),
    };
    let options =
        khop_datasets::GenOptions { persons: args.persons, seed: args.seed, format, ..Default::default() };
    let report = khop_datasets::generate(&args.out, &profile, &options).map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "generated {} persons in {} households in {:.2} s ({:.0} persons/s) into {}",
        report.persons,
        report.households,
        report.seconds,
        report.persons as f64 / report.seconds.max(1e-9),
        args.out.display()
    );
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header(["source", "rows"]);
    for (name, rows) in &report.rows {
        table.add_row([Cell::new(name), Cell::new(rows)]);
    }
    println!("{table}");
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    use khop::eval;
    if !args.labels.is_empty() {
        return eval_labels(&args);
    }
    let read = if args.clusters { eval::read_clusters } else { eval::read_pairs };
    let truth = args.truth.as_deref().context("name the truth with --truth, or labels with --labels")?;
    let (pred, truth) = (read(&args.pred)?, read(truth)?);
    let mut table = scores_table(&[]);
    let row = |name: &str, s: &eval::Scores| {
        vec![
            Cell::new(name),
            Cell::new(format!("{:.4}", s.precision)),
            Cell::new(format!("{:.4}", s.recall)),
            Cell::new(format!("{:.4}", s.f1)),
            Cell::new(s.true_positives),
            Cell::new(s.false_positives),
            Cell::new(s.false_negatives),
        ]
    };
    let json = if args.clusters {
        let s = eval::cluster_scores(&pred, &truth);
        table.add_row(row("pairwise", &s.pairwise));
        table.add_row(vec![
            Cell::new("B-cubed"),
            Cell::new(format!("{:.4}", s.bcubed_precision)),
            Cell::new(format!("{:.4}", s.bcubed_recall)),
            Cell::new(format!("{:.4}", s.bcubed_f1)),
        ]);
        println!("{} records", s.records);
        println!("{table}");
        serde_json::json!({ "clusters": s })
    } else {
        let s = eval::link_scores(&pred, &truth, args.symmetric);
        table.add_row(row("links", &s));
        println!("{table}");
        let by_kind = match &args.corruptions {
            Some(path) => {
                let corruptions = eval::read_corruptions(path)?;
                let kinds = eval::recall_by_kind(&pred, &truth, &corruptions, args.symmetric);
                let mut t = Table::new();
                t.load_style(presets::UTF8_FULL_CONDENSED).set_header([
                    "error kind",
                    "true links",
                    "found",
                    "recall",
                ]);
                for k in &kinds {
                    t.add_row([
                        Cell::new(&k.kind),
                        Cell::new(k.true_links),
                        Cell::new(k.found),
                        Cell::new(format!("{:.4}", k.recall)),
                    ]);
                }
                println!("{t}");
                Some(kinds)
            }
            None => None,
        };
        let conflicts = match (&args.worklist, &args.corruptions) {
            (Some(worklist), Some(corruptions)) => Some(crate::reconcile::eval_worklist(
                worklist,
                corruptions,
                args.national_corruptions.as_deref(),
                &pred,
                &truth,
            )?),
            _ => None,
        };
        serde_json::json!({ "links": s, "recall_by_kind": by_kind, "conflicts": conflicts })
    };
    if let Some(path) = &args.json {
        khop::session::write_json(path, &json)?;
    }
    Ok(())
}

/// A table of scores: measure, precision, recall, F1 and the counts, then `extra` columns.
fn scores_table(extra: &[&str]) -> Table {
    let mut header = vec!["measure", "precision", "recall", "F1", "tp", "fp", "fn"];
    header.extend_from_slice(extra);
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header(header);
    table
}

/// `khop eval --labels`: the links scored against a clerk's answers.
fn eval_labels(args: &EvalArgs) -> Result<()> {
    let labels = khop::review::Labels::read_all(&args.labels)?;
    let pred = khop::eval::read_pairs(&args.pred)?;
    let s = khop::eval::label_scores(&pred, &labels);
    let c = &s.labels;
    println!(
        "{} labelled pairs: {} match, {} non_match, {} unsure (left out)",
        labels.len(),
        c.matches,
        c.non_matches,
        c.unsure
    );
    let mut table = scores_table(&["tn"]);
    table.add_row([
        Cell::new("labelled pairs"),
        Cell::new(format!("{:.4}", s.scores.precision)),
        Cell::new(format!("{:.4}", s.scores.recall)),
        Cell::new(format!("{:.4}", s.scores.f1)),
        Cell::new(s.scores.true_positives),
        Cell::new(s.scores.false_positives),
        Cell::new(s.scores.false_negatives),
        Cell::new(s.true_negatives),
    ]);
    println!("{table}");
    if let Some(path) = &args.json {
        khop::session::write_json(path, &serde_json::json!({ "labels": s }))?;
    }
    Ok(())
}

/// `khop report`: a saved report rendered as HTML.
pub fn report(args: crate::ReportArgs) -> Result<()> {
    let started = Instant::now();
    let text = std::fs::read_to_string(&args.data)
        .with_context(|| format!("cannot read {}", args.data.display()))?;
    let report = khop::report::Report::from_json(&text).with_context(|| args.data.display().to_string())?;
    let html = report.to_html();
    khop::write::write_atomic(&args.out, &html)?;
    eprintln!(
        "{} report written to {} ({} KiB) in {:.2} s",
        report.kind.as_str(),
        args.out.display(),
        html.len().div_ceil(1024),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
