//! The clerk's review page: one self-contained HTML file. Pairs are written into the page as
//! HTML; a short inline script records the answers (buttons or the keys `m`, `n`, `u`, and `j`
//! / `k` to move), keeps them in the browser's local storage for this page, and saves them as
//! `labels.csv` through a download of a generated file. Nothing is fetched or sent.

use std::fmt::Write;

use super::Review;
use crate::report::html::esc;

const STYLE: &str = r#"
body { font-family: "Segoe UI", "Noto Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d2530; margin: 0; line-height: 1.45; }
header { position: sticky; top: 0; background: #f3f5f8; border-bottom: 1px solid #d8dde3; padding: 10px 24px; display: flex; gap: 18px; align-items: center; flex-wrap: wrap; z-index: 1; }
header h1 { font-size: 18px; margin: 0; }
header .help { color: #5b6675; font-size: 13px; }
main { padding: 12px 24px 60px; max-width: 1000px; }
.pair { border: 1px solid #d8dde3; border-radius: 6px; margin: 10px 0; padding: 8px 12px; }
.pair.current { outline: 3px solid #3f6fb5; }
.pair[data-answer="match"] { background: #eef8f1; } .pair[data-answer="non_match"] { background: #fbefef; } .pair[data-answer="unsure"] { background: #f6f3e6; }
.pair h2 { font-size: 14px; margin: 0 0 6px; font-weight: 600; }
.pair h2 .why { font-weight: normal; color: #5b6675; }
table { border-collapse: collapse; font-size: 14px; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid #e3e7ec; padding: 3px 10px 3px 0; }
th { font-size: 12px; color: #5b6675; }
td.field { color: #5b6675; width: 22%; }
.buttons { margin-top: 8px; display: flex; gap: 8px; }
button { font-size: 14px; padding: 4px 12px; border: 1px solid #9aa5b1; border-radius: 4px; background: white; cursor: pointer; }
button[aria-pressed="true"] { background: #1d2530; color: white; }
#save { background: #3f6fb5; color: white; border-color: #3f6fb5; }
"#;

const SCRIPT: &str = r#"
(function () {
  var pairs = Array.prototype.slice.call(document.querySelectorAll(".pair"));
  var storageKey = "khop-review:" + document.body.dataset.reviewId;
  var answers = {};
  var saved = true;
  var current = 0;
  try { answers = JSON.parse(window.localStorage.getItem(storageKey) || "{}"); } catch (e) { answers = {}; }
  function show(i) {
    var pair = pairs[i], answer = answers[i] || "";
    pair.dataset.answer = answer;
    pair.querySelectorAll("button[data-label]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.label === answer ? "true" : "false");
    });
  }
  function progress() {
    var n = Object.keys(answers).length;
    var p = document.getElementById("progress");
    p.dataset.answered = String(n);
    p.textContent = n + " of " + pairs.length + " answered";
  }
  function focus(i) {
    if (i < 0 || i >= pairs.length) { return; }
    if (pairs[current]) { pairs[current].classList.remove("current"); }
    current = i;
    pairs[i].classList.add("current");
    pairs[i].scrollIntoView({ block: "nearest" });
  }
  function answer(i, label) {
    answers[i] = label;
    saved = false;
    try { window.localStorage.setItem(storageKey, JSON.stringify(answers)); } catch (e) { /* storage may be off */ }
    show(i);
    progress();
    for (var j = i + 1; j < pairs.length; j++) { if (!answers[j]) { focus(j); return; } }
  }
  function csvField(text) {
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function save() {
    var lines = ["left_id,right_id,label,reason"];
    pairs.forEach(function (pair, i) {
      if (answers[i]) {
        lines.push([pair.dataset.left, pair.dataset.right, answers[i], pair.dataset.reason].map(csvField).join(","));
      }
    });
    var blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "labels.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    saved = true;
  }
  pairs.forEach(function (pair, i) {
    show(i);
    pair.addEventListener("click", function () { focus(i); });
    pair.querySelectorAll("button[data-label]").forEach(function (b) {
      b.addEventListener("click", function (event) { event.stopPropagation(); focus(i); answer(i, b.dataset.label); });
    });
  });
  document.getElementById("save").addEventListener("click", save);
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var keys = { m: "match", n: "non_match", u: "unsure" };
    if (keys[event.key]) { answer(current, keys[event.key]); }
    else if (event.key === "j" || event.key === "ArrowDown") { focus(current + 1); event.preventDefault(); }
    else if (event.key === "k" || event.key === "ArrowUp") { focus(current - 1); event.preventDefault(); }
  });
  window.addEventListener("beforeunload", function (event) { if (!saved) { event.preventDefault(); } });
  progress();
  focus(0);
})();
"#;

/// A stable id of the review (FNV-1a over the pairs' ids): answers kept in the browser belong to
/// one export, not to any page of the same name.
fn review_id(review: &Review) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for item in &review.items {
        for byte in item.left_id.bytes().chain([0]).chain(item.right_id.bytes()).chain([1]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The whole page.
pub(super) fn render(review: &Review) -> String {
    let mut out = String::with_capacity(4096 + review.items.len() * 1500);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"><title>khop review: {} and {}</title><style>{STYLE}</style></head><body data-review-id="{}" data-pairs="{}">"#,
        esc(&review.sector),
        esc(&review.national),
        review_id(review),
        review.items.len()
    );
    let _ = write!(
        out,
        r#"<header><h1>Are these the same person?</h1><span id="progress" data-answered="0"></span><button id="save" type="button">Save labels</button><span class="help">Keys: m match, n not a match, u unsure, j/k next/previous. Answers stay in this browser until saved as labels.csv.</span></header><main>"#
    );
    if review.items.is_empty() {
        out.push_str("<p>No pair needs a person: every candidate is settled by earlier answers or far from the thresholds.</p>");
    }
    for (i, item) in review.items.iter().enumerate() {
        let _ = write!(
            out,
            r#"<section class="pair" data-left="{}" data-right="{}" data-reason="{}"><h2>Pair {} <span class="why">&middot; {}</span></h2><table><thead><tr><th>field</th><th>{} record {}</th><th>{} record {}</th></tr></thead><tbody>"#,
            esc(&item.left_id),
            esc(&item.right_id),
            item.reason.as_str(),
            i + 1,
            item.reason.describe(),
            esc(&review.sector),
            esc(&item.left_id),
            esc(&review.national),
            esc(&item.right_id),
        );
        for field in &item.fields {
            let _ = write!(
                out,
                r#"<tr><td class="field">{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&field.field),
                esc(&field.left),
                esc(&field.right)
            );
        }
        out.push_str(
            r#"</tbody></table><div class="buttons"><button type="button" data-label="match">Same person (m)</button><button type="button" data-label="non_match">Not the same (n)</button><button type="button" data-label="unsure">Unsure (u)</button></div></section>"#,
        );
    }
    let _ = writeln!(out, "</main><script>{SCRIPT}</script></body></html>");
    out
}
