//! The OpenAPI 3.1 document of the HTTP API, generated from the endpoint table: every route, and
//! every parameter, body and answer from the types the table names (their `utoipa::ToSchema`
//! derives and `Describe` impls), every error from the one problem mapping, with examples.
//!
//! `docs/openapi.json` is this document, committed for client generators and fuzzers; a drift test
//! fails when it is stale (`UPDATE_DOCS=1 cargo test -p e2e --test drift` rewrites it). The local
//! gateway serves it at `/openapi.json`.

use serde_json::json;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder, Schema,
};
use utoipa::{PartialSchema, ToSchema};

use super::{Auth, Doc, Documented, Example, OperationDoc, Param};
use crate::adapter::answer::NEXT_CURSOR_HEADER;
use crate::adapter::table::Route;
use crate::domain::error::{ApiError, Problem};
use crate::domain::idempotency::{IdempotencyKey, HEADER, REPLAYED_HEADER};

fn string_schema() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

/// The answers of one error status, each example from the real mapping.
fn problem_response(errors: &[ApiError], status: u16) -> utoipa::openapi::Response {
    let same: Vec<&ApiError> = errors.iter().filter(|e| e.status().as_u16() == status).collect();
    let mut content = ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))));
    if same.len() == 1 {
        content = content.example(Some(same[0].problem_json()));
    } else {
        content = content.examples_from_iter(same.iter().enumerate().map(|(i, e)| {
            (
                format!("example{}", i + 1),
                ExampleBuilder::new().value(Some(e.problem_json())).build(),
            )
        }));
    }
    let title = same[0].problem_json()["title"].as_str().unwrap_or_default().to_string();
    let mut r = ResponseBuilder::new()
        .description(title)
        .content("application/problem+json", content.build());
    let header = |d: &str| {
        HeaderBuilder::new()
            .schema(string_schema())
            .description(Some(d))
            .build()
    };
    for (name, _) in same[0].headers() {
        r = match name.as_str() {
            "www-authenticate" => r.header("WWW-Authenticate", header("`Bearer`")),
            "retry-after" => r.header("Retry-After", header("Seconds to wait before retrying.")),
            _ => r,
        };
    }
    r.build()
}

fn parameter(p: Param, at: ParameterIn, example: Option<&str>) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(p.name)
        .parameter_in(at.clone())
        .required(if at == ParameterIn::Path {
            Required::True
        } else {
            Required::False
        })
        .description(Some(p.description).filter(|d| !d.is_empty()))
        .schema(Some(p.schema))
        .example(example.map(|e| json!(e)))
}

/// The `Idempotency-Key` header of a state-changing request.
fn idempotency_key(required: bool) -> ParameterBuilder {
    let must = if required { "**Required** (payments): " } else { "" };
    ParameterBuilder::new()
        .name(HEADER)
        .parameter_in(ParameterIn::Header)
        .required(if required { Required::True } else { Required::False })
        .description(Some(format!(
            "{must}Makes a retry safe: the same key with the same request (method, path, body) within `IDEMPOTENCY_TTL_SECONDS` \
             replays the first successful answer (status, headers, body; with `Idempotent-Replayed: true`) and does nothing \
             again; the same key with another request → `422 idempotency-key-reused`; while the first is still running → \
             `409 idempotency-in-progress`. A refused or failed request keeps nothing: its retry runs. Keys are the \
             caller's own (a UUID is the usual choice)."
        )))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(IdempotencyKey::MAX_LEN))
                .pattern(Some("^[!-~]+$")),
        ))
        .example(Some(json!("0f8fad5b-d9cb-469f-a165-70867728950e")))
}

fn operation(e: impl Documented, doc: Doc, example: Example, op: OperationDoc) -> Operation {
    let mut b = OperationBuilder::new()
        .operation_id(Some(format!("{e:?}")))
        .tag(doc.tag)
        .summary(Some(doc.summary))
        .description(Some(doc.description));
    match op.auth {
        Auth::User => b = b.security(SecurityRequirement::new("bearerAuth", Vec::<String>::new())),
        Auth::OptionalUser => {
            b = b
                .security(SecurityRequirement::default())
                .security(SecurityRequirement::new("bearerAuth", Vec::<String>::new()))
        }
        Auth::LiveKit => b = b.security(SecurityRequirement::new("livekitWebhook", Vec::<String>::new())),
        Auth::None => {}
    }
    for p in op.path {
        let value = example.path.iter().find(|(k, _)| *k == p.name).map(|(_, v)| *v);
        b = b.parameter(parameter(p, ParameterIn::Path, value));
    }
    for p in op.query {
        b = b.parameter(parameter(p, ParameterIn::Query, None));
    }
    if op.takes_key {
        b = b.parameter(idempotency_key(op.requires_key));
    }
    if let Some(body) = op.body {
        b = b.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    body.media_type,
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(Ref::from_schema_name(body.schema))))
                        .example(example.body)
                        .build(),
                )
                .build(),
        ));
    }
    let mut ok = ResponseBuilder::new().description(doc.ok).content(
        "application/json",
        ContentBuilder::new()
            .schema(op.answer)
            .example(Some(doc.answer))
            .build(),
    );
    if op.takes_key {
        ok = ok.header(
            REPLAYED_HEADER,
            HeaderBuilder::new()
                .schema(string_schema())
                .description(Some(
                    "`true` when this is the answer of an earlier request with the same `Idempotency-Key`, replayed.",
                ))
                .build(),
        );
    }
    if op.paged {
        ok = ok.header(
            NEXT_CURSOR_HEADER,
            HeaderBuilder::new()
                .schema(string_schema())
                .description(Some("Cursor of the next page; absent on the last page."))
                .build(),
        );
    }
    b = b.response(e.success().to_string(), ok.build());
    let errors: Vec<ApiError> = op.errors.into_iter().chain(doc.errors).collect();
    let mut statuses: Vec<u16> = errors.iter().map(|e| e.status().as_u16()).collect();
    statuses.sort();
    statuses.dedup();
    for s in statuses {
        b = b.response(s.to_string(), problem_response(&errors, s));
    }
    b.build()
}

/// The whole document of the HTTP API that `endpoints` make up.
/// The bounds the rules enforce (`domain::limits`), written into the request schemas: the derives
/// cannot name constants, and clients (and Schemathesis) should know them. A field that is no
/// longer there fails the generation, and with it the drift test.
fn bound(schemas: &mut [(String, RefOr<Schema>)]) {
    use crate::domain::limits as l;
    let lengths = [
        ("StartRequest", "title", l::TITLE_MAX_CHARS),
        ("StartRequest", "description", l::DESCRIPTION_MAX_CHARS),
        ("SendMessage", "message", l::CHAT_MESSAGE_MAX_CHARS),
        ("RequestGuest", "message", l::REQUEST_MESSAGE_MAX_CHARS),
        ("InviteGuest", "message", l::REQUEST_MESSAGE_MAX_CHARS),
    ];
    let ranges = [
        ("StartRequest", "max_guests", l::MAX_GUESTS),
        ("StartRequest", "max_participants", l::MAX_PARTICIPANTS),
        ("StartRequest", "chat_slow_mode", l::CHAT_SLOW_MODE_SECONDS),
    ];
    let mut field = |schema: &str, name: &str, set: &dyn Fn(&mut utoipa::openapi::schema::Object)| {
        let property = schemas
            .iter_mut()
            .find(|(n, _)| n == schema)
            .and_then(|(_, s)| match s {
                RefOr::T(Schema::Object(o)) => o.properties.get_mut(name),
                _ => None,
            });
        match property {
            Some(RefOr::T(Schema::Object(p))) => set(p),
            _ => panic!("{schema}.{name}: no such property to bound"),
        }
    };
    for (schema, name, max) in lengths {
        field(schema, name, &|p| p.max_length = Some(max));
    }
    for (schema, name, range) in ranges {
        field(schema, name, &|p| {
            p.minimum = Some((*range.start()).into());
            p.maximum = Some((*range.end()).into());
        });
    }
}

pub fn document(endpoints: &[impl Documented]) -> OpenApi {
    let mut items: Vec<(String, PathItem)> = Vec::new();
    let mut schemas = Vec::new();
    for &e in endpoints {
        let (Route::Http { method, path }, Some(doc)) = (e.route(), e.doc()) else {
            continue;
        };
        let mut op = e.described();
        schemas.append(&mut op.schemas);
        let method = match method {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            other => panic!("undocumented method {other}"),
        };
        let item = PathItem::new(method, operation(e, doc, e.example(), op));
        match items.iter_mut().find(|(p, _)| p == path) {
            Some((_, existing)) => existing.merge_operations(item),
            None => items.push((path.to_string(), item)),
        }
    }
    let mut paths = PathsBuilder::new();
    for (path, item) in items {
        paths = paths.path(path, item);
    }
    schemas.push((Problem::name().to_string(), Problem::schema()));
    Problem::schemas(&mut schemas);
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);
    bound(&mut schemas);

    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user JWT (HS256, or RS256/ES256 from a JWKS); `sub` is the user id.",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "livekitWebhook",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "LiveKit's signed JWT (our API key and secret) with the SHA-256 of the body.",
            ))),
        )
        .build();
    let tags = [
        ("sessions", "Going live, joining, leaving, ending, listing"),
        ("chat", "Chat messages"),
        ("reactions", "Reactions"),
        ("realtime", "Catching up with the WebSocket API's events"),
        ("stage", "Guest requests, invitations and host controls"),
        ("economy", "Gifts, tips, wallets and their ledgers"),
        ("sfu", "What the SFU (LiveKit) reports"),
    ]
    .map(|(name, description)| TagBuilder::new().name(name).description(Some(description)).build());
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("TrendKe Live API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The HTTP API of TrendKe Live, the serverless backend for multi-guest live streaming. Errors are RFC 9457 `application/problem+json` documents. Realtime events (WebSocket API) are documented in docs/events.md.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags))
        .build()
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json(endpoints: &[impl Documented]) -> String {
    let mut text = document(endpoints).to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}
