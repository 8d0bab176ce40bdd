//! Pages of lists: what a client asks for ([`PageRequest`]) and what a rule answers with a list
//! whose next cursor travels beside it ([`Listing`]). Cursors are opaque to everyone but the store.

/// One page of a list, as asked: at most `limit` items, after `cursor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i32,
    /// The previous page's cursor (or, where a list documents it, another bound such as a time).
    pub cursor: Option<String>,
    /// The request parameter the cursor came in: a refused cursor is a 400 naming it.
    pub cursor_param: &'static str,
}

/// Items, and the cursor of the next page (absent on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Listing<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
