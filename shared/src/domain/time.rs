//! Time as we store and show it: [`Timestamp`], RFC 3339 in UTC with always six fractional digits,
//! so that text order is time order (sort keys and GSI keys rely on it); and the epoch clocks of
//! TTLs and rate windows.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// An instant, written `2026-11-25T17:51:51.918492Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    /// The instant `ms` milliseconds after the Unix epoch.
    pub fn from_millis(ms: i64) -> Self {
        let nanos = i128::from(ms) * 1_000_000;
        Self::from(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// Any RFC 3339 text (with any offset and precision); kept to the microsecond.
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::from)
    }

    /// This instant moved by `seconds` (negative: earlier).
    pub fn plus_seconds(&self, seconds: i64) -> Timestamp {
        Timestamp(self.0 + time::Duration::seconds(seconds))
    }

    /// This instant moved by `ms` milliseconds (negative: earlier).
    pub fn plus_millis(&self, ms: i64) -> Timestamp {
        Timestamp(self.0 + time::Duration::milliseconds(ms))
    }

    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Whole seconds from `self` to `later` (0 when `later` is earlier); correct across days.
    pub fn seconds_until(&self, later: &Timestamp) -> i64 {
        (later.0 - self.0).whole_seconds().max(0)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        // Microseconds are all we write: a value keeps its text exactly through a round trip.
        let t = t.to_offset(time::UtcOffset::UTC);
        Timestamp(t.replace_nanosecond(t.microsecond() * 1000).expect("microseconds fit"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
        f.write_str(&self.0.format(&fmt).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(|_| serde::de::Error::custom("must be an RFC 3339 timestamp"))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, UTC, six fractional digits."))
            .examples(["2026-11-25T19:00:00.000000Z"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

/// Milliseconds since the Unix epoch, now (rate and push windows).
pub fn epoch_millis() -> i64 {
    Timestamp::now().unix_millis()
}

/// Seconds since the Unix epoch, now (TTL attributes).
pub fn epoch_seconds() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_round_trips_and_durations_across_days() {
        let t = Timestamp::from(OffsetDateTime::from_unix_timestamp(0).unwrap());
        assert_eq!(t.to_string(), "1970-01-01T00:00:00.000000Z");
        let text = "2026-11-25T17:51:51.918492Z";
        assert_eq!(Timestamp::parse(text).unwrap().to_string(), text);
        let start = Timestamp::parse("2026-01-31T23:59:00.000000Z").unwrap();
        let end = Timestamp::parse("2026-02-02T00:01:30.500000Z").unwrap();
        assert_eq!(start.seconds_until(&end), 86_400 + 150);
        assert_eq!(end.seconds_until(&start), 0);
        let offset = Timestamp::parse("2026-01-01T03:00:00.1234567+03:00").unwrap();
        assert_eq!(offset.to_string(), "2026-01-01T00:00:00.123456Z");
    }
}
