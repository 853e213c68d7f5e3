//! Record batches handed over in memory (`Session::prepare_arrow`, `Reader::from_arrow`): the
//! table they make is the table of the same rows read from a file, whatever the string layout
//! or scalar types of the columns, and bad batches are rejected rows or clear errors.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Int64Array, LargeStringArray, ListArray, RecordBatch, RecordBatchIterator,
    RecordBatchReader, StringArray, StringViewArray,
};
use arrow_schema::{DataType, Field, Schema};
use khop::read::{ReadOptions, Reader};
use khop::record::{ColumnSpec, DatasetSpec, Role};
use khop::session::{Session, TableSource};
use khop::{ErrorKind, Result};

/// Every batch of `path` as read with all columns, in batches of `rows` rows.
fn file_batches(path: &Path, rows: usize) -> Vec<RecordBatch> {
    let options = ReadOptions { batch_size: rows, ..ReadOptions::default() };
    Reader::open(path, &options).unwrap().map(|b| b.unwrap().records).collect()
}

fn stream(batches: Vec<RecordBatch>) -> Box<dyn RecordBatchReader + Send> {
    let schema = batches[0].schema();
    Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema))
}

/// `batches` with each string column in another of Arrow's layouts: LargeUtf8 for even columns,
/// Utf8View for odd ones.
fn relaid(batches: &[RecordBatch]) -> Vec<RecordBatch> {
    batches
        .iter()
        .map(|batch| {
            let mut fields = Vec::new();
            let mut columns: Vec<ArrayRef> = Vec::new();
            for (i, (field, column)) in batch.schema().fields().iter().zip(batch.columns()).enumerate() {
                let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
                if i % 2 == 0 {
                    columns.push(Arc::new(strings.iter().collect::<LargeStringArray>()));
                    fields.push(Field::new(field.name(), DataType::LargeUtf8, true));
                } else {
                    columns.push(Arc::new(strings.iter().collect::<StringViewArray>()));
                    fields.push(Field::new(field.name(), DataType::Utf8View, true));
                }
            }
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
        })
        .collect()
}

#[test]
fn batches_in_memory_make_the_table_of_the_file() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let options = khop_datasets::GenOptions {
        persons: 400,
        seed: 3,
        format: khop_datasets::OutputFormat::Csv,
        ..Default::default()
    };
    khop_datasets::generate(dir.path(), &khop_datasets::Profile::named("default").unwrap(), &options)
        .unwrap();
    let session = Session::new();
    for name in ["national", "bhxh"] {
        let path = dir.path().join(format!("{name}.csv"));
        let source = TableSource::detect(&path, &ReadOptions::default())?;
        let from_file = session.prepare(&source)?;
        // Roles detected from the batches, which come in pieces of 97 rows (detection reads
        // across them), in the file's layout and in the two others.
        for batches in [file_batches(&path, 97), relaid(&file_batches(&path, 97))] {
            let table = session.prepare_arrow(name, stream(batches), None, &ReadOptions::default())?;
            assert_eq!(table.source().dataset(), source.dataset(), "{name}: detected roles");
            assert_eq!(table.records(), from_file.records(), "{name}");
            assert_eq!(table.stats(), from_file.stats(), "{name}");
        }
        // All the rows in one batch (as polars hands a data frame over), read in slices.
        let batches = file_batches(&path, 97);
        let one = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
        let options = ReadOptions { batch_size: 64, ..ReadOptions::default() };
        let mut reader = Reader::from_arrow(name, stream(vec![one.clone()]), &options)?;
        let sizes: Vec<usize> = reader.by_ref().map(|b| b.unwrap().records.num_rows()).collect();
        assert!(sizes.len() > 1 && sizes.iter().all(|&n| n <= 64), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), one.num_rows());
        let table = session.prepare_arrow(name, stream(vec![one]), None, &options)?;
        assert_eq!(table.records(), from_file.records(), "{name}: one batch");
        // Roles given.
        let table = session.prepare_arrow(
            name,
            stream(file_batches(&path, 1000)),
            Some(source.dataset()),
            &ReadOptions::default(),
        )?;
        assert_eq!(table.records(), from_file.records(), "{name}: roles given");
    }
    Ok(())
}

#[test]
fn rows_without_an_id_are_rejected_and_numbered_across_batches() -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("so_dinh_danh", DataType::Utf8, true),
        Field::new("ho_ten", DataType::Utf8, true),
        Field::new("nam_sinh", DataType::Int64, true),
    ]));
    let batch = |ids: Vec<Option<&str>>, first: i64| {
        let names: StringArray = ids.iter().map(|_| Some("Nguyễn Văn An")).collect();
        let years: Int64Array = (0..ids.len() as i64).map(|i| Some(first + i)).collect();
        let ids: StringArray = ids.into_iter().collect();
        RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(ids), Arc::new(names), Arc::new(years)])
            .unwrap()
    };
    let batches = vec![
        batch(vec![Some("001090000001"), Some("001090000002")], 1980),
        batch(vec![Some("001090000003"), None, Some("001090000005")], 1990),
    ];
    let dataset = DatasetSpec {
        id_column: Some("so_dinh_danh".into()),
        columns: vec![ColumnSpec::new("ho_ten", Role::FullName), ColumnSpec::new("nam_sinh", Role::Number)],
    };
    let table =
        Session::new().prepare_arrow("people", stream(batches), Some(&dataset), &ReadOptions::default())?;
    assert_eq!(table.len(), 4);
    let stats = table.stats();
    assert_eq!((stats.rows_read, stats.rows_passed, stats.rows_rejected), (5, 4, 1));
    let reject = &table.rejects()[0];
    assert_eq!(
        (reject.row, reject.column.as_deref(), reject.reason.code()),
        (4, Some("so_dinh_danh"), "missing_id")
    );
    assert_eq!(&*reject.file, "people");
    assert_eq!(table.records().record_id(3), "001090000005");
    Ok(())
}

#[test]
fn a_missing_or_nested_column_is_a_clear_error() {
    let names: StringArray = vec![Some("Lê Thị Hoa")].into_iter().collect();
    let lists =
        ListArray::from_iter_primitive::<arrow_array::types::Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("ho_ten", DataType::Utf8, true),
        Field::new("tags", lists.data_type().clone(), true),
    ]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(names), Arc::new(lists)]).unwrap();
    let session = Session::new();

    let missing =
        DatasetSpec { id_column: None, columns: vec![ColumnSpec::new("ngay_sinh", Role::DateOfBirth)] };
    let error = session
        .prepare_arrow("people", stream(vec![batch.clone()]), Some(&missing), &ReadOptions::default())
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::UnknownColumn { column, .. } if column == "ngay_sinh"),
        "{error}"
    );
    assert!(error.to_string().contains("people"), "{error}");

    let nested = DatasetSpec { id_column: None, columns: vec![ColumnSpec::new("tags", Role::Text)] };
    let error = session
        .prepare_arrow("people", stream(vec![batch]), Some(&nested), &ReadOptions::default())
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::ColumnType { column, .. } if column == "tags"), "{error}");
}

#[test]
fn batches_in_memory_profile_as_their_file() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let options = khop_datasets::GenOptions {
        persons: 300,
        seed: 4,
        format: khop_datasets::OutputFormat::Csv,
        ..Default::default()
    };
    khop_datasets::generate(dir.path(), &khop_datasets::Profile::named("default").unwrap(), &options)
        .unwrap();
    let path = dir.path().join("bhyt.csv");
    let (_, detection) = khop::config::detect::detect_file(&path, &ReadOptions::default())?;
    let roles: Vec<_> = detection.columns.iter().map(|c| (c.name.clone(), c.role)).collect();
    let session = Session::new();
    let from_file = session.profile(&path, &ReadOptions::default(), &roles)?.profile;
    let from_batches = session
        .profile_arrow("bhyt", stream(relaid(&file_batches(&path, 50))), &ReadOptions::default())?
        .profile;
    assert_eq!((from_batches.file.as_str(), from_batches.format.as_str()), ("bhyt", "arrow"));
    assert_eq!(from_batches.rows_read, from_file.rows_read);
    // Everything said of each column is the same.
    let columns = |p: &khop::profile::DatasetProfile| serde_json::to_value(&p.columns).unwrap();
    assert_eq!(columns(&from_batches), columns(&from_file));
    Ok(())
}
