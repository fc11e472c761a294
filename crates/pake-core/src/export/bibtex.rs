//! BibTeX: entry types by kind, keys `author year word` unique per file (a, b… suffixes), LaTeX
//! specials escaped and non-ASCII letters written as LaTeX accents (or `{\char}` groups), so
//! the file is plain ASCII that classic BibTeX reads.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::kind::{Kind, split_name};
use crate::search::SearchResult;

/// The file.
pub(crate) fn write(results: &[SearchResult]) -> String {
    let mut keys: HashMap<String, u32> = HashMap::new();
    let mut out = String::new();
    for r in results {
        let base = key(r);
        let n = keys.entry(base.clone()).or_insert(0);
        let key = if *n == 0 {
            base
        } else {
            format!("{base}{}", suffix(*n))
        };
        *n += 1;
        entry(&mut out, &key, r);
    }
    out
}

/// `a`, `b`, … `z`, `aa`, `ab`, …: the suffix of the n-th repeat of a key (n ≥ 1).
fn suffix(mut n: u32) -> String {
    let mut s = Vec::new();
    loop {
        n -= 1;
        s.push(b'a' + u8::try_from(n % 26).unwrap_or(0));
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Letters and digits of `text` folded to ASCII (accents dropped), lower case.
fn ascii_word(text: &str) -> String {
    text.chars()
        .filter_map(fold)
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `c` without its accent, when it is a Latin letter with one (or already ASCII).
fn fold(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    accent(c).map(|(_, base)| base)
}

const STOP: [&str; 8] = ["a", "an", "the", "on", "of", "for", "and", "in"];

/// `lovelace1843analytical`: first author's family name, year, first significant title word.
fn key(r: &SearchResult) -> String {
    let author = r
        .authors
        .first()
        .map(|a| ascii_word(&split_name(a).0))
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "anon".into());
    let year = r
        .published
        .map(|d| d.year().to_string())
        .unwrap_or_default();
    let word = r
        .title
        .split(|c: char| !c.is_alphanumeric())
        .map(ascii_word)
        .find(|w| !w.is_empty() && !STOP.contains(&w.as_str()))
        .unwrap_or_default();
    format!("{author}{year}{word}")
}

fn entry(out: &mut String, key: &str, r: &SearchResult) {
    let kind = Kind::of(r);
    let ty = match kind {
        Kind::Article => "article",
        Kind::Conference => "inproceedings",
        Kind::Book => "book",
        Kind::Chapter => "incollection",
        Kind::Thesis => "phdthesis",
        Kind::Preprint | Kind::Dataset | Kind::Web | Kind::Other => "misc",
    };
    let _ = writeln!(out, "@{ty}{{{key},");
    let mut field = |name: &str, value: &str| {
        if !value.trim().is_empty() {
            let _ = writeln!(out, "  {name} = {{{}}},", escape(value.trim()));
        }
    };
    // titles keep their capitals: BibTeX styles lower-case what is not braced
    field("title", &r.title);
    field("author", &r.authors.join(" and "));
    if let Some(d) = r.published {
        field("year", &d.year().to_string());
        field("month", &u8::from(d.month()).to_string());
    }
    if let Some(v) = &r.venue {
        let name = match kind {
            Kind::Article => "journal",
            Kind::Conference | Kind::Chapter => "booktitle",
            _ => "howpublished",
        };
        field(name, v);
    }
    if let Some(doi) = &r.doi {
        field("doi", doi);
    }
    if let Some(id) = &r.arxiv_id {
        field("eprint", id);
        field("archivePrefix", "arXiv");
        if let Some(c) = &r.primary_category {
            field("primaryClass", c);
        }
    }
    if let Some(pmid) = &r.pmid {
        field("pmid", pmid);
    }
    field("url", &r.url);
    if let Some(a) = &r.abstract_text {
        field("abstract", a);
    }
    out.push_str("}\n\n");
}

/// A Latin letter with an accent: the LaTeX accent command and the base letter.
fn accent(c: char) -> Option<(&'static str, char)> {
    let decomposed: &[(&str, &str, &str)] = &[
        ("'", "áéíóúýÁÉÍÓÚÝćńśźĆŃŚŹ", "aeiouyAEIOUYcnszCNSZ"),
        ("`", "àèìòùÀÈÌÒÙ", "aeiouAEIOU"),
        ("^", "âêîôûÂÊÎÔÛ", "aeiouAEIOU"),
        ("\"", "äëïöüÿÄËÏÖÜŸ", "aeiouyAEIOUY"),
        ("~", "ãñõÃÑÕ", "anoANO"),
        ("c", "çÇşŞ", "cCsS"),
        ("v", "čďěňřšťžČĎĚŇŘŠŤŽ", "cdenrstzCDENRSTZ"),
        ("r", "åÅů", "aAu"),
        ("H", "őűŐŰ", "ouOU"),
        ("k", "ąęĄĘ", "aeAE"),
        (".", "żŻ", "zZ"),
    ];
    for (cmd, with, base) in decomposed {
        if let Some(i) = with.chars().position(|x| x == c) {
            return base.chars().nth(i).map(|b| (*cmd, b));
        }
    }
    None
}

/// Letters LaTeX writes with a command of their own.
fn special_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "\\ss",
        'æ' => "\\ae",
        'Æ' => "\\AE",
        'ø' => "\\o",
        'Ø' => "\\O",
        'œ' => "\\oe",
        'Œ' => "\\OE",
        'ł' => "\\l",
        'Ł' => "\\L",
        'ı' => "\\i",
        'đ' => "\\dj",
        'Đ' => "\\DJ",
        _ => return None,
    })
}

/// A value as BibTeX reads it back: `\ { } $ & % # _ ~ ^` escaped, accented letters as LaTeX
/// accents, other non-ASCII characters as `\symbol{code}` (ASCII out), controls as spaces.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("{\\textbackslash}"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '$' | '&' | '%' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("{\\textasciitilde}"),
            '^' => out.push_str("{\\textasciicircum}"),
            c if c.is_control() => out.push(' '),
            c if c.is_ascii() => out.push(c),
            c => {
                if let Some((cmd, base)) = accent(c) {
                    let _ = write!(out, "{{\\{cmd}{{{base}}}}}");
                } else if let Some(s) = special_letter(c) {
                    let _ = write!(out, "{{{s}}}");
                } else {
                    let _ = write!(out, "{{\\symbol{{{}}}}}", u32::from(c));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(title: &str, author: &str, year: i32) -> SearchResult {
        let mut r = SearchResult::empty();
        r.title = title.into();
        r.authors = vec![author.into(), "Smith JA".into()];
        r.published = time::Date::from_calendar_date(year, time::Month::March, 1).ok();
        r
    }

    #[test]
    fn specials_and_accents_are_escaped_to_ascii() {
        assert_eq!(
            escape("50% & $x_1$ #1 {a}"),
            "50\\% \\& \\$x\\_1\\$ \\#1 \\{a\\}"
        );
        assert_eq!(escape("Café Gödel"), "Caf{\\'{e}} G{\\\"{o}}del");
        assert_eq!(escape("Straße"), "Stra{\\ss}e");
        assert_eq!(
            escape("a\\b~c^"),
            "a{\\textbackslash}b{\\textasciitilde}c{\\textasciicircum}"
        );
        assert_eq!(escape("α\u{0}"), "{\\symbol{945}} ");
        assert!(escape("Łódź—漢").is_ascii());
    }

    #[test]
    fn keys_are_unique_per_file() {
        let a = paper("The Analytical Engine", "Ada Lovelace", 1843);
        let out = write(&[a.clone(), a.clone(), a]);
        assert!(out.contains("@misc{lovelace1843analytical,"), "{out}");
        assert!(out.contains("{lovelace1843analyticala,"), "{out}");
        assert!(out.contains("{lovelace1843analyticalb,"), "{out}");
        assert_eq!(suffix(1), "a");
        assert_eq!(suffix(26), "z");
        assert_eq!(suffix(27), "aa");
    }

    #[test]
    fn arxiv_preprints_are_misc_with_eprint() {
        let mut r = paper("Attention", "Ashish Vaswani", 2017);
        r.arxiv_id = Some("1706.03762".into());
        r.primary_category = Some("cs.CL".into());
        let out = write(&[r]);
        assert!(out.starts_with("@misc{vaswani2017attention,"), "{out}");
        assert!(out.contains("eprint = {1706.03762}"));
        assert!(out.contains("archivePrefix = {arXiv}"));
        assert!(out.contains("primaryClass = {cs.CL}"));
        assert!(out.contains("author = {Ashish Vaswani and Smith JA}"));
    }

    #[test]
    fn journal_articles_name_their_journal() {
        let mut r = paper("On Things", "Marie Curie", 1900);
        r.publication_type = Some("journal_article".into());
        r.venue = Some("Nature".into());
        r.doi = Some("10.1/x".into());
        let out = write(&[r]);
        assert!(out.starts_with("@article{curie1900things,"), "{out}");
        assert!(out.contains("journal = {Nature}"));
        assert!(out.contains("doi = {10.1/x}"));
    }
}
