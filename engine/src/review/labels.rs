//! A clerk's answers: pairs of record ids labelled `match`, `non_match` or `unsure`, read from
//! and written to CSV (`left_id,right_id,label`), and what they imply about pairs nobody saw.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::eval::CsvFile;

/// A clerk's answer about one pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The same person.
    Match,
    /// Two people.
    NonMatch,
    /// The clerk could not tell.
    Unsure,
}

impl Label {
    /// The name written in labels files.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Match => "match",
            Label::NonMatch => "non_match",
            Label::Unsure => "unsure",
        }
    }

    /// The label written as `text` (`match`, `non_match` or `unsure`; also `not_a_match`,
    /// `yes`/`no` and `1`/`0`, any case).
    pub fn parse(text: &str) -> Option<Label> {
        match text.trim().to_ascii_lowercase().as_str() {
            "match" | "yes" | "1" | "true" => Some(Label::Match),
            "non_match" | "non-match" | "not_a_match" | "no_match" | "no" | "0" | "false" => {
                Some(Label::NonMatch)
            }
            "unsure" | "?" => Some(Label::Unsure),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Labelled pairs, keyed by `(left id, right id)`. In a deduplication (`symmetric`) a pair and
/// its reverse are the same pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    pairs: BTreeMap<(String, String), Label>,
    /// For each left id, the right ids labelled its match (more than one only where the national
    /// table holds a person twice).
    matched: HashMap<String, BTreeSet<String>>,
}

/// Counts of a labels file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LabelCounts {
    /// Pairs labelled `match`.
    pub matches: u64,
    /// Pairs labelled `non_match`.
    pub non_matches: u64,
    /// Pairs labelled `unsure`.
    pub unsure: u64,
}

impl Labels {
    /// No labels.
    pub fn new() -> Labels {
        Labels::default()
    }

    /// Labels `(left, right)`; a later answer about the same pair replaces the earlier one.
    pub fn insert(&mut self, left: &str, right: &str, label: Label) {
        let key = (left.to_owned(), right.to_owned());
        if let Some(Label::Match) = self.pairs.get(&key)
            && let Some(rights) = self.matched.get_mut(left)
        {
            rights.remove(right);
            if rights.is_empty() {
                self.matched.remove(left);
            }
        }
        if label == Label::Match {
            self.matched.entry(left.to_owned()).or_default().insert(right.to_owned());
        }
        self.pairs.insert(key, label);
    }

    /// Every pair of `other`, over these.
    pub fn extend(&mut self, other: &Labels) {
        for ((left, right), label) in &other.pairs {
            self.insert(left, right, *label);
        }
    }

    /// The label of `(left, right)`, if it has one.
    pub fn get(&self, left: &str, right: &str) -> Option<Label> {
        self.pairs.get(&(left.to_owned(), right.to_owned())).copied()
    }

    /// What the answers say about `(left, right)` of a link: its own label, or `non_match` when
    /// `left` was labelled the match of other national records only (a sector record is one
    /// person, and the national table holds each person once).
    pub fn implied(&self, left: &str, right: &str) -> Option<Label> {
        self.get(left, right).or_else(|| match self.matched.get(left) {
            Some(rights) if !rights.contains(right) => Some(Label::NonMatch),
            _ => None,
        })
    }

    /// Every labelled pair, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Label)> + '_ {
        self.pairs.iter().map(|((l, r), label)| (l.as_str(), r.as_str(), *label))
    }

    /// Pairs labelled.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair is labelled.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// How many pairs have each label.
    pub fn counts(&self) -> LabelCounts {
        let mut counts = LabelCounts::default();
        for label in self.pairs.values() {
            match label {
                Label::Match => counts.matches += 1,
                Label::NonMatch => counts.non_matches += 1,
                Label::Unsure => counts.unsure += 1,
            }
        }
        counts
    }

    /// Reads a labels file: CSV with a header holding `left_id`, `right_id` and `label` (other
    /// columns, such as those of a review export, are ignored). A row whose label is empty was not
    /// answered and is skipped; an unknown label or an empty id is an error naming the file and
    /// line.
    pub fn read(path: &Path) -> Result<Labels> {
        let mut file = CsvFile::open(path, 3, "`left_id,right_id,label`")?;
        let columns = [file.require("left_id")?, file.require("right_id")?, file.require("label")?];
        let mut labels = Labels::new();
        for row in file.rows(&columns.map(Some))? {
            let [left, right, label] = <[Option<String>; 3]>::try_from(row.values)
                .expect("three columns")
                .map(Option::unwrap_or_default);
            if label.is_empty() {
                continue;
            }
            file.non_empty(row.line, &[(&left, columns[0]), (&right, columns[1])])?;
            let label = Label::parse(&label).ok_or_else(|| {
                file.error(row.line, format!("unknown label `{label}` (expected match, non_match or unsure)"))
            })?;
            labels.insert(&left, &right, label);
        }
        Ok(labels)
    }

    /// Reads and merges several labels files, later files over earlier ones.
    pub fn read_all<P: AsRef<Path>>(paths: &[P]) -> Result<Labels> {
        let mut labels = Labels::new();
        for path in paths {
            labels.extend(&Labels::read(path.as_ref())?);
        }
        Ok(labels)
    }

    /// Writes the labels as CSV (`left_id,right_id,label`), in id order.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| Error::invalid(format!("cannot write the labels: {e}"));
        writer.write_record(["left_id", "right_id", "label"]).map_err(io)?;
        for (left, right, label) in self.iter() {
            writer.write_record([left, right, label.as_str()]).map_err(io)?;
        }
        let bytes =
            writer.into_inner().map_err(|e| Error::invalid(format!("cannot write the labels: {e}")))?;
        crate::write::write_atomic(path, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_implies_the_other_candidates_are_not_and_a_later_answer_replaces_it() {
        let mut labels = Labels::new();
        labels.insert("s1", "n1", Label::Match);
        labels.insert("s2", "n2", Label::NonMatch);
        assert_eq!(labels.implied("s1", "n1"), Some(Label::Match));
        assert_eq!(labels.implied("s1", "n9"), Some(Label::NonMatch));
        assert_eq!(labels.implied("s2", "n2"), Some(Label::NonMatch));
        assert_eq!(labels.implied("s2", "n3"), None, "a non-match implies nothing else");
        assert_eq!(labels.implied("s3", "n1"), None, "another sector record may be the same person");
        labels.insert("s1", "n1", Label::Unsure);
        assert_eq!(labels.implied("s1", "n9"), None);
        // Two matches for one record (a person the national table holds twice): neither is
        // implied away, whatever the order they were answered in.
        let mut twice = Labels::new();
        twice.insert("s5", "n6", Label::Match);
        twice.insert("s5", "n5", Label::Match);
        assert_eq!(twice.implied("s5", "n5"), Some(Label::Match));
        assert_eq!(twice.implied("s5", "n7"), Some(Label::NonMatch));
        let mut reversed = Labels::new();
        reversed.insert("s5", "n5", Label::Match);
        reversed.insert("s5", "n6", Label::Match);
        assert_eq!(twice, reversed);
        assert_eq!(labels.counts(), LabelCounts { matches: 0, non_matches: 1, unsure: 1 });
    }

    #[test]
    fn labels_round_trip_through_csv_and_bad_rows_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(
            &path,
            "pair,left_id,right_id,reason,label\n1,s1,n1,near,match\n2,s2,n2,near,\n3,s3,n3,near,Non_Match\n4,\"Nguyễn, A\",n4,x,unsure\n",
        )
        .unwrap();
        let labels = Labels::read(&path).unwrap();
        assert_eq!(labels.len(), 3, "the unanswered row is skipped");
        assert_eq!(labels.get("s3", "n3"), Some(Label::NonMatch));
        assert_eq!(labels.get("Nguyễn, A", "n4"), Some(Label::Unsure));
        let again = dir.path().join("again.csv");
        labels.write(&again).unwrap();
        assert_eq!(Labels::read(&again).unwrap(), labels);

        std::fs::write(&path, "left_id,right_id,label\ns1,n1,match\ns2,n2,perhaps\n").unwrap();
        let error = Labels::read(&path).unwrap_err().to_string();
        assert!(error.contains("line 3") && error.contains("perhaps"), "{error}");
        std::fs::write(&path, "left_id,right_id,label\n,n1,match\n").unwrap();
        let error = Labels::read(&path).unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("left_id"), "{error}");
        std::fs::write(&path, "left,right,decision\na,b,match\n").unwrap();
        let error = Labels::read(&path).unwrap_err().to_string();
        assert!(error.contains("left_id"), "{error}");
    }
}
