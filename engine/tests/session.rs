//! The library's entry point: a session over generated tables gives the same links as the stage
//! modules driven by hand, keeps every rejected row, owns its data, and refuses outputs that
//! would destroy an input.

use std::path::Path;

use khop::link::linker::Linker;
use khop::read::ReadOptions;
use khop::session::{LinkOutputs, OutputPlan, Session, Table, TableSource};
use khop::{ErrorKind, Result};

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[test]
fn the_public_types_own_their_data_and_cross_threads() {
    assert_send_sync::<Session>();
    assert_send_sync::<Table>();
    assert_send_sync::<TableSource>();
    assert_send_sync::<khop::LinkRun>();
    assert_send_sync::<khop::DedupeRun>();
    assert_send_sync::<khop::ReconcileRun>();
    assert_send_sync::<khop::MultiLink>();
    assert_send_sync::<khop::Error>();
}

fn population(dir: &Path, persons: u64) {
    let profile = khop_datasets::Profile::named("default").unwrap();
    let options = khop_datasets::GenOptions {
        persons,
        seed: 11,
        format: khop_datasets::OutputFormat::Csv,
        ..Default::default()
    };
    khop_datasets::generate(dir, &profile, &options).unwrap();
}

fn prepare(session: &Session, file: &Path) -> Result<Table> {
    session.prepare(&TableSource::detect(file, &ReadOptions::default())?)
}

#[test]
fn a_session_links_as_the_stages_do_and_keeps_rejects() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    population(dir.path(), 600);
    // A sector file with two broken rows among good ones: the rejects stay with the table.
    let text = std::fs::read_to_string(dir.path().join("bhxh.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "only,two");
    lines.insert(7, "\"unclosed");
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, lines.join("\n") + "\n").unwrap();

    let session = Session::new();
    let sector = prepare(&session, &broken)?;
    let national = prepare(&session, &dir.path().join("national.csv"))?;
    let stats = sector.stats();
    assert_eq!(stats.rows_read, stats.rows_passed + stats.rows_rejected);
    assert!(stats.rows_rejected >= 1, "{stats:?}");
    assert_eq!(sector.rejects().len() as u64, stats.rows_rejected);

    let run = session.link(&sector, &national, None)?;
    let linker = Linker::new(sector.records(), national.records(), session.settings().clone())?;
    let (model, _) = linker.train()?;
    let (results, _) = linker.link(&model)?;
    assert_eq!(run.results(), results.as_slice(), "the session links as the stages do");

    let out = dir.path().join("links.csv");
    let rejects = dir.path().join("rejects.csv");
    let outputs = LinkOutputs { rejects: Some(rejects.clone()), ..LinkOutputs::new(&out) };
    let summary = run.write_outputs(&outputs)?;
    assert_eq!(summary.rows_written, Some(sector.len() as u64));
    let written = csv::Reader::from_path(&rejects).unwrap().records().count() as u64;
    let national_rejected = national.stats().rows_rejected;
    assert_eq!(written, stats.rows_rejected + national_rejected);
    assert_eq!(summary.rows_rejected, stats.rows_rejected + national_rejected);
    let batches: usize = run.batches()?.map(|b| b.map(|b| b.num_rows())).sum::<Result<_>>()?;
    assert_eq!(batches, sector.len());
    Ok(())
}

#[test]
fn outputs_never_overwrite_inputs_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("national.csv");
    std::fs::write(&input, "id,name\n1,a\n").unwrap();
    let clash = |plan: &OutputPlan| match plan.check() {
        Err(e) => match e.kind() {
            ErrorKind::OutputClash { other, .. } => other.clone(),
            other => panic!("not a clash: {other:?}"),
        },
        Ok(()) => panic!("accepted"),
    };
    let mut plan = OutputPlan::new();
    plan.input("the input `national`", &input).table("the links output", &input);
    assert_eq!(clash(&plan), "the input `national`");
    // The same file under another spelling.
    let mut plan = OutputPlan::new();
    let dotted = dir.path().join(".").join("national.csv");
    plan.input("the input `national`", &input).file("the summary", Some(&dotted));
    assert_eq!(clash(&plan), "the input `national`");
    // Two outputs of one run on one path.
    let w = dir.path().join("w.csv");
    let mut plan = OutputPlan::new();
    plan.table("the worklist output", &w).table("the links output", &w);
    assert_eq!(clash(&plan), "the worklist output");
    // Unknown extension and missing folder are refused before anything runs.
    let mut plan = OutputPlan::new();
    plan.table("the links output", &dir.path().join("links.xlsx"));
    assert!(plan.check().unwrap_err().to_string().contains(".parquet, .csv or .ndjson"));
    let mut plan = OutputPlan::new();
    plan.table("the links output", &dir.path().join("no/such/folder/links.csv"));
    assert!(plan.check().unwrap_err().to_string().contains("does not exist"));
    // Distinct files pass, and the input is untouched.
    let mut plan = OutputPlan::new();
    plan.input("the input `national`", &input).table("the links output", &dir.path().join("links.csv"));
    plan.check().unwrap();
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "id,name\n1,a\n");
}

#[test]
fn settings_are_validated_in_the_library() {
    let refused = Session::new().configure(|s| {
        s.thresholds.match_probability = 0.5;
        s.thresholds.review_probability = 0.9;
    });
    let error = refused.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Settings(_)), "{error:?}");
    assert!(error.to_string().contains("review threshold"), "{error}");
}

/// A CSV of `rows` records, every one with the same name and date of birth.
fn identical_rows(path: &Path, rows: usize) {
    let mut text = String::from("id,ho_ten,ngay_sinh,gioi_tinh\n");
    for i in 0..rows {
        text.push_str(&format!("R{i},Nguyễn Văn An,01/01/1990,Nam\n"));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn skew_and_size_are_said_not_hidden() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same.csv");
    identical_rows(&same, 60);
    // One giant block, over the skew guard: linking says why nothing could be trained.
    let session = Session::new().configure(|s| s.blocking.max_block_pairs = 100)?;
    let table = prepare(&session, &same)?;
    let error = session.link(&table, &table, None).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::NoCandidatePairs { .. }), "{error:?}");
    assert!(error.to_string().contains("blocks were skipped"), "{error}");

    // Tiny tables train at once (every pair compared once, not a million draws) and say that
    // the model is unreliable.
    let two = dir.path().join("two.csv");
    std::fs::write(
        &two,
        "id,ho_ten,ngay_sinh,gioi_tinh\n1,Nguyễn Văn An,01/01/1990,Nam\n2,Trần Thị Bình,02/02/1991,Nữ\n",
    )
    .unwrap();
    let small = prepare(&Session::new(), &two)?;
    let started = std::time::Instant::now();
    let run = Session::new().link(&small, &small, None)?;
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert_eq!(run.training().map(|t| t.random_pairs), Some(4), "2 x 2 pairs, each once");
    let warnings = run.summary().warnings;
    assert!(warnings.iter().any(|w| w.contains("little to learn from")), "{warnings:?}");
    Ok(())
}

#[test]
fn dedupe_warns_when_the_skew_guard_skips_a_block() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same.csv");
    identical_rows(&same, 150);
    let varied = dir.path().join("register.csv");
    let mut text = std::fs::read_to_string(&same).unwrap();
    // Some ordinary records too, so that training has pairs from other rules.
    for i in 0..150 {
        text.push_str(&format!("V{i},Trần Thị Bình {i},{:02}/03/19{:02},Nữ\n", i % 28 + 1, i % 90 + 10));
        text.push_str(&format!("W{i},Trần Thị Bình {i},{:02}/03/19{:02},Nữ\n", i % 28 + 1, i % 90 + 10));
    }
    std::fs::write(&varied, text).unwrap();
    let session = Session::new().configure(|s| s.blocking.max_block_pairs = 1_000)?;
    let table = prepare(&session, &varied)?;
    let run = session.dedupe(&table)?;
    let warnings = run.summary().warnings;
    assert!(warnings.iter().any(|w| w.contains("too large and skipped")), "{warnings:?}");
    Ok(())
}

#[test]
fn duplicated_ids_are_counted_and_never_picked_silently() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sector.csv");
    std::fs::write(
        &path,
        "id,ho_ten,ngay_sinh,gioi_tinh\nA1,Nguyễn Văn An,01/01/1990,Nam\nA2,Trần Thị Bình,02/02/1991,Nữ\nA1,Lê Văn Cường,03/03/1992,Nam\n",
    )
    .unwrap();
    let source = TableSource::from_input(&khop::config::InputConfig {
        name: "sector".into(),
        path: path.clone(),
        dataset: khop::DatasetSpec {
            id_column: Some("id".into()),
            columns: vec![
                khop::ColumnSpec::new("ho_ten", khop::Role::FullName),
                khop::ColumnSpec::new("ngay_sinh", khop::Role::DateOfBirth),
                khop::ColumnSpec::new("gioi_tinh", khop::Role::Sex),
            ],
        },
        read: ReadOptions {
            id_column: Some("id".into()),
            columns: Some(vec!["id".into(), "ho_ten".into(), "ngay_sinh".into(), "gioi_tinh".into()]),
            ..ReadOptions::default()
        },
    });
    let table = Session::new().prepare(&source)?;
    assert_eq!(table.len(), 3, "records with a repeated id are kept");
    assert_eq!(table.duplicate_ids(), 1);
    assert!(table.warnings().iter().any(|w| w.contains("repeat an earlier record's id")));
    assert_eq!(table.summary().duplicate_ids, 1);
    let error = table.find("A1").unwrap_err().to_string();
    assert!(error.contains("names 2 records (row 1, row 3)"), "{error}");
    assert_eq!(table.find("A2")?, khop::RecordIndex(1));
    Ok(())
}

#[test]
fn records_without_an_id_column_are_named_by_their_row() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_id.csv");
    std::fs::write(&path, "ho_ten,ngay_sinh\nNguyễn Văn An,01/01/1990\nTrần Thị Bình,02/02/1991\n").unwrap();
    let table = prepare(&Session::new(), &path)?;
    assert_eq!(table.source().id_choice(), &khop::session::IdChoice::RowNumber);
    let ids: Vec<&str> = (0..table.len() as u32).map(|i| table.records().record_id(i)).collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(table.find("2")?, khop::RecordIndex(1));
    Ok(())
}
