//! Drift: what is written in more than one place says the same thing everywhere. The endpoint
//! table (`shared/src/adapter/endpoints.rs`) is the one definition of the endpoints; the template,
//! the generated documents, `events/`, the README and the data model are checked against it and
//! against the code, and each failure names the place to fix.
//!
//! `UPDATE_DOCS=1 cargo test -p e2e --test drift` rewrites what is generated: `docs/openapi.json`,
//! the README's API table and `events/`.

use std::collections::BTreeSet;

use e2e::repo_root;
use local_gateway::template::{FunctionDef, RouteDef, Template};
use serde_json::Value;
use shared::adapter::docs::{events, openapi, readme};
use shared::adapter::endpoints::Endpoint;
use shared::adapter::table::Route;

/// The one Lambda artifact's binary (`functions/Cargo.toml`).
const ARTIFACT: &str = "trendke-live";

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).unwrap()
}

/// `path` holds `generated` (rewritten under `UPDATE_DOCS`).
fn generated_file(path: &str, generated: &str) {
    let file = repo_root().join(path);
    if updating() {
        std::fs::write(&file, generated).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} is not what the endpoint table generates: run `UPDATE_DOCS=1 cargo test -p e2e --test drift` and commit it"
    );
}

#[test]
fn openapi_document_is_committed_and_current() {
    generated_file("docs/openapi.json", &openapi::document_json(Endpoint::ALL));
}

#[test]
fn every_http_endpoint_is_documented_with_its_errors() {
    let doc: Value = serde_json::from_str(&openapi::document_json(Endpoint::ALL)).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for e in Endpoint::ALL {
        let Route::Http { method, path } = e.route() else {
            continue;
        };
        if *e == Endpoint::Fallback {
            continue;
        }
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} missing");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{path}: no success");
        assert!(responses.keys().any(|s| s.starts_with('4')), "{path}: no error");
        for (status, r) in responses {
            let media = if status.starts_with('2') {
                "application/json"
            } else {
                "application/problem+json"
            };
            let content = &r["content"][media];
            assert!(
                content["example"].is_object() || content["example"].is_array() || content["examples"].is_object(),
                "{path} {status}: no example"
            );
        }
    }
}

/// The README's API table is the endpoint table's: one row per HTTP endpoint, generated.
#[test]
fn readme_api_table_is_the_endpoint_tables() {
    let text = read("README.md");
    let (Some(begin), Some(end)) = (text.find(readme::BEGIN), text.find(readme::END)) else {
        panic!(
            "README.md has no API table between `{}` and `{}`",
            readme::BEGIN,
            readme::END
        );
    };
    let body = &text[begin + readme::BEGIN.len()..end];
    let rows: BTreeSet<(String, String)> = body.lines().filter_map(readme::route_of_row).collect();
    let mut missing = Vec::new();
    for e in Endpoint::ALL {
        if let (Route::Http { method, path }, true) = (e.route(), *e != Endpoint::Fallback) {
            if !rows.contains(&(method.to_string(), path.to_string())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    let generated = format!("{}\n{}{}", readme::BEGIN, readme::api_table(Endpoint::ALL), readme::END);
    if updating() {
        let updated = format!("{}{generated}{}", &text[..begin], &text[end + readme::END.len()..]);
        std::fs::write(repo_root().join("README.md"), updated).unwrap();
        return;
    }
    assert!(missing.is_empty(), "README.md's API table has no row for {missing:?}");
    assert!(
        text[begin..end + readme::END.len()] == generated,
        "README.md's API table is not what the endpoint table generates: run `UPDATE_DOCS=1 cargo test -p e2e --test drift`"
    );
}

/// `events/` holds one event per function, as generated from the table's examples.
#[test]
fn events_are_the_endpoint_tables() {
    let dir = repo_root().join("events");
    let generated = events::all(Endpoint::ALL);
    let names: BTreeSet<String> = generated.iter().map(|(n, _)| format!("{n}.json")).collect();
    for (name, event) in &generated {
        generated_file(&format!("events/{name}.json"), &events::to_file(event));
    }
    let stale: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().to_string())
        .filter(|f| f != "env.json" && !names.contains(f))
        .collect();
    if updating() {
        for f in &stale {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        return;
    }
    assert!(stale.is_empty(), "events/ holds files of no endpoint: {stale:?}");
}

/// Every endpoint is routed in the template by the function that runs it, and every template
/// route has an endpoint.
#[test]
fn template_routes_match_the_table() {
    let t = template();
    let mut http = Vec::new();
    let mut ws = Vec::new();
    let mut schedules = Vec::new();
    let mut queues = Vec::new();
    for e in Endpoint::ALL {
        match e.route() {
            Route::Http { method, path } => http.push(RouteDef {
                method: method.to_string(),
                path: path.to_string(),
                function_id: e.function_id().to_string(),
            }),
            Route::WebSocket(key) => ws.push((key.to_string(), e.function_id().to_string())),
            Route::Schedule(expression) => schedules.push((expression.to_string(), e.function_id().to_string())),
            Route::Queue(queue) => queues.push((queue.to_string(), e.function_id().to_string())),
        }
    }
    let http_routes = |r: &[RouteDef]| -> BTreeSet<String> {
        r.iter()
            .map(|r| format!("{} {} → {}", r.method, r.path, r.function_id))
            .collect()
    };
    let ws_routes =
        |r: &[(String, String)]| -> BTreeSet<String> { r.iter().map(|(k, f)| format!("{k} → {f}")).collect() };
    differ("template.yaml's routes", http_routes(&t.routes), http_routes(&http));
    differ(
        "template.yaml's WebSocket routes",
        ws_routes(&t.ws_routes),
        ws_routes(&ws),
    );
    differ(
        "template.yaml's schedules",
        ws_routes(&t.schedules),
        ws_routes(&schedules),
    );
    let fed: Vec<(String, String)> = t
        .queue_events
        .iter()
        .map(|q| (q.queue_id.clone(), q.function_id.clone()))
        .collect();
    differ("template.yaml's SQS event sources", ws_routes(&fed), ws_routes(&queues));
    for q in &t.queue_events {
        assert!(
            q.reports_failures,
            "{}: without ReportBatchItemFailures one failed message redelivers its whole batch",
            q.function_id
        );
    }
}

/// Fails naming what `declared` (the template) lacks and holds beyond `expected` (the table).
fn differ(what: &str, declared: BTreeSet<String>, expected: BTreeSet<String>) {
    let missing: Vec<&String> = expected.difference(&declared).collect();
    let extra: Vec<&String> = declared.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} vs the endpoint table (shared/src/adapter/endpoints.rs): missing {missing:?}, of no endpoint {extra:?}"
    );
}

/// Each endpoint has exactly one function, which runs the one artifact and names its endpoint in
/// `Handler`, and no function is left over.
#[test]
fn every_endpoint_has_its_function_running_the_one_artifact() {
    let t = template();
    let declared = t.functions.iter().map(|f| f.id.clone()).collect();
    let expected = Endpoint::ALL.iter().map(|e| e.function_id().to_string()).collect();
    differ("template.yaml's functions", declared, expected);
    for f in &t.functions {
        let e = Endpoint::from_function_id(&f.id).unwrap();
        assert_eq!(
            f.handler.as_deref(),
            Some(e.name()),
            "{}: Handler must be `{}`",
            f.id,
            e.name()
        );
        assert_eq!(
            f.build_method.as_deref(),
            Some("rust-cargolambda"),
            "{}: BuildMethod",
            f.id
        );
        assert_eq!(f.binary.as_deref(), Some(ARTIFACT), "{}: BuildProperties.Binary", f.id);
    }
    let manifest = read("functions/Cargo.toml");
    assert!(
        manifest.contains(&format!("name = \"{ARTIFACT}\"")),
        "functions/ builds `{ARTIFACT}`"
    );
    assert!(
        !repo_root().join("functions/src/bin").exists(),
        "one artifact: no other binaries"
    );
}

/// Each function's policy in the template grants exactly what its endpoint's table entry declares
/// (and the local IAM emulation enforces), and every function may read the secrets.
#[test]
fn template_policies_are_the_tables() {
    let t = template();
    let mut wrong = Vec::new();
    for f in &t.functions {
        let e = Endpoint::from_function_id(&f.id).unwrap();
        let declared = e.policy();
        let FunctionDef { policy, .. } = f;
        let mut want: Vec<String> = declared.dynamodb.iter().map(|a| a.to_string()).collect();
        want.sort();
        let mut methods: Vec<String> = declared.connections.iter().map(|m| m.to_string()).collect();
        methods.sort();
        if policy.dynamodb != want {
            wrong.push(format!(
                "{}: dynamodb actions {:?}, the table declares {want:?}",
                f.id, policy.dynamodb
            ));
        }
        if !want.is_empty() && policy.indexes != declared.indexes {
            wrong.push(format!(
                "{}: index resources {}, the table declares {}",
                f.id, policy.indexes, declared.indexes
            ));
        }
        let mut queues: Vec<String> = declared.queues.iter().map(|q| q.to_string()).collect();
        queues.sort();
        if policy.queues != queues {
            wrong.push(format!(
                "{}: sqs:SendMessage on {:?}, the table declares {queues:?}",
                f.id, policy.queues
            ));
        }
        if policy.connections != methods {
            wrong.push(format!(
                "{}: ManageConnections on {:?}, the table declares {methods:?}",
                f.id, policy.connections
            ));
        }
        if policy.managed != ["SecretsReadPolicy"] {
            wrong.push(format!(
                "{}: managed policies {:?}, want [SecretsReadPolicy]",
                f.id, policy.managed
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "template.yaml's policies vs the endpoint table (shared/src/adapter/endpoints.rs):\n{}",
        wrong.join("\n")
    );
}

/// `docs/events.md` documents exactly the event types the code pushes, and the actions the
/// `$default` route takes (its tables' first columns).
#[test]
fn events_md_matches_the_code() {
    let doc = read("docs/events.md");
    let rows = |header: &str| -> Vec<String> {
        let table = doc.split(header).nth(1).expect("table header");
        let mut rows: Vec<String> = table
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1)?.split('`').nth(1).map(str::to_string))
            .collect();
        rows.sort();
        rows
    };
    let mut pushed: Vec<String> = shared::rules::events::kind::ALL.iter().map(|k| k.to_string()).collect();
    pushed.sort();
    assert_eq!(
        rows("| type | to | `data` |"),
        pushed,
        "event types in docs/events.md vs events::kind"
    );
    let mut taken: Vec<String> = shared::adapter::websocket::ACTIONS
        .iter()
        .map(|a| a.to_string())
        .collect();
    taken.sort();
    assert_eq!(
        rows("| action | fields | result |"),
        taken,
        "actions in docs/events.md vs websocket::ACTIONS"
    );
}

/// The P-numbers of `docs/data-model.md`: every one names a function of the store, every public
/// function of the store names its pattern, and no function names a pattern the document lacks.
#[test]
fn data_model_patterns_are_the_stores() {
    let model = read("docs/data-model.md");
    let documented: BTreeSet<String> = model
        .lines()
        .filter_map(|l| l.strip_prefix("| P"))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .map(|n| format!("P{n}"))
        .collect();
    let store = repo_root().join("shared/src/effects/store");
    let mut used = BTreeSet::new();
    let mut unnamed = Vec::new();
    for entry in std::fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let mut docs = String::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(d) = line.strip_prefix("///") {
                docs.push_str(d);
                docs.push(' ');
                continue;
            }
            if line.starts_with("#[") {
                continue;
            }
            let named = patterns(&docs);
            used.extend(named.iter().cloned());
            if line.starts_with("pub async fn ") && named.is_empty() {
                unnamed.push(format!("{file}: {}", line.trim_end_matches(['{', ' '])));
            }
            docs.clear();
        }
    }
    assert!(
        unnamed.is_empty(),
        "store functions without their P-number in their docs:\n{}",
        unnamed.join("\n")
    );
    let undocumented: Vec<&String> = used.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "the store names patterns docs/data-model.md lacks: {undocumented:?}"
    );
    let unused: Vec<&String> = documented.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "docs/data-model.md lists patterns no store function names: {unused:?}"
    );
}

/// The `P<n>` names in a text.
fn patterns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('P') {
        let before_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let digits: String = text[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        let after = text[i + 1 + digits.len()..].chars().next();
        if before_ok && !digits.is_empty() && !after.is_some_and(|c| c.is_alphanumeric()) {
            out.push(format!("P{digits}"));
        }
    }
    // A range `P3–P6` names every pattern in it.
    let mut ranges = Vec::new();
    for (i, _) in text.match_indices('–') {
        let left: Vec<String> = patterns_at_end(&text[..i]);
        let right = text[i + '–'.len_utf8()..].trim_start();
        if let (Some(l), Some(r)) = (left.last(), right.strip_prefix('P')) {
            let r: String = r.chars().take_while(char::is_ascii_digit).collect();
            if let (Ok(a), Ok(b)) = (l[1..].parse::<u32>(), r.parse::<u32>()) {
                ranges.extend((a..=b).map(|n| format!("P{n}")));
            }
        }
    }
    out.extend(ranges);
    out
}

fn patterns_at_end(text: &str) -> Vec<String> {
    let digits: String = text
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let rest = &text[..text.len() - digits.len()];
    if !digits.is_empty() && rest.ends_with('P') {
        vec![format!("P{digits}")]
    } else {
        Vec::new()
    }
}

#[test]
fn pattern_names_are_read_with_their_ranges() {
    assert_eq!(patterns("P3 + P1 counters"), ["P3", "P1"]);
    let mut r = patterns("(P3–P6, P18)");
    r.sort();
    assert_eq!(r, ["P18", "P3", "P3", "P4", "P5", "P6", "P6"]);
    assert!(patterns("PUSH# APP1").is_empty());
}

/// The template's guards against abuse and accidents (the audit's hole 13): every HTTP route is
/// throttled, the hot routes lower than the default; the webhook and `$connect` functions reserve
/// concurrency; the table is kept when the stack goes.
#[test]
fn template_throttles_reserves_and_retains() {
    let doc: serde_yaml::Value = serde_yaml::from_str(&read("template.yaml")).unwrap();
    let resources = &doc["Resources"];
    let api = &resources["HttpApi"]["Properties"];
    let limits = |v: &serde_yaml::Value| -> (u64, u64) {
        let n = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("template.yaml: HttpApi throttling without {k}: {v:?}"))
        };
        (n("ThrottlingRateLimit"), n("ThrottlingBurstLimit"))
    };
    let default = limits(&api["DefaultRouteSettings"]);
    for route in [
        "POST /live/join",
        "POST /live/react",
        "POST /live/send-message",
        "POST /live/request-guest",
        "POST /livekit/webhook",
    ] {
        let (rate, burst) = limits(&api["RouteSettings"][route]);
        assert!(
            rate < default.0 && burst <= default.1,
            "{route}: {rate}/{burst} is not below the default {default:?}"
        );
        let (method, path) = route.split_once(' ').unwrap();
        assert!(
            Endpoint::ALL
                .iter()
                .any(|e| matches!(e.route(), Route::Http { method: m, path: p } if m == method && p == path)),
            "throttled route {route} is no endpoint's"
        );
    }
    for function in ["LiveKitWebhookFunction", "WsConnectFunction"] {
        assert!(
            !resources[function]["Properties"]["ReservedConcurrentExecutions"].is_null(),
            "{function}: no ReservedConcurrentExecutions"
        );
    }
    let table = &resources["LiveTable"];
    assert_eq!(
        (table["DeletionPolicy"].as_str(), table["UpdateReplacePolicy"].as_str()),
        (Some("Retain"), Some("Retain")),
        "LiveTable must be retained"
    );
}

/// Every endpoint that takes an `Idempotency-Key` may take, keep and release one (its policy has
/// `UpdateItem` and `DeleteItem`), and a key abandoned by a function that died stays in progress
/// longer than any function runs (`Timeout`), so that a retry never runs beside the first request.
#[test]
fn idempotency_keys_are_granted_and_outlast_the_functions() {
    use shared::adapter::docs::Documented;
    for e in Endpoint::ALL {
        if e.described().takes_key {
            let actions = e.policy().dynamodb;
            assert!(
                actions.contains(&"UpdateItem") && actions.contains(&"DeleteItem"),
                "{e:?} takes an Idempotency-Key: its policy needs UpdateItem and DeleteItem, has {actions:?}"
            );
        }
    }
    let doc: serde_yaml::Value = serde_yaml::from_str(&read("template.yaml")).unwrap();
    let timeout = doc["Globals"]["Function"]["Timeout"]
        .as_u64()
        .expect("Globals.Function.Timeout");
    let overrides: Vec<u64> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| r["Properties"]["Timeout"].as_u64())
        .collect();
    let longest = overrides.into_iter().fold(timeout, u64::max);
    assert!(
        shared::rules::idempotency::IN_PROGRESS_LEASE.as_secs() > longest,
        "IN_PROGRESS_LEASE must outlast the longest function timeout ({longest} s)"
    );
}

/// Browsers may send every request header the API reads and read every response header it sets
/// (beyond CORS's safelisted ones): the template's CORS configuration names them all.
#[test]
fn cors_lets_browsers_use_every_header_of_the_api() {
    use shared::adapter::answer::NEXT_CURSOR_HEADER;
    use shared::domain::idempotency::{HEADER, REPLAYED_HEADER};
    let cors = template().cors;
    let has = |list: &[String], name: &str| list.iter().any(|h| h.eq_ignore_ascii_case(name));
    for name in ["authorization", "content-type", HEADER] {
        assert!(
            has(&cors.allow_headers, name),
            "template.yaml: CORS AllowHeaders lacks {name}"
        );
    }
    for name in [NEXT_CURSOR_HEADER, REPLAYED_HEADER, "retry-after"] {
        assert!(
            has(&cors.expose_headers, name),
            "template.yaml: CORS ExposeHeaders lacks {name}"
        );
    }
}
