//! The audience economy: the gift catalogue, wallets and their ledgers, credits from the
//! embedding app, gifts and tips in a live session.
//!
//! A payment is decided here (who pays whom, how much, how it splits) and made by ONE store
//! transaction (`docs/data-model.md`, P34) that also records the payer's `Idempotency-Key`: a
//! retry replays the first answer (`adapter::idempotency`), and even a retry that comes after
//! that answer was lost pays nothing twice — the transaction finds its own record and answers
//! the receipt it kept. What follows a payment (the gift's combo, its chat line, its event) only
//! narrates it, and never fails it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use super::access::{self, Need};
use super::events::{self, kind};
use super::sessions::SessionRef;
use crate::domain::economy::{
    EntryKind, Gift, LedgerEntry, Split, Transfer, Wallet, COMBO_WINDOW_MS, CREDIT_COINS, GIFT_QUANTITY,
    REFERENCE_MAX_BYTES, TIP_COINS, TIP_MESSAGE_MAX_CHARS,
};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::{stamped_id, SessionId, UserId};
use crate::domain::page::PageRequest;
use crate::domain::text::{check_blocked, check_text};
use crate::domain::time::Timestamp;
use crate::domain::{Access, ChatMessage, MessageType, SessionStatus, User};
use crate::effects::store::{ComboSend, Earlier, Paid, Payment, TicketSale, Ticketed};
use crate::effects::Effects;

/// `GET /live/gifts` answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalogue {
    pub gifts: Vec<Gift>,
    /// The recipient's share of what a gift or tip costs, in percent; the platform keeps the rest.
    pub revenue_share_percent: u8,
}

/// `GET /live/wallet/ledger` answer: newest first.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /live/wallet/credit` body.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditRequest {
    pub user_id: UserId,
    /// 1..=1,000,000.
    pub coins: u64,
    /// The embedding app's payment id: a reference credits once, whatever the key.
    pub reference: String,
}

/// `POST /live/wallet/credit` answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditReceipt {
    pub user_id: UserId,
    pub coins: u64,
    pub reference: String,
    /// The ledger entry of the credit.
    pub entry_id: String,
    /// `false`: this reference was credited before (this answer names that credit).
    pub credited: bool,
}

/// `POST /live/send-gift` body.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendGift {
    pub session_id: SessionId,
    pub gift_id: String,
    /// 1..=99.
    pub quantity: u32,
    /// A guest or cohost on stage; the host when absent.
    #[serde(default)]
    pub recipient_id: Option<UserId>,
}

/// `POST /live/tip` body.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tip {
    pub session_id: SessionId,
    /// 1..=1,000,000.
    pub coins: u64,
    /// A guest or cohost on stage; the host when absent.
    #[serde(default)]
    pub recipient_id: Option<UserId>,
    /// Shown with the tip (at most 200 characters).
    #[serde(default)]
    pub message: Option<String>,
}

/// A gift's or tip's streak (TikTok's ×N): the sender's sends of one gift, each within 5 s of the
/// last, counted together; clients show one animation per `id` with its `count`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComboView {
    pub id: String,
    /// Gifts in the combo so far, this send's included.
    pub count: u32,
}

/// What a gift or tip did (the answer of `send-gift` and `tip`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentReceipt {
    /// The payment (its ledger entries' id).
    pub id: String,
    pub session_id: SessionId,
    pub sender_id: UserId,
    pub recipient_id: UserId,
    /// Coins taken from the sender's balance.
    pub coins: u64,
    /// How they split: the recipient's earnings and the platform's share.
    pub split: Split,
    /// The gift (gifts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift: Option<Gift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// The tip's message (tips only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The gift's combo after this send (absent on tips, and on a replay whose first answer was
    /// lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combo: Option<ComboView>,
    pub created_at: Timestamp,
}

/// `GET /live/gifts`: the catalogue.
pub async fn catalogue(fx: &Effects) -> ApiResult<Catalogue> {
    Ok(Catalogue {
        gifts: fx.tunables.economy.gifts.clone(),
        revenue_share_percent: fx.tunables.economy.revenue_share_percent,
    })
}

/// `GET /live/wallet`: the caller's own wallet (zero before its first movement).
pub async fn wallet(fx: &Effects, user: &User) -> ApiResult<Wallet> {
    Ok(fx
        .store
        .wallet(&user.id)
        .await?
        .unwrap_or_else(|| Wallet::empty(user.id.clone())))
}

/// `GET /live/wallet/ledger`: the caller's own movements, newest first.
pub async fn ledger(fx: &Effects, user: &User, page: PageRequest) -> ApiResult<LedgerPage> {
    let listing = fx.store.ledger_page(&user.id, &page).await?;
    Ok(LedgerPage {
        entries: listing.items,
        next_cursor: listing.next_cursor,
    })
}

/// `POST /live/wallet/credit` (server tokens only, checked by the extractor): adds coins bought
/// through the embedding app; a `reference` credits once.
pub async fn credit(fx: &Effects, req: CreditRequest) -> ApiResult<CreditReceipt> {
    if !CREDIT_COINS.contains(&req.coins) {
        return Err(ApiError::validation(
            "coins",
            "must be an integer between 1 and 1000000",
        ));
    }
    let reference = req.reference.trim();
    let visible = reference.bytes().all(|b| b.is_ascii_graphic());
    if reference.is_empty() || reference.len() > REFERENCE_MAX_BYTES || !visible {
        return Err(ApiError::validation(
            "reference",
            format!("must be 1 to {REFERENCE_MAX_BYTES} visible ASCII characters"),
        ));
    }
    let entry = LedgerEntry {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: req.user_id.clone(),
        kind: EntryKind::Credit,
        balance_change: i64::try_from(req.coins).map_err(ApiError::internal)?,
        earnings_change: 0,
        platform_share: None,
        counterparty_id: None,
        session_id: None,
        gift_id: None,
        quantity: None,
        reference: Some(reference.to_string()),
        message: None,
        created_at: Timestamp::now(),
    };
    match fx.store.credit(&entry, reference).await? {
        None => Ok(CreditReceipt {
            user_id: req.user_id,
            coins: req.coins,
            reference: reference.to_string(),
            entry_id: entry.id,
            credited: true,
        }),
        Some(earlier) if earlier.user_id == req.user_id && earlier.coins == req.coins => Ok(CreditReceipt {
            user_id: earlier.user_id,
            coins: earlier.coins,
            reference: reference.to_string(),
            entry_id: earlier.entry_id,
            credited: false,
        }),
        Some(_) => Err(ApiError::conflict(
            "reference-used",
            "this reference was credited with another user or amount",
        )),
    }
}

/// What a payment is for.
enum Paying {
    Gift { gift: Gift, quantity: u32 },
    Tip { coins: u64, message: Option<String> },
}

/// `POST /live/send-gift`: `quantity` of a catalogue gift to the host (or a guest or cohost on
/// stage) of a live session that takes gifts.
pub async fn send_gift(fx: &Effects, user: &User, key: IdempotencyKey, req: SendGift) -> ApiResult<PaymentReceipt> {
    if !GIFT_QUANTITY.contains(&req.quantity) {
        return Err(ApiError::validation("quantity", "must be an integer between 1 and 99"));
    }
    let gift = fx
        .tunables
        .economy
        .gift(&req.gift_id)
        .cloned()
        .ok_or_else(|| ApiError::validation("gift_id", "is not a gift of the catalogue (GET /live/gifts)"))?;
    let request = serde_json::to_string(&req).map_err(ApiError::internal)?;
    let paying = Paying::Gift {
        gift,
        quantity: req.quantity,
    };
    pay(fx, user, key, req.session_id, req.recipient_id, paying, request).await
}

/// `POST /live/tip`: coins straight to the host (or a guest or cohost on stage), with an
/// optional message, by the rules of a gift.
pub async fn tip(fx: &Effects, user: &User, key: IdempotencyKey, req: Tip) -> ApiResult<PaymentReceipt> {
    if !TIP_COINS.contains(&req.coins) {
        return Err(ApiError::validation(
            "coins",
            "must be an integer between 1 and 1000000",
        ));
    }
    let message = match req
        .message
        .as_deref()
        .map(|m| m.nfc().collect::<String>().trim().to_string())
    {
        Some(m) if !m.is_empty() => {
            check_text("message", &m, TIP_MESSAGE_MAX_CHARS, false)?;
            Some(m)
        }
        _ => None,
    };
    let request = serde_json::to_string(&req).map_err(ApiError::internal)?;
    let paying = Paying::Tip {
        coins: req.coins,
        message,
    };
    pay(fx, user, key, req.session_id, req.recipient_id, paying, request).await
}

/// A payment in a session: checks what can be told before the transaction (the session, the
/// sender's presence, the recipient), then pays; the transaction holds every rule again.
async fn pay(
    fx: &Effects,
    user: &User,
    key: IdempotencyKey,
    session_id: SessionId,
    recipient_id: Option<UserId>,
    paying: Paying,
    request: String,
) -> ApiResult<PaymentReceipt> {
    let (session, _) = access::admit_present(fx, &session_id, &user.id, Need::MEMBER).await?;
    if !session.settings.enable_gifts {
        return Err(ApiError::Forbidden(
            "gifts and tips are turned off in this session".into(),
        ));
    }
    if let Paying::Tip { message: Some(m), .. } = &paying {
        // A tip's message is shown in the chat: the chat's blocked words hold for it too.
        check_blocked("message", m, &session.settings.blocked_words)?;
    }
    let recipient = recipient_id.unwrap_or_else(|| session.host_id.clone());
    if recipient == user.id {
        return Err(ApiError::validation(
            "recipient_id",
            "you cannot send gifts or tips to yourself",
        ));
    }
    let coins = match &paying {
        Paying::Gift { gift, quantity } => gift.price * u64::from(*quantity),
        Paying::Tip { coins, .. } => *coins,
    };
    let split = fx.tunables.economy.split(coins);
    // Stamped: the payment's id is also its chat line's, found by id alone (P39).
    let (id, created_at) = stamped_id(fx.clock.now());
    let (gift, quantity, message) = match &paying {
        Paying::Gift { gift, quantity } => (Some(gift.clone()), Some(*quantity), None),
        Paying::Tip { message, .. } => (None, None, message.clone()),
    };
    let (sent, received, revenue) = match paying {
        Paying::Gift { .. } => (EntryKind::GiftSent, EntryKind::GiftReceived, "gift_revenue"),
        Paying::Tip { .. } => (EntryKind::TipSent, EntryKind::TipReceived, "tip_revenue"),
    };
    let (mut sender_entry, mut recipient_entry) = Transfer {
        id: &id,
        payer: &user.id,
        payee: &recipient,
        sent,
        received,
        split,
        session_id,
        created_at,
    }
    .entries();
    for e in [&mut sender_entry, &mut recipient_entry] {
        e.gift_id = gift.as_ref().map(|g| g.id.clone());
        e.quantity = quantity;
        e.message = message.clone();
    }
    let receipt = PaymentReceipt {
        id: id.clone(),
        session_id,
        sender_id: user.id.clone(),
        recipient_id: recipient.clone(),
        coins,
        split,
        gift: gift.clone(),
        quantity,
        message: message.clone(),
        combo: None,
        created_at,
    };
    let kept = serde_json::to_string(&receipt).map_err(ApiError::internal)?;
    let paid = fx
        .store
        .pay(&Payment {
            session_id: &session_id,
            sender: &user.id,
            sender_name: &user.username,
            recipient: &recipient,
            revenue,
            coins,
            gifts: quantity.unwrap_or(0),
            sender_entry: &sender_entry,
            recipient_entry: &recipient_entry,
            key: &key,
            request: &request,
            receipt: &kept,
            now_s: created_at.unix_millis() / 1000,
        })
        .await?;
    match paid {
        Paid::Now => Ok(narrate(fx, user, receipt).await),
        Paid::Before(earlier) => replay(earlier, &request),
    }
}

/// The answer to a payment made before under the same key: its receipt, or `422` when the key
/// paid for another request.
fn replay<T: serde::de::DeserializeOwned>(earlier: Earlier, request: &str) -> ApiResult<T> {
    if earlier.request != request {
        return Err(ApiError::idempotency_key_reused());
    }
    serde_json::from_str(&earlier.receipt).map_err(ApiError::internal)
}

/// Tells the session of a payment that was made: the gift's combo, a `gift` chat line (one per
/// combo, its count kept current) and `gift.sent` / `tip.sent`. Failures are logged: the
/// payment stands.
async fn narrate(fx: &Effects, user: &User, mut receipt: PaymentReceipt) -> PaymentReceipt {
    let session_id = receipt.session_id;
    let now_ms = receipt.created_at.unix_millis();
    if let (Some(gift), Some(quantity)) = (receipt.gift.clone(), receipt.quantity) {
        let send = ComboSend {
            session_id: &session_id,
            user_id: &user.id,
            gift_id: &gift.id,
            quantity,
            at_ms: now_ms,
            window_ms: COMBO_WINDOW_MS,
            new_id: &receipt.id,
        };
        let combo = fx.store.extend_combo(&send).await;
        match combo {
            Ok(combo) => {
                if combo.began {
                    let text = format!("sent {} {}", gift.name, gift.emoji);
                    let metadata =
                        json!({"gift_id": gift.id, "combo_id": combo.id, "recipient_id": receipt.recipient_id});
                    chat_line(fx, user, &receipt, text, metadata).await;
                }
                receipt.combo = Some(ComboView {
                    id: combo.id,
                    count: combo.count,
                });
            }
            Err(e) => tracing::warn!(error = %e, %session_id, "gift combo not counted"),
        }
    } else {
        let text = match &receipt.message {
            Some(m) => format!("tipped {} coins: {m}", receipt.coins),
            None => format!("tipped {} coins", receipt.coins),
        };
        let metadata = json!({"tip": receipt.coins, "recipient_id": receipt.recipient_id});
        chat_line(fx, user, &receipt, text, metadata).await;
    }
    let event = if receipt.gift.is_some() {
        kind::GIFT_SENT
    } else {
        kind::TIP_SENT
    };
    let mut data = serde_json::to_value(&receipt).unwrap_or_default();
    data["sender"] = json!({"user_id": user.id, "username": user.username, "avatar_url": user.avatar_url});
    events::publish(fx, Audience::Session, event, &session_id, data).await;
    receipt
}

/// The chat line of a gift combo or a tip: a `gift` message by the sender.
async fn chat_line(fx: &Effects, user: &User, receipt: &PaymentReceipt, text: String, metadata: serde_json::Value) {
    let message = ChatMessage {
        id: receipt.id.clone(),
        session_id: receipt.session_id,
        user_id: Some(user.id.clone()),
        username: Some(user.username.clone()),
        avatar_url: user.avatar_url.clone(),
        message: text,
        message_type: MessageType::Gift,
        metadata: Some(metadata),
        created_at: receipt.created_at,
    };
    if let Err(e) = fx.store.put_chat_message(&message, None).await {
        tracing::warn!(error = %e, session_id = %receipt.session_id, "gift message not stored");
        return;
    }
    let data = serde_json::to_value(&message).unwrap_or_default();
    events::publish(fx, Audience::Session, kind::CHAT_MESSAGE, &receipt.session_id, data).await;
}

/// `POST /live/buy-ticket` answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketReceipt {
    /// The purchase (its ledger entries' id).
    pub id: String,
    pub session_id: SessionId,
    pub user_id: UserId,
    /// Coins taken from the buyer's balance (0 when the ticket was held already).
    pub price: u64,
    /// How they split: the host's earnings and the platform's share.
    pub split: Split,
    /// `false`: the caller held a ticket already, and nothing moved.
    pub bought: bool,
    pub created_at: Timestamp,
}

/// `POST /live/buy-ticket`: a ticket to a live paid session, bought once (the host's earnings
/// take their share); a ticket held already is answered with `bought: false` and costs nothing.
pub async fn buy_ticket(fx: &Effects, user: &User, key: IdempotencyKey, req: SessionRef) -> ApiResult<TicketReceipt> {
    let session = access::existing_session(fx, &req.session_id).await?;
    if session.status != SessionStatus::Live {
        return Err(ApiError::session_ended());
    }
    let (Access::Paid, Some(price)) = (session.settings.access, session.settings.ticket_price) else {
        return Err(ApiError::conflict(
            "no-ticket-needed",
            "this live session is free to join",
        ));
    };
    if user.id == session.host_id {
        return Err(ApiError::conflict("no-ticket-needed", "the host needs no ticket"));
    }
    let request = serde_json::to_string(&json!({"buy-ticket": req.session_id})).map_err(ApiError::internal)?;
    let split = fx.tunables.economy.split(price);
    let (id, created_at) = stamped_id(fx.clock.now());
    let (buyer_entry, host_entry) = Transfer {
        id: &id,
        payer: &user.id,
        payee: &session.host_id,
        sent: EntryKind::TicketBought,
        received: EntryKind::TicketSold,
        split,
        session_id: session.id,
        created_at,
    }
    .entries();
    let receipt = TicketReceipt {
        id: id.clone(),
        session_id: session.id,
        user_id: user.id.clone(),
        price,
        split,
        bought: true,
        created_at,
    };
    let kept = serde_json::to_string(&receipt).map_err(ApiError::internal)?;
    let sale = TicketSale {
        session_id: &session.id,
        buyer: &user.id,
        host: &session.host_id,
        price,
        buyer_entry: &buyer_entry,
        host_entry: &host_entry,
        key: &key,
        request: &request,
        receipt: &kept,
        now_s: created_at.unix_millis() / 1000,
    };
    match fx.store.buy_ticket(&sale).await? {
        Ticketed::Bought => Ok(receipt),
        Ticketed::Held => Ok(TicketReceipt {
            price: 0,
            split: Split {
                recipient: 0,
                platform: 0,
            },
            bought: false,
            ..receipt
        }),
        Ticketed::Before(earlier) => replay(earlier, &request),
    }
}
