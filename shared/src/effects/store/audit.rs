//! Access patterns of the audit trail of host actions (`docs/data-model.md`, P21).

use super::error::StoreResult;
use super::item::to_item;
use super::{page, Store};
use crate::domain::ids::SessionId;
use crate::domain::keys;
use crate::domain::page::{Listing, PageRequest};
use crate::domain::AuditEntry;

impl Store {
    /// P21: records a host action.
    pub async fn put_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        self.put(to_item(&keys::audit(&e.session_id, &e.at, &e.id), e)?).await
    }

    /// P21: the audit trail of a session, newest first.
    pub async fn audit_page(
        &self,
        session_id: &SessionId,
        page_request: &PageRequest,
    ) -> StoreResult<Listing<AuditEntry>> {
        let q = self
            .partition_page(&keys::audit_pk(session_id), &|_| true, page_request)?
            .key_condition_expression("pk = :pk")
            .scan_index_forward(false);
        page(q).await
    }
}
