//! The audience economy's vocabulary: coins, the gift catalogue, wallets and their ledger entries,
//! and how a payment splits between its recipient and the platform. No IO.
//!
//! Coins are integers everywhere (`u64` amounts, `i64` signed movements): nothing rounds except
//! the revenue share, which rounds the recipient's part down, so that the platform's part is the
//! exact remainder and every payment reconciles to the coin.

use serde::{Deserialize, Serialize};

use super::ids::{SessionId, UserId};
use super::time::Timestamp;

/// Gifts of one kind in one `send-gift`.
pub const GIFT_QUANTITY: std::ops::RangeInclusive<u32> = 1..=99;
/// Coins one `POST /live/wallet/credit` may add.
pub const CREDIT_COINS: std::ops::RangeInclusive<u64> = 1..=1_000_000;
/// Coins one tip may carry.
pub const TIP_COINS: std::ops::RangeInclusive<u64> = 1..=1_000_000;
/// Coins a paid session's ticket may cost.
pub const TICKET_PRICE: std::ops::RangeInclusive<u64> = 1..=1_000_000;
/// A tip's message, in characters.
pub const TIP_MESSAGE_MAX_CHARS: usize = 200;
/// A credit's `reference` (the embedding app's payment id), in bytes of visible ASCII.
pub const REFERENCE_MAX_BYTES: usize = 128;
/// Top gifters shown with a session.
pub const TOP_GIFTERS: i32 = 10;
/// Sends of the same gift by the same sender within this long of the last one extend its combo.
pub const COMBO_WINDOW_MS: i64 = 5_000;

/// One gift of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gift {
    /// Stable id clients send (`rose`).
    pub id: String,
    pub name: String,
    pub emoji: String,
    /// Coins per gift.
    pub price: u64,
}

/// The gift catalogue and the revenue share (`GIFT_CATALOGUE_JSON`, `REVENUE_SHARE_PERCENT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Economy {
    pub gifts: Vec<Gift>,
    /// The recipient's share of every gift, tip and ticket, in percent (0..=100, default 70); the
    /// rest is the platform's.
    pub revenue_share_percent: u8,
}

impl Default for Economy {
    fn default() -> Self {
        let gift = |id: &str, name: &str, emoji: &str, price| Gift {
            id: id.into(),
            name: name.into(),
            emoji: emoji.into(),
            price,
        };
        Economy {
            gifts: vec![
                gift("rose", "Rose", "🌹", 1),
                gift("heart", "Heart", "❤️", 5),
                gift("ice-cream", "Ice cream", "🍦", 10),
                gift("star", "Star", "⭐", 50),
                gift("crown", "Crown", "👑", 100),
                gift("rocket", "Rocket", "🚀", 500),
                gift("castle", "Castle", "🏰", 1_000),
                gift("planet", "Planet", "🪐", 5_000),
                gift("universe", "Universe", "🌌", 10_000),
            ],
            revenue_share_percent: 70,
        }
    }
}

impl Economy {
    /// A catalogue from its JSON configuration: an array of gifts, each id unique (lowercase
    /// letters, digits and `-`, at most 32), a name, an emoji and a price of 1..=1,000,000 coins.
    pub fn parse_catalogue(json: &str) -> Result<Vec<Gift>, String> {
        let gifts: Vec<Gift> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if gifts.is_empty() {
            return Err("the catalogue has no gifts".into());
        }
        for (i, g) in gifts.iter().enumerate() {
            let id_ok = !g.id.is_empty()
                && g.id.len() <= 32
                && g.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                return Err(format!("gift {i}: id must be 1..=32 of a-z, 0-9 and -"));
            }
            if gifts[..i].iter().any(|o| o.id == g.id) {
                return Err(format!("gift {i}: id {} is used twice", g.id));
            }
            if g.name.trim().is_empty() || g.emoji.trim().is_empty() {
                return Err(format!("gift {}: name and emoji are required", g.id));
            }
            if !(1..=1_000_000).contains(&g.price) {
                return Err(format!("gift {}: price must be 1..=1000000 coins", g.id));
            }
        }
        Ok(gifts)
    }

    pub fn gift(&self, id: &str) -> Option<&Gift> {
        self.gifts.iter().find(|g| g.id == id)
    }

    /// How `coins` paid split: the recipient's earnings and the platform's remainder.
    pub fn split(&self, coins: u64) -> Split {
        let recipient = coins * u64::from(self.revenue_share_percent) / 100;
        Split {
            recipient,
            platform: coins - recipient,
        }
    }
}

/// A payment's split: `recipient + platform` is the amount paid, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Split {
    pub recipient: u64,
    pub platform: u64,
}

/// A user's wallet (`WALLET#<user>` / `WALLET`); a user without one has nothing yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Wallet {
    pub user_id: UserId,
    /// Coins to spend.
    #[serde(default)]
    pub balance: u64,
    /// Coins earned as a host or guest (gifts, tips, tickets), after the platform's share.
    #[serde(default)]
    pub earnings: u64,
}

impl Wallet {
    /// The wallet of a user who has had no movement yet.
    pub fn empty(user_id: UserId) -> Wallet {
        Wallet {
            user_id,
            balance: 0,
            earnings: 0,
        }
    }
}

/// What moved money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Coins bought through the embedding app (`POST /live/wallet/credit`).
    Credit,
    GiftSent,
    GiftReceived,
    TipSent,
    TipReceived,
    TicketBought,
    TicketSold,
}

/// One movement of one wallet (`WALLET#<user>` / `LEDGER#<at>#<id>`). A wallet's `balance` is
/// the sum of its entries' `balance_change`, its `earnings` the sum of their `earnings_change`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    pub id: String,
    pub user_id: UserId,
    pub kind: EntryKind,
    /// Coins added to (positive) or taken from (negative) the balance.
    pub balance_change: i64,
    /// Coins added to the earnings.
    pub earnings_change: i64,
    /// The platform's share of the payment this entry received (on `*_received` entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_share: Option<u64>,
    /// The other side of a gift or tip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// The embedding app's payment id (credits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub created_at: Timestamp,
}

/// One payment between two wallets in a session: the payer's balance falls by the price, the
/// payee's earnings rise by their share, and the platform's share is named on the payee's entry.
pub struct Transfer<'a> {
    /// The payment's id (both entries').
    pub id: &'a str,
    pub payer: &'a UserId,
    pub payee: &'a UserId,
    pub sent: EntryKind,
    pub received: EntryKind,
    pub split: Split,
    pub session_id: SessionId,
    pub created_at: Timestamp,
}

impl Transfer<'_> {
    /// The payer's entry and the payee's; what else they name (a gift, a message) is the
    /// caller's to add.
    pub fn entries(&self) -> (LedgerEntry, LedgerEntry) {
        // Prices are bounded far below i64::MAX (a million coins times 99 at most).
        let signed = |coins: u64| i64::try_from(coins).unwrap_or(i64::MAX);
        let entry = |user_id: &UserId, kind, other: &UserId| LedgerEntry {
            id: self.id.to_string(),
            user_id: user_id.clone(),
            kind,
            balance_change: 0,
            earnings_change: 0,
            platform_share: None,
            counterparty_id: Some(other.clone()),
            session_id: Some(self.session_id),
            gift_id: None,
            quantity: None,
            reference: None,
            message: None,
            created_at: self.created_at,
        };
        let paid = self.split.recipient + self.split.platform;
        (
            LedgerEntry {
                balance_change: -signed(paid),
                ..entry(self.payer, self.sent, self.payee)
            },
            LedgerEntry {
                earnings_change: signed(self.split.recipient),
                platform_share: Some(self.split.platform),
                ..entry(self.payee, self.received, self.payer)
            },
        )
    }
}

/// One of a session's top gifters: coins given in gifts and tips in the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gifter {
    pub user_id: UserId,
    pub username: String,
    pub coins: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_reconciles_to_the_coin() {
        let e = Economy::default();
        for coins in [0, 1, 2, 3, 7, 99, 100, 10_001, 989_999] {
            let s = e.split(coins);
            assert_eq!(s.recipient + s.platform, coins);
            assert_eq!(s.recipient, coins * 70 / 100);
        }
        let all = Economy {
            revenue_share_percent: 100,
            ..Economy::default()
        };
        assert_eq!(
            all.split(13),
            Split {
                recipient: 13,
                platform: 0
            }
        );
    }

    #[test]
    fn the_catalogue_is_checked() {
        let json = serde_json::to_string(&Economy::default().gifts).unwrap();
        assert_eq!(Economy::parse_catalogue(&json).unwrap(), Economy::default().gifts);
        let bad = [
            "[]",
            r#"[{"id":"Rose","name":"Rose","emoji":"🌹","price":1}]"#,
            r#"[{"id":"rose","name":"Rose","emoji":"🌹","price":0}]"#,
            r#"[{"id":"rose","name":"","emoji":"🌹","price":1}]"#,
            r#"[{"id":"rose","name":"Rose","emoji":"🌹","price":1},{"id":"rose","name":"R","emoji":"🌹","price":2}]"#,
        ];
        for b in bad {
            assert!(Economy::parse_catalogue(b).is_err(), "{b}");
        }
    }
}
