//! `dev-token USER [TTL_SECONDS]`: prints a user JWT signed with `JWT_SECRET` (HS256), for local
//! runs only (`make token USER=alice`); `dev-token --service NAME`: a server token (the claim that
//! lets the embedding app's backend credit wallets, `make token SERVICE=billing`). Adds `iss`/`aud` when `JWT_ISSUER`/`JWT_AUDIENCE` are set,
//! so tokens pass the same checks the functions apply. The browser client's dev sign-in
//! (`POST /dev/token`) mints the same tokens.

use local_gateway::web::{DevSigner, DEV_TOKEN_TTL_SECONDS};

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let service = args.next_if(|a| a == "--service").is_some();
    let Some(user) = args.next().filter(|u| !u.trim().is_empty()) else {
        eprintln!("usage: dev-token [--service] USER [TTL_SECONDS]");
        std::process::exit(2);
    };
    let ttl: u64 = args
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(DEV_TOKEN_TTL_SECONDS);
    let Some(signer) = DevSigner::from_env() else {
        eprintln!("dev-token: JWT_SECRET is not set (make dev sets a local default)");
        std::process::exit(2);
    };
    if service {
        println!("{}", signer.sign_service(&user, ttl));
    } else {
        println!("{}", signer.sign(&user, ttl));
    }
}
