//! The README's API table, generated from the endpoint table: one row per HTTP endpoint, with its
//! body fields and query parameters (from its argument types), who may call it, and what it does
//! (its entry's description, and the paging bounds its `Page` type declares).

use super::Documented;
use crate::adapter::table::Route;

/// The marker lines around the generated table in `README.md`.
pub const BEGIN: &str = "<!-- api-table: generated from shared/src/adapter/endpoints.rs by `UPDATE_DOCS=1 cargo test -p e2e --test drift`; edit the table there -->";
pub const END: &str = "<!-- api-table end -->";

/// The table of the HTTP endpoints among `endpoints`, header included.
pub fn api_table(endpoints: &[impl Documented]) -> String {
    let mut out = String::from("| endpoint | auth | what it does |\n|---|---|---|\n");
    for &e in endpoints {
        if let Some(row) = row(e) {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

/// `METHOD /path` of an endpoint's row, as the table's first cell starts.
pub fn route_of_row(row: &str) -> Option<(String, String)> {
    let cell = row.strip_prefix("| `")?;
    let (method, rest) = cell.split_once(' ')?;
    let path = rest.split(['`', '?']).next()?;
    Some((method.to_string(), path.to_string()))
}

fn row(e: impl Documented) -> Option<String> {
    let (Route::Http { method, path }, Some(doc)) = (e.route(), e.doc()) else {
        return None;
    };
    let op = e.described();
    let query = if op.query.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = op.query.iter().map(|p| format!("{}=", p.name)).collect();
        format!("?{}", names.join("&"))
    };
    let body = match &op.body {
        Some(b) if !b.fields.is_empty() => {
            let fields: Vec<String> = b
                .fields
                .iter()
                .map(|(name, required)| if *required { name.clone() } else { format!("{name}?") })
                .collect();
            format!(" `{{{}}}`", fields.join(", "))
        }
        _ => String::new(),
    };
    let mut what = format!("{}. {}", doc.summary, doc.description);
    if let Some((default, max)) = op.paging {
        what.push_str(&format!(" `limit` 1..{max}, default {default}."));
    }
    if op.paged {
        what.push_str(" The next page's cursor is in the `X-Next-Cursor` response header (absent on the last page).");
    }
    Some(format!("| `{method} {path}{query}`{body} | {} | {what} |", doc.who))
}
