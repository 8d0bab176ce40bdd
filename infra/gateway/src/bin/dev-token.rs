//! `dev-token USER [TTL_SECONDS]`: prints a user JWT signed with `JWT_SECRET` (HS256), for local
//! runs only (`make token USER=alice`). Adds `iss`/`aud` when `JWT_ISSUER`/`JWT_AUDIENCE` are set,
//! so tokens pass the same checks the functions apply.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(user) = args.next().filter(|u| !u.trim().is_empty()) else {
        eprintln!("usage: dev-token USER [TTL_SECONDS]");
        std::process::exit(2);
    };
    let ttl: u64 = args.next().and_then(|t| t.parse().ok()).unwrap_or(12 * 3600);
    let Ok(secret) = std::env::var("JWT_SECRET") else {
        eprintln!("dev-token: JWT_SECRET is not set (make dev sets a local default)");
        std::process::exit(2);
    };
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = json!({"sub": user, "username": user, "iat": now, "exp": now + ttl});
    for (var, claim) in [("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud")] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                claims[claim] = json!(v);
            }
        }
    }
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing with a byte secret cannot fail");
    println!("{token}");
}
