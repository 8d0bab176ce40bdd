//! Timestamps as we store them: RFC 3339, UTC, always six fractional digits, so that text order
//! is time order (sort keys and GSI keys rely on it).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::error::{ApiError, ApiResult};

pub fn format(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .expect("UTC timestamps always format")
}

pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn epoch_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn epoch_seconds() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn parse(s: &str) -> ApiResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| ApiError::internal(format!("stored timestamp {s:?}: {e}")))
}

/// Whole seconds from `start` to `end` (full timestamps, so correct across days and months).
pub fn seconds_between(start: &str, end: &str) -> ApiResult<i64> {
    Ok((parse(end)? - parse(start)?).whole_seconds().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_duration_across_days() {
        let t = OffsetDateTime::from_unix_timestamp(0).unwrap();
        assert_eq!(format(t), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            seconds_between("2026-01-31T23:59:00.000000Z", "2026-02-02T00:01:30.500000Z").unwrap(),
            86_400 + 150
        );
    }
}
