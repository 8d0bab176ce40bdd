//! End-to-end: the audience economy over real HTTP against moto — credits from a server token,
//! gifts and tips in one transaction each, their idempotency (also after the key's record is
//! gone), every refusal moving nothing, and ledgers that reconcile to the coin.

use std::collections::HashMap;

use e2e::{now, sign, test_config, token, Env, JWT_SECRET};
use futures::future::join_all;
use serde_json::{json, Value};

/// A server token of the embedding app's backend (`role: service_role`).
fn server_token() -> String {
    sign(
        json!({"sub": "billing", "exp": now() + 3600, "role": "service_role"}),
        JWT_SECRET,
    )
}

async fn credit(env: &Env, user: &str, coins: u64, reference: &str) -> e2e::Reply {
    let body = json!({"user_id": user, "coins": coins, "reference": reference});
    env.post_keyed(
        "/live/wallet/credit",
        server_token(),
        Some(body),
        &format!("credit-{reference}"),
    )
    .await
}

async fn gift(env: &Env, user: &str, key: &str, body: Value) -> e2e::Reply {
    env.post_keyed("/live/send-gift", token(user), Some(body), key).await
}

async fn wallet(env: &Env, user: &str) -> (i64, i64) {
    let r = env.get("/live/wallet", Some(&token(user))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["balance"].as_i64().unwrap(),
        r.body["earnings"].as_i64().unwrap(),
    )
}

/// Every ledger entry of `user` (all pages, newest first).
async fn ledger(env: &Env, user: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(b) => format!("/live/wallet/ledger?limit=7&before={b}"),
            None => "/live/wallet/ledger?limit=7".to_string(),
        };
        let r = env.get(&path, Some(&token(user))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        entries.extend(r.body["entries"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => before = Some(c.to_string()),
            None => return entries,
        }
    }
}

/// The wallet of `user` equals the sums of its ledger, exactly; the sums.
async fn reconciled(env: &Env, user: &str) -> (i64, i64) {
    let entries = ledger(env, user).await;
    let sum = |field: &str| entries.iter().map(|e| e[field].as_i64().unwrap()).sum::<i64>();
    let (balance, earnings) = wallet(env, user).await;
    assert_eq!(
        (sum("balance_change"), sum("earnings_change")),
        (balance, earnings),
        "{user}'s ledger"
    );
    (balance, earnings)
}

async fn detail(env: &Env, id: &str) -> Value {
    env.get(&format!("/live/session/{id}"), None).await.body
}

#[tokio::test]
async fn credits_come_from_server_tokens_once_per_reference() {
    let env = Env::start().await;
    let r = credit(&env, "bob", 25, "pay-1").await;
    assert_eq!((r.status, r.body["credited"].clone()), (200, json!(true)), "{}", r.body);
    // The same payment again (another key): credited once.
    let body = json!({"user_id": "bob", "coins": 25, "reference": "pay-1"});
    let again = env
        .post_keyed("/live/wallet/credit", server_token(), Some(body), "another-key")
        .await;
    assert_eq!((again.status, again.body["credited"].clone()), (200, json!(false)));
    assert_eq!(again.body["entry_id"], r.body["entry_id"]);
    // The reference with another amount: refused.
    let other = json!({"user_id": "bob", "coins": 26, "reference": "pay-1"});
    let r = env
        .post_keyed("/live/wallet/credit", server_token(), Some(other), "k3")
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (409, json!("reference-used")));
    // An ordinary user's token, however valid: 403; no key: 400; bad coins: 400.
    let body = json!({"user_id": "bob", "coins": 1000, "reference": "pay-2"});
    let r = env
        .post_keyed("/live/wallet/credit", token("bob"), Some(body.clone()), "k4")
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = env.post("/live/wallet/credit", server_token(), body).await;
    assert_eq!((r.status, r.body["field"].clone()), (400, json!("Idempotency-Key")));
    for coins in [0, 1_000_001] {
        let bad = json!({"user_id": "bob", "coins": coins, "reference": "pay-3"});
        let r = env
            .post_keyed("/live/wallet/credit", server_token(), Some(bad), &format!("k{coins}"))
            .await;
        assert_eq!((r.status, r.body["field"].clone()), (400, json!("coins")));
    }
    assert_eq!(reconciled(&env, "bob").await, (25, 0));
    assert_eq!(ledger(&env, "bob").await[0]["reference"], "pay-1");
}

#[tokio::test]
async fn a_gift_pays_once_and_every_refusal_moves_nothing() {
    let env = Env::start().await;
    let id = env.live_with_viewers("alice", json!({}), &["bob", "carol"]).await;
    assert_eq!(credit(&env, "bob", 10, "pay-bob").await.status, 200);

    // Two gifts at once that the balance covers once: exactly one is paid.
    let heart = |key: &'static str| {
        gift(
            &env,
            "bob",
            key,
            json!({"session_id": id, "gift_id": "heart", "quantity": 2}),
        )
    };
    let (a, b) = futures::join!(heart("g1"), heart("g2"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 402], "{} {}", a.body, b.body);
    let (paid, refused, key) = if a.status == 200 { (a, b, "g1") } else { (b, a, "g2") };
    assert_eq!(
        (
            refused.body["code"].clone(),
            refused.body["balance"].clone(),
            refused.body["needed"].clone()
        ),
        (json!("insufficient-coins"), json!(0), json!(10)),
        "{}",
        refused.body
    );
    assert_eq!(paid.body["recipient_id"], "alice");
    assert_eq!(paid.body["split"], json!({"recipient": 7, "platform": 3}));
    assert_eq!(paid.body["combo"]["count"], 2);
    assert_eq!(reconciled(&env, "bob").await, (0, 0));
    assert_eq!(reconciled(&env, "alice").await, (0, 7));
    let received = &ledger(&env, "alice").await[0];
    assert_eq!(
        (received["kind"].clone(), received["platform_share"].clone()),
        (json!("gift_received"), json!(3))
    );
    let d = detail(&env, &id).await;
    assert_eq!(d["gift_revenue"], 10);
    assert_eq!(
        d["top_gifters"],
        json!([{"user_id": "bob", "username": "bob-name", "coins": 10}])
    );

    // A retry with the paid key replays; with another body it is refused.
    let replay = gift(
        &env,
        "bob",
        key,
        json!({"session_id": id, "gift_id": "heart", "quantity": 2}),
    )
    .await;
    assert_eq!(
        (replay.status, replay.header("idempotent-replayed")),
        (200, Some("true"))
    );
    assert_eq!(replay.body["id"], paid.body["id"]);
    let other = gift(
        &env,
        "bob",
        key,
        json!({"session_id": id, "gift_id": "heart", "quantity": 1}),
    )
    .await;
    assert_eq!(
        (other.status, other.body["code"].clone()),
        (422, json!("idempotency-key-reused"))
    );

    // The key's record lost (expired, or the answer never kept): the payment's own record still
    // answers, and nothing is paid twice.
    assert_eq!(credit(&env, "bob", 100, "pay-bob-2").await.status, 200);
    let first = gift(
        &env,
        "bob",
        "lost",
        json!({"session_id": id, "gift_id": "rose", "quantity": 1}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    env.app
        .fx
        .store
        .client()
        .delete_item()
        .table_name(env.app.fx.store.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("IDEM#bob#lost".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("IDEM".into()))
        .send()
        .await
        .unwrap();
    let again = gift(
        &env,
        "bob",
        "lost",
        json!({"session_id": id, "gift_id": "rose", "quantity": 1}),
    )
    .await;
    assert_eq!(
        (again.status, again.body["id"].clone()),
        (200, first.body["id"].clone()),
        "{}",
        again.body
    );
    assert_eq!(reconciled(&env, "bob").await, (99, 0));

    // Refusals: each a problem, none moves a coin.
    let cases = [
        (
            "alice",
            json!({"session_id": id, "gift_id": "rose", "quantity": 1}),
            400,
            "recipient_id",
        ),
        (
            "bob",
            json!({"session_id": id, "gift_id": "rose", "quantity": 1, "recipient_id": "bob"}),
            400,
            "recipient_id",
        ),
        (
            "bob",
            json!({"session_id": id, "gift_id": "rose", "quantity": 0}),
            400,
            "quantity",
        ),
        (
            "bob",
            json!({"session_id": id, "gift_id": "rose", "quantity": 100}),
            400,
            "quantity",
        ),
        (
            "bob",
            json!({"session_id": id, "gift_id": "dragon", "quantity": 1}),
            400,
            "gift_id",
        ),
    ];
    for (i, (user, body, status, field)) in cases.into_iter().enumerate() {
        let r = gift(&env, user, &format!("bad-{i}"), body).await;
        assert_eq!(
            (r.status, r.body["field"].clone()),
            (status, json!(field)),
            "{}",
            r.body
        );
    }
    let r = gift(
        &env,
        "bob",
        "to-viewer",
        json!({"session_id": id, "gift_id": "rose", "quantity": 1, "recipient_id": "carol"}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (409, json!("recipient-not-on-stage"))
    );
    let r = gift(
        &env,
        "dave",
        "not-present",
        json!({"session_id": id, "gift_id": "rose", "quantity": 1}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = env
        .post(
            "/live/send-gift",
            token("bob"),
            json!({"session_id": id, "gift_id": "rose", "quantity": 1}),
        )
        .await;
    assert_eq!((r.status, r.body["field"].clone()), (400, json!("Idempotency-Key")));

    // Gifts turned off, and an ended session.
    let quiet = env
        .live_with_viewers("erin", json!({"enable_gifts": false}), &["bob"])
        .await;
    let r = gift(
        &env,
        "bob",
        "quiet",
        json!({"session_id": quiet, "gift_id": "rose", "quantity": 1}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Ended (without an SFU here, the room's deletion is what answers 502: the end stands).
    let end = env.post(&format!("/live/end/{id}"), token("alice"), json!({})).await;
    assert!(matches!(end.status, 200 | 502), "{}", end.body);
    assert_eq!(detail(&env, &id).await["status"], "ended");
    let r = gift(
        &env,
        "bob",
        "ended",
        json!({"session_id": id, "gift_id": "rose", "quantity": 1}),
    )
    .await;
    assert_eq!((r.status, r.body["code"].clone()), (409, json!("session-ended")));

    assert_eq!(reconciled(&env, "bob").await, (99, 0));
    assert_eq!(reconciled(&env, "alice").await, (0, 7));
    assert_eq!(detail(&env, &id).await["gift_revenue"], 11);
}

#[tokio::test]
async fn two_hundred_gifts_from_twenty_wallets_reconcile_to_the_coin() {
    // All 200 at once queue behind one another at the emulator (one request at a time): a
    // function timeout that leaves them room, as a real table would not need.
    let config = test_config("trendke-live", "http://127.0.0.1:9");
    let env = Env::start_with_timeout(config, std::time::Duration::from_secs(60)).await;
    let viewers: Vec<String> = (0..20).map(|i| format!("fan{i}")).collect();
    let names: Vec<&str> = viewers.iter().map(String::as_str).collect();
    let id = env.live_with_viewers("star", json!({}), &names).await;
    for (i, v) in viewers.iter().enumerate() {
        // Enough for some of each one's gifts, not all.
        assert_eq!(
            credit(&env, v, 20 + i as u64, &format!("fan-pay-{i}")).await.status,
            200
        );
    }
    let catalogue = ["rose", "heart", "ice-cream"];
    let sends = (0..200).map(|n| {
        let (env, id, user) = (&env, &id, viewers[n % 20].clone());
        let body = json!({"session_id": id, "gift_id": catalogue[n % 3], "quantity": 1 + n % 2});
        async move { (user.clone(), gift(env, &user, &format!("burst-{n}"), body).await) }
    });
    let results = join_all(sends).await;
    let mut paid_by: HashMap<String, i64> = HashMap::new();
    for (user, r) in &results {
        match r.status {
            200 => *paid_by.entry(user.clone()).or_default() += r.body["coins"].as_i64().unwrap(),
            402 => assert_eq!(r.body["code"], "insufficient-coins"),
            s => panic!("{s}: {}", r.body),
        }
    }
    assert!(results.iter().any(|(_, r)| r.status == 402), "some wallets ran dry");
    let debits: i64 = paid_by.values().sum();
    let mut platform = 0;
    for entry in ledger(&env, "star").await {
        platform += entry["platform_share"].as_i64().unwrap_or(0);
    }
    let (_, earned) = reconciled(&env, "star").await;
    assert_eq!(debits, earned + platform, "debits = credits + the platform's share");
    for (i, v) in viewers.iter().enumerate() {
        let (balance, _) = reconciled(&env, v).await;
        assert_eq!(balance, 20 + i as i64 - paid_by.get(v).copied().unwrap_or(0), "{v}");
    }
    let d = detail(&env, &id).await;
    assert_eq!(d["gift_revenue"], debits);
    let top = d["top_gifters"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    let mut expected: Vec<i64> = paid_by.values().copied().collect();
    expected.sort_by(|a, b| b.cmp(a));
    let shown: Vec<i64> = top.iter().map(|g| g["coins"].as_i64().unwrap()).collect();
    assert_eq!(shown, expected[..10].to_vec());
}

#[tokio::test]
async fn tips_and_gifts_reach_the_stage_and_every_socket() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = env
        .live_with_viewers("host", json!({"require_approval": false}), &["guest", "fan"])
        .await;
    let r = env
        .post(
            "/live/request-guest",
            token("guest"),
            json!({"session_id": id, "request_type": "guest"}),
        )
        .await;
    assert_eq!(r.body["status"], "approved", "{}", r.body);
    assert_eq!(credit(&env, "fan", 1_000, "fan-pay").await.status, 200);
    let mut socket = env.connect("host", &id).await.unwrap();

    let to_guest = json!({"session_id": id, "gift_id": "star", "quantity": 1, "recipient_id": "guest"});
    assert_eq!(gift(&env, "fan", "s1", to_guest.clone()).await.status, 200);
    let second = gift(&env, "fan", "s2", to_guest).await;
    assert_eq!(second.body["combo"]["count"], 2, "one combo: {}", second.body);
    let tip = env
        .post_keyed(
            "/live/tip",
            token("fan"),
            Some(json!({"session_id": id, "coins": 40, "message": "encore!"})),
            "t1",
        )
        .await;
    assert_eq!(
        (tip.status, tip.body["recipient_id"].clone()),
        (200, json!("host")),
        "{}",
        tip.body
    );

    let combo = socket
        .until("the combo's second gift", |e| {
            e["type"] == "gift.sent" && e["data"]["combo"]["count"] == 2
        })
        .await;
    assert_eq!(combo["data"]["sender"]["username"], "fan-name");
    socket
        .until("the tip", |e| e["type"] == "tip.sent" && e["data"]["coins"] == 40)
        .await;

    assert_eq!(reconciled(&env, "fan").await, (1_000 - 100 - 40, 0));
    assert_eq!(reconciled(&env, "guest").await, (0, 70));
    assert_eq!(reconciled(&env, "host").await, (0, 28));
    let d = detail(&env, &id).await;
    assert_eq!(
        (d["gift_revenue"].clone(), d["tip_revenue"].clone()),
        (json!(100), json!(40))
    );
    assert_eq!(d["top_gifters"][0]["coins"], 140);
    // One chat line per combo, and the tip's.
    let history = env.get(&format!("/live/messages/{id}"), Some(&token("fan"))).await;
    let gifts: Vec<&Value> = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == "gift")
        .collect();
    assert_eq!(gifts.len(), 2, "{}", history.body);
}

#[tokio::test]
async fn a_paid_session_admits_ticket_holders_only() {
    let env = Env::start().await;
    // A paid session needs its price; a free one has none.
    for (settings, field) in [
        (json!({"access": "paid"}), "ticket_price"),
        (json!({"access": "paid", "ticket_price": 0}), "ticket_price"),
        (json!({"ticket_price": 5}), "ticket_price"),
    ] {
        let mut body = json!({"title": "t"});
        body.as_object_mut()
            .unwrap()
            .extend(settings.as_object().cloned().unwrap());
        let r = env.post("/live/start", token("alice"), body).await;
        assert_eq!((r.status, r.body["field"].clone()), (400, json!(field)), "{}", r.body);
    }
    let id = env
        .start_session("alice", json!({"access": "paid", "ticket_price": 100}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let join = |user: &'static str| env.post("/live/join", token(user), json!({"session_id": id}));
    let buy = |user: &'static str, key: &'static str| {
        env.post_keyed("/live/buy-ticket", token(user), Some(json!({"session_id": id})), key)
    };
    assert_eq!(credit(&env, "bob", 150, "bob-tickets").await.status, 200);

    let r = join("bob").await;
    assert_eq!(
        (r.status, r.body["code"].clone(), r.body["needed"].clone()),
        (402, json!("ticket-required"), json!(100)),
        "{}",
        r.body
    );
    assert!(env.connect("bob", &id).await.is_err(), "no socket without the join");
    let r = buy("carol", "c1").await;
    assert_eq!((r.status, r.body["code"].clone()), (402, json!("insufficient-coins")));

    let bought = buy("bob", "b1").await;
    assert_eq!(
        (
            bought.status,
            bought.body["bought"].clone(),
            bought.body["split"].clone()
        ),
        (200, json!(true), json!({"recipient": 70, "platform": 30})),
        "{}",
        bought.body
    );
    let again = buy("bob", "b2").await;
    assert_eq!(
        (again.status, again.body["bought"].clone(), again.body["price"].clone()),
        (200, json!(false), json!(0))
    );
    let replay = buy("bob", "b1").await;
    assert_eq!(
        (replay.header("idempotent-replayed"), replay.body["id"].clone()),
        (Some("true"), bought.body["id"].clone())
    );

    let r = join("bob").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["access_token"].is_string());
    assert!(env.connect("bob", &id).await.is_ok(), "the ticket holder's socket");
    assert_eq!(join("carol").await.status, 402);

    assert_eq!(reconciled(&env, "bob").await, (50, 0));
    assert_eq!(reconciled(&env, "alice").await, (0, 70));
    assert_eq!(detail(&env, &id).await["ticket_revenue"], 100);
    assert_eq!(detail(&env, &id).await["access"], "paid");

    let free = env.live_with_viewers("dan", json!({}), &[]).await;
    let r = env
        .post_keyed(
            "/live/buy-ticket",
            token("bob"),
            Some(json!({"session_id": free})),
            "f1",
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (409, json!("no-ticket-needed")));
}

#[tokio::test]
async fn a_subscribers_only_session_admits_the_listed_users() {
    let env = Env::start().await;
    let id = env.start_session("alice", json!({"access": "subscribers"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let join = |user: &'static str| env.post("/live/join", token(user), json!({"session_id": id}));
    let path = format!("/live/access/{id}");
    let list = |user: &'static str, ids: Value| {
        let (env, path) = (&env, path.clone());
        async move {
            env.call(
                reqwest::Method::PUT,
                &path,
                Some(&token(user)),
                Some(json!({"user_ids": ids})),
            )
            .await
        }
    };
    assert_eq!(join("carol").await.status, 403);
    let r = list("alice", json!(["carol", "dan", "carol"])).await;
    assert_eq!((r.status, r.body["admitted"].clone()), (200, json!(2)), "{}", r.body);
    assert_eq!(join("carol").await.status, 200);
    assert_eq!(join("erin").await.status, 403);
    // The list is replaced whole: dan stays, carol goes, erin comes.
    assert_eq!(list("alice", json!(["dan", "erin"])).await.status, 200);
    assert_eq!(join("erin").await.status, 200);
    assert_eq!(join("carol").await.status, 403, "carol's subscription ended");
    // Only the host lists; only a subscribers-only session has a list; and it is bounded.
    assert_eq!(list("dan", json!(["dan"])).await.status, 403);
    let too_many: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
    let r = list("alice", json!(too_many)).await;
    assert_eq!((r.status, r.body["field"].clone()), (400, json!("user_ids")));
    let free = env.live_with_viewers("bob", json!({}), &[]).await;
    let r = env
        .call(
            reqwest::Method::PUT,
            &format!("/live/access/{free}"),
            Some(&token("bob")),
            Some(json!({"user_ids": ["dan"]})),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (409, json!("not-subscribers-only")));
}
