//! Access patterns of money (`docs/data-model.md`, P31–P37): wallets and their ledgers, credits
//! from the embedding app, payments (gifts, tips) in a session, its top gifters and gift combos,
//! tickets to paid sessions.
//!
//! Every movement of coins is ONE transaction that changes the balances, writes a ledger entry
//! for each wallet it touches and records what makes it happen once: a credit's `reference`
//! (`CREDITREF#`), a payment's idempotency key (`PAYMENT#`). A retry, whenever it comes, finds
//! that record in its own transaction's condition and moves nothing.

use aws_sdk_dynamodb::types::{
    ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::error::{Refusal, StoreResult};
use super::item::{db_err, failed, key_item, n, number, present_values, s, text, to_item, Item};
use super::transact::Cancelled;
use super::{page, Store};
use crate::domain::economy::{Gifter, LedgerEntry, Wallet};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::page::{Listing, PageRequest};
use crate::domain::{ParticipantStatus, Role, SessionStatus};

/// How long a payment's record answers its retries (well beyond any client's retry policy; the
/// ledger itself is kept for good).
const PAYMENT_RECORD_TTL_S: i64 = 30 * 86_400;

/// A credit already made for a `reference`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierCredit {
    pub user_id: UserId,
    pub coins: u64,
    pub entry_id: String,
}

/// A payment from one wallet to another within a session, as the rule decided it.
pub struct Payment<'a> {
    pub session_id: &'a SessionId,
    pub sender: &'a UserId,
    pub sender_name: &'a str,
    pub recipient: &'a UserId,
    /// The session's counter it adds to (`gift_revenue`, `tip_revenue`).
    pub revenue: &'static str,
    /// Coins paid (taken from the sender's balance).
    pub coins: u64,
    /// Gifts counted for the sender in the session (0 for a tip).
    pub gifts: u32,
    /// The sender's entry and the recipient's (whose `earnings_change` the recipient earns).
    pub sender_entry: &'a LedgerEntry,
    pub recipient_entry: &'a LedgerEntry,
    /// The sender's idempotency key, and what this payment answers to it: kept with the record,
    /// with `request` (what was asked), so a retry of another request under the key is told.
    pub key: &'a IdempotencyKey,
    pub request: &'a str,
    pub receipt: &'a str,
    pub now_s: i64,
}

/// A ticket sale, as the rule decided it.
pub struct TicketSale<'a> {
    pub session_id: &'a SessionId,
    pub buyer: &'a UserId,
    pub host: &'a UserId,
    pub price: u64,
    /// The buyer's entry and the host's (whose `earnings_change` the host earns).
    pub buyer_entry: &'a LedgerEntry,
    pub host_entry: &'a LedgerEntry,
    pub key: &'a IdempotencyKey,
    pub request: &'a str,
    pub receipt: &'a str,
    pub now_s: i64,
}

/// A ticket sale's outcome.
#[derive(Debug)]
pub enum Ticketed {
    /// Bought now.
    Bought,
    /// The buyer held a ticket already: nothing moved.
    Held,
    /// Bought before under this key.
    Before(Earlier),
}

/// A payment's outcome.
#[derive(Debug)]
pub enum Paid {
    /// Made now.
    Now,
    /// Made before under this key.
    Before(Earlier),
}

/// A payment made before under the same idempotency key: the request it answered (to tell a
/// retry from another request) and the receipt it answered with.
#[derive(Debug)]
pub struct Earlier {
    pub request: String,
    pub receipt: String,
}

/// One send of a gift, as its combo counts it.
#[derive(Clone, Copy, Debug)]
pub struct ComboSend<'a> {
    pub session_id: &'a SessionId,
    pub user_id: &'a UserId,
    pub gift_id: &'a str,
    pub quantity: u32,
    /// When it was sent (epoch ms).
    pub at_ms: i64,
    /// How long after a combo's last send another extends it.
    pub window_ms: i64,
    /// The id of the combo it begins, if it begins one.
    pub new_id: &'a str,
}

/// A gift combo as it stands after a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combo {
    pub id: String,
    /// Gifts in the combo so far.
    pub count: u32,
    /// This send began it.
    pub began: bool,
}

impl Store {
    /// P31: a user's wallet (`None`: never credited nor paid).
    pub async fn wallet(&self, user_id: &UserId) -> StoreResult<Option<Wallet>> {
        self.get(keys::wallet(user_id)).await
    }

    /// P32: a wallet's ledger, newest first, paged.
    pub async fn ledger_page(&self, user_id: &UserId, page_request: &PageRequest) -> StoreResult<Listing<LedgerEntry>> {
        let within = |sk: &str| sk.starts_with(keys::LEDGER_PREFIX);
        let q = self
            .partition_page(&keys::wallet_pk(user_id), &within, page_request)?
            .scan_index_forward(false)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":prefix", s(keys::LEDGER_PREFIX));
        page(q).await
    }

    /// P33: credits `entry.balance_change` coins to `entry.user_id` for the embedding app's
    /// payment `reference`, once: the reference's record, the balance and the ledger entry in one
    /// transaction. A reference credited before answers that credit.
    pub async fn credit(&self, entry: &LedgerEntry, reference: &str) -> StoreResult<Option<EarlierCredit>> {
        let coins = entry.balance_change;
        let mut record = key_item(&keys::credit_reference(reference));
        record.insert("user_id".into(), s(&entry.user_id));
        record.insert("coins".into(), n(coins));
        record.insert("entry_id".into(), s(&entry.id));
        let items = vec![
            self.put_new(record, true)?,
            self.add_to_wallet(&entry.user_id, "balance", coins)?,
            self.put_entry(entry)?,
        ];
        match self.transact_settled(items, "credit").await? {
            Ok(()) => Ok(None),
            Err(c) if c.failed(0) => {
                let old = c.item(0).unwrap_or_default();
                Ok(Some(EarlierCredit {
                    user_id: UserId::parse(text(&old, "user_id").unwrap_or_default()).map_err(failed)?,
                    coins: u64::try_from(number(&old, "coins")).unwrap_or(0),
                    entry_id: text(&old, "entry_id").unwrap_or_default().to_string(),
                }))
            }
            Err(_) => Err(failed("credit refused without a reason")),
        }
    }

    /// P34: a payment in a live session that takes gifts, in ONE transaction: the key's record
    /// (unless the key paid before), the session's revenue, the sender present and the recipient
    /// present on stage (or hosting), the sender's balance debited if it covers the payment, the
    /// recipient's earnings credited, a ledger entry for each, and the sender's total in the
    /// session (ranked in GSI2).
    pub async fn pay(&self, p: &Payment<'_>) -> StoreResult<Paid> {
        let revenue = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(p.session_id))))
            .update_expression("ADD #rev :coins")
            .condition_expression("#st = :live AND #set.enable_gifts = :yes")
            .expression_attribute_names("#rev", p.revenue)
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#set", "settings")
            .expression_attribute_values(":coins", n(p.coins))
            .expression_attribute_values(":live", s("live"))
            .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .build()
            .map_err(failed)?;
        let sender_present = self.present(p.session_id, p.sender, None)?;
        let on_stage = self.present(
            p.session_id,
            p.recipient,
            Some(&[Role::Host, Role::Cohost, Role::Guest]),
        )?;
        let ranked = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::gifter(p.session_id, p.sender))))
            .update_expression("SET #rpk = :rank, user_id = :u, username = :name ADD #rsk :coins, gifts :gifts")
            .expression_attribute_names("#rpk", keys::GSI2_PK)
            .expression_attribute_names("#rsk", keys::GSI2_SK)
            .expression_attribute_values(":rank", s(keys::gifters_index_pk(p.session_id)))
            .expression_attribute_values(":u", s(p.sender))
            .expression_attribute_values(":name", s(p.sender_name))
            .expression_attribute_values(":coins", n(p.coins))
            .expression_attribute_values(":gifts", n(p.gifts))
            .build()
            .map_err(failed)?;
        let items = vec![
            self.payment_record(p.sender, p.key, p.request, p.receipt, p.now_s)?,
            TransactWriteItem::builder().update(revenue).build(),
            sender_present,
            on_stage,
            self.debit(p.sender, p.coins)?,
            self.put_entry(p.sender_entry)?,
            self.add_to_wallet(p.recipient, "earnings", p.recipient_entry.earnings_change)?,
            self.put_entry(p.recipient_entry)?,
            TransactWriteItem::builder().update(ranked).build(),
        ];
        let Err(c) = self.transact_settled(items, "pay").await? else {
            return Ok(Paid::Now);
        };
        if let Some(earlier) = earlier_payment(&c) {
            return Ok(Paid::Before(earlier));
        }
        let refusal = if c.failed(1) {
            match self.session(p.session_id).await? {
                None => Refusal::SessionMissing,
                Some(s) if s.status != SessionStatus::Live => Refusal::SessionEnded,
                Some(_) => Refusal::GiftsDisabled,
            }
        } else if c.failed(2) {
            let old = c.item(2).unwrap_or_default();
            match text(&old, "status") {
                Some(st)
                    if [ParticipantStatus::Kicked, ParticipantStatus::Banned]
                        .iter()
                        .any(|b| b.as_str() == st) =>
                {
                    Refusal::Barred
                }
                _ => Refusal::Absent,
            }
        } else if c.failed(3) {
            Refusal::RecipientOffStage
        } else if c.failed(4) {
            let old = c.item(4).unwrap_or_default();
            Refusal::InsufficientCoins {
                balance: u64::try_from(number(&old, "balance")).unwrap_or(0),
                needed: p.coins,
            }
        } else {
            return Err(failed("payment refused without a reason"));
        };
        Err(refusal.into())
    }

    /// P37: buys `buyer`'s ticket to a live paid session, once, in ONE transaction: the key's
    /// record, the ticket (unless held), the session's ticket revenue if it is still live, paid
    /// and at this price, the buyer's balance debited if it covers the price, the host's earnings
    /// credited, a ledger entry for each. A ticket held already moves nothing.
    pub async fn buy_ticket(&self, t: &TicketSale<'_>) -> StoreResult<Ticketed> {
        let mut ticket = key_item(&keys::ticket(t.session_id, t.buyer));
        ticket.insert("user_id".into(), s(t.buyer));
        ticket.insert("price".into(), n(t.price));
        ticket.insert("entry_id".into(), s(&t.buyer_entry.id));
        let revenue = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(t.session_id))))
            .update_expression("ADD ticket_revenue :price")
            .condition_expression("#st = :live AND #set.#access = :paid AND #set.ticket_price = :price")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#set", "settings")
            .expression_attribute_names("#access", "access")
            .expression_attribute_values(":live", s("live"))
            .expression_attribute_values(":paid", s("paid"))
            .expression_attribute_values(":price", n(t.price))
            .build()
            .map_err(failed)?;
        let items = vec![
            self.payment_record(t.buyer, t.key, t.request, t.receipt, t.now_s)?,
            self.put_new(ticket, false)?,
            TransactWriteItem::builder().update(revenue).build(),
            self.debit(t.buyer, t.price)?,
            self.put_entry(t.buyer_entry)?,
            self.add_to_wallet(t.host, "earnings", t.host_entry.earnings_change)?,
            self.put_entry(t.host_entry)?,
        ];
        let Err(c) = self.transact_settled(items, "buy_ticket").await? else {
            return Ok(Ticketed::Bought);
        };
        if let Some(earlier) = earlier_payment(&c) {
            return Ok(Ticketed::Before(earlier));
        }
        if c.failed(1) {
            return Ok(Ticketed::Held);
        }
        if c.failed(2) {
            return Err(match self.session(t.session_id).await? {
                None => Refusal::SessionMissing,
                Some(s) if s.status != SessionStatus::Live => Refusal::SessionEnded,
                Some(_) => Refusal::SessionChanged,
            }
            .into());
        }
        if c.failed(3) {
            let old = c.item(3).unwrap_or_default();
            return Err(Refusal::InsufficientCoins {
                balance: u64::try_from(number(&old, "balance")).unwrap_or(0),
                needed: t.price,
            }
            .into());
        }
        Err(failed("ticket refused without a reason"))
    }

    /// P37: whether `user_id` holds a ticket to the session.
    pub async fn has_ticket(&self, session_id: &SessionId, user_id: &UserId) -> StoreResult<bool> {
        Ok(self
            .get::<serde_json::Value>(keys::ticket(session_id, user_id))
            .await?
            .is_some())
    }

    /// P35: the session's top `limit` gifters by coins given (GSI2, descending; eventually
    /// consistent: a payment of a moment ago may not be ranked yet).
    pub async fn top_gifters(&self, session_id: &SessionId, limit: i32) -> StoreResult<Vec<Gifter>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI2)
            .key_condition_expression("#rpk = :rank")
            .expression_attribute_names("#rpk", keys::GSI2_PK)
            .expression_attribute_values(":rank", s(keys::gifters_index_pk(session_id)))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(db_err)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let user_id = text(&item, "sk")
                    .and_then(|sk| sk.strip_prefix(keys::GIFTER_PREFIX))
                    .map(UserId::parse)
                    .transpose()
                    .map_err(failed)?
                    .ok_or_else(|| failed("a ranked gifter without a user"))?;
                Ok(Gifter {
                    username: text(&item, "username").unwrap_or(user_id.as_str()).to_string(),
                    coins: u64::try_from(number(&item, keys::GSI2_SK)).unwrap_or(0),
                    user_id,
                })
            })
            .collect()
    }

    /// P36: counts a send into its sender's combo of that gift: the current combo while its last
    /// send is under `window_ms` old (at `at_ms`), else a new one named `new_id`.
    pub async fn extend_combo(&self, send: &ComboSend<'_>) -> StoreResult<Combo> {
        let ComboSend {
            session_id,
            user_id,
            gift_id,
            quantity,
            at_ms: now_ms,
            window_ms,
            new_id,
        } = *send;
        let key = key_item(&keys::gift_combo(session_id, user_id, gift_id));
        let extend = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression("SET last_at = :now, expires_at = :ttl ADD #count :q")
            .condition_expression("last_at > :since")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":since", n(now_ms - window_ms))
            .expression_attribute_values(":ttl", n(now_ms / 1000 + 3_600))
            .expression_attribute_values(":q", n(quantity))
            .return_values(ReturnValue::AllNew);
        let combo = |item: &Item, began| Combo {
            id: text(item, "combo_id").unwrap_or_default().to_string(),
            count: u32::try_from(number(item, "count")).unwrap_or(0),
            began,
        };
        match extend.send().await {
            Ok(out) => return Ok(combo(&out.attributes.unwrap_or_default(), false)),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => {}
                other => return Err(db_err(other)),
            },
        }
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET last_at = :now, expires_at = :ttl, #count = :q, combo_id = :id")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":ttl", n(now_ms / 1000 + 3_600))
            .expression_attribute_values(":q", n(quantity))
            .expression_attribute_values(":id", s(new_id))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(db_err)?;
        Ok(combo(&out.attributes.unwrap_or_default(), true))
    }

    /// A payment's record (first in its transaction): `payer`'s `key` has paid, answering
    /// `request` with `receipt`; its condition fails, returning it, when the key paid before.
    fn payment_record(
        &self,
        payer: &UserId,
        key: &IdempotencyKey,
        request: &str,
        receipt: &str,
        now_s: i64,
    ) -> StoreResult<TransactWriteItem> {
        let mut record = key_item(&keys::payment(payer, key));
        record.insert("request".into(), s(request));
        record.insert("receipt".into(), s(receipt));
        record.insert("expires_at".into(), n(now_s + PAYMENT_RECORD_TTL_S));
        self.put_new(record, true)
    }

    /// A transaction's Put of an item that must not exist yet; `report`: return it if it does.
    fn put_new(&self, item: Item, report: bool) -> StoreResult<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        if report {
            put = put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        Ok(TransactWriteItem::builder().put(put.build().map_err(failed)?).build())
    }

    /// Takes `coins` from `user_id`'s balance if it covers them (the wallet as it was when it
    /// does not), in a transaction.
    fn debit(&self, user_id: &UserId, coins: u64) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::wallet(user_id))))
            .update_expression("SET user_id = :u ADD balance :minus")
            .condition_expression("balance >= :coins")
            .expression_attribute_values(":u", s(user_id))
            .expression_attribute_values(":minus", n(-i128::from(coins)))
            .expression_attribute_values(":coins", n(coins))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(failed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A ledger entry, in a transaction.
    fn put_entry(&self, entry: &LedgerEntry) -> StoreResult<TransactWriteItem> {
        let key = keys::ledger_entry(&entry.user_id, &entry.created_at, &entry.id);
        self.put_new(to_item(&key, entry)?, false)
    }

    /// `ADD <attribute> coins` on a wallet (created by its first movement), in a transaction.
    fn add_to_wallet(&self, user_id: &UserId, attribute: &str, coins: i64) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::wallet(user_id))))
            .update_expression("SET user_id = :u ADD #attr :coins")
            .expression_attribute_names("#attr", attribute)
            .expression_attribute_values(":u", s(user_id))
            .expression_attribute_values(":coins", n(coins))
            .build()
            .map_err(failed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction's check that `user_id` is present in the session (in one of `roles`, when
    /// given); the participant as it was when it fails.
    fn present(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        roles: Option<&[Role]>,
    ) -> StoreResult<TransactWriteItem> {
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, user_id))))
            .expression_attribute_names("#st", "status")
            .set_expression_attribute_values(Some(present_values().into_iter().collect()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut condition = "#st IN (:active, :muted)".to_string();
        if let Some(roles) = roles {
            let names: Vec<String> = (0..roles.len()).map(|i| format!(":role{i}")).collect();
            condition.push_str(&format!(" AND #role IN ({})", names.join(", ")));
            check = check.expression_attribute_names("#role", "role");
            for (name, role) in names.iter().zip(roles) {
                check = check.expression_attribute_values(name, s(role.as_str()));
            }
        }
        let check = check.condition_expression(condition).build().map_err(failed)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

/// The earlier payment under the key, when the payment record's condition (the transaction's
/// first action) is what failed.
fn earlier_payment(c: &Cancelled) -> Option<Earlier> {
    if !c.failed(0) {
        return None;
    }
    let old = c.item(0).unwrap_or_default();
    Some(Earlier {
        request: text(&old, "request").unwrap_or_default().to_string(),
        receipt: text(&old, "receipt").unwrap_or_default().to_string(),
    })
}
