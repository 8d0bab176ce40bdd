//! What is generated from the endpoint table (feature `openapi`, used by the local gateway and the
//! drift tests; the Lambda artifact leaves it out): the OpenAPI document ([`openapi`]), the README's
//! API table ([`readme`]) and the API Gateway events of `events/` ([`events`]).
//!
//! An endpoint's documentation comes from two places: its argument and answer types describe
//! themselves ([`Describe`], [`DescribeAnswer`]: parameters, bodies, schemas, paging bounds, the
//! refusals they make), and its entry says the rest ([`Doc`], [`Example`]).

pub mod events;
pub mod examples;
pub mod openapi;
pub mod readme;

use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::ToSchema;

use super::answer::{Empty, Paged};
use super::extract::{
    CursorParam, Json, Messages, Page, Path, PathParam, PaymentKey, Query, RawBody, RequestLine, Service, Signed,
    Socket, Tick, TokenUser,
};
use super::idempotency::takes_key;
use super::table::Route;
use crate::domain::error::ApiError;
use crate::domain::idempotency::HEADER;
use crate::domain::User;

/// An endpoint as the generators see it (implemented by the endpoint table's `Endpoint`).
pub trait Documented: Copy + std::fmt::Debug {
    fn route(self) -> Route;
    /// Its `Handler` (its event's file in `events/`).
    fn name(self) -> &'static str;
    /// The status of a successful answer.
    fn success(self) -> u16;
    /// What its argument and answer types say about it.
    fn describe(self, op: &mut OperationDoc);
    fn example(self) -> Example;
    /// What its entry says (`None`: not an HTTP API operation).
    fn doc(self) -> Option<Doc>;

    /// What its types say, gathered.
    fn described(self) -> OperationDoc {
        let mut op = OperationDoc::default();
        self.describe(&mut op);
        op.takes_key = takes_key(self.route(), matches!(op.auth, Auth::User | Auth::OptionalUser));
        if op.takes_key {
            op.errors.extend([
                ApiError::validation(HEADER, "must be 1 to 255 characters"),
                ApiError::idempotency_in_progress(),
                ApiError::idempotency_key_reused(),
            ]);
        }
        op
    }
}

/// What an entry of the table says about its endpoint beyond its types.
pub struct Doc {
    pub tag: &'static str,
    pub summary: &'static str,
    /// Who may call it (the README's auth column).
    pub who: &'static str,
    pub description: &'static str,
    /// What a successful answer is.
    pub ok: &'static str,
    /// An example of a successful answer.
    pub answer: Value,
    /// Refusals beyond those its argument types document, each an example of its status.
    pub errors: Vec<ApiError>,
}

/// An example request: the OpenAPI examples and the endpoint's event in `events/`.
#[derive(Clone, Debug, Default)]
pub struct Example {
    /// Signed in as this user (a bearer token, or the `token` of a `$connect`).
    pub user: Option<&'static str>,
    pub path: Vec<(&'static str, &'static str)>,
    pub query: Vec<(&'static str, &'static str)>,
    pub body: Option<Value>,
    /// The method and path, for a route that takes any (the catch-all).
    pub line: Option<(&'static str, &'static str)>,
    /// The user's token is a server token (`role: service_role`).
    pub service: bool,
    /// Request headers beyond the token (an `Idempotency-Key`).
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Example {
    pub fn anyone() -> Self {
        Self::default()
    }

    pub fn by(user: &'static str) -> Self {
        Example {
            user: Some(user),
            ..Self::default()
        }
    }

    /// Signed in as the embedding app's backend, `name`, with a server token.
    pub fn by_service(name: &'static str) -> Self {
        Example {
            user: Some(name),
            service: true,
            ..Self::default()
        }
    }

    /// With an `Idempotency-Key` (the events' replays need one where it is required).
    pub fn keyed(mut self, key: &'static str) -> Self {
        self.headers.push(("idempotency-key", key));
        self
    }

    pub fn body(self, body: Value) -> Self {
        Example {
            body: Some(body),
            ..self
        }
    }

    /// In the example session (`{session_id}`).
    pub fn in_session(mut self) -> Self {
        self.path.push(("session_id", examples::SESSION));
        self
    }

    /// With the path parameter `name` (beyond `{session_id}`).
    pub fn at(mut self, name: &'static str, value: &'static str) -> Self {
        self.path.push((name, value));
        self
    }

    pub fn query(mut self, params: &[(&'static str, &'static str)]) -> Self {
        self.query.extend_from_slice(params);
        self
    }

    pub fn request_line(self, method: &'static str, path: &'static str) -> Self {
        Example {
            line: Some((method, path)),
            ..self
        }
    }
}

/// How a caller proves who they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <user JWT>`.
    User,
    /// Anonymous, or a user JWT (which may show more).
    OptionalUser,
    /// LiveKit's signed `Authorization` (a JWT with the body's SHA-256).
    LiveKit,
}

/// A path or query parameter.
pub struct Param {
    pub name: String,
    pub description: String,
    pub schema: RefOr<Schema>,
}

/// A request body.
pub struct Body {
    pub schema: String,
    pub media_type: &'static str,
    /// Its fields, and whether each is required (the README's `{a, b?}`).
    pub fields: Vec<(String, bool)>,
}

/// What an endpoint's types say about it, gathered by [`Documented::described`].
#[derive(Default)]
pub struct OperationDoc {
    pub auth: Auth,
    pub path: Vec<Param>,
    pub query: Vec<Param>,
    pub body: Option<Body>,
    /// The success answer's schema; `paged`: its next cursor travels in `X-Next-Cursor`.
    pub answer: Option<RefOr<Schema>>,
    pub paged: bool,
    /// Paging bounds, for the README (`limit` 1..100, default 20).
    pub paging: Option<(i32, i32)>,
    /// Refusals the types make, each an example of its status.
    pub errors: Vec<ApiError>,
    /// Whether it takes an `Idempotency-Key` (`super::idempotency`); `requires_key`: must.
    pub takes_key: bool,
    pub requires_key: bool,
    /// Every schema the operation refers to.
    pub schemas: Vec<(String, RefOr<Schema>)>,
}

impl OperationDoc {
    /// `T`'s schema and every schema it refers to, for the document's components.
    fn uses<T: ToSchema>(&mut self) {
        self.schemas.push((T::name().to_string(), T::schema()));
        T::schemas(&mut self.schemas);
    }
}

/// What an argument type says about the operation that takes it.
pub trait Describe {
    fn describe(op: &mut OperationDoc);
}

/// What an answer type says about the operation that gives it.
pub trait DescribeAnswer {
    fn describe(op: &mut OperationDoc, status: u16);
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn string_schema() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

/// An object schema's properties, and the names of the required ones.
type Properties = (Vec<(String, RefOr<Schema>)>, Vec<String>);

/// The properties of an object schema (`None` for anything else).
fn properties<T: ToSchema>() -> Option<Properties> {
    match T::schema() {
        RefOr::T(Schema::Object(o)) => Some((o.properties.into_iter().collect(), o.required)),
        _ => None,
    }
}

impl Describe for User {
    fn describe(op: &mut OperationDoc) {
        op.auth = Auth::User;
        op.errors.push(ApiError::Unauthorized("token expired".into()));
    }
}

impl Describe for Service {
    fn describe(op: &mut OperationDoc) {
        op.auth = Auth::User;
        op.errors.push(ApiError::Unauthorized("token expired".into()));
        op.errors
            .push(ApiError::Forbidden("only a server token may do this".into()));
    }
}

impl Describe for PaymentKey {
    fn describe(op: &mut OperationDoc) {
        op.requires_key = true;
    }
}

impl Describe for Option<User> {
    fn describe(op: &mut OperationDoc) {
        op.auth = Auth::OptionalUser;
        op.errors.push(ApiError::Unauthorized("token expired".into()));
    }
}

impl<T: ToSchema> Describe for Json<T> {
    fn describe(op: &mut OperationDoc) {
        let (props, required) = properties::<T>().unwrap_or_default();
        op.body = Some(Body {
            schema: T::name().to_string(),
            media_type: "application/json",
            fields: props
                .into_iter()
                .map(|(name, _)| {
                    let required = required.contains(&name);
                    (name, required)
                })
                .collect(),
        });
        op.uses::<T>();
    }
}

impl<T: PathParam + ToSchema> Describe for Path<T> {
    fn describe(op: &mut OperationDoc) {
        op.path.push(Param {
            name: T::NAME.into(),
            description: T::DESCRIPTION.into(),
            schema: T::schema(),
        });
        if let Err(why) = T::parse("") {
            op.errors.push(ApiError::validation(T::NAME, why));
        }
    }
}

impl<T: ToSchema> Describe for Query<T> {
    fn describe(op: &mut OperationDoc) {
        let (props, _) = properties::<T>().unwrap_or_default();
        for (name, schema) in props {
            let description = match &schema {
                RefOr::T(Schema::Object(o)) => o.description.clone(),
                _ => None,
            };
            op.query.push(Param {
                name,
                description: description.unwrap_or_default(),
                schema,
            });
        }
        T::schemas(&mut op.schemas);
    }
}

impl<C: CursorParam, const DEFAULT: i32, const MAX: i32> Describe for Page<C, DEFAULT, MAX> {
    fn describe(op: &mut OperationDoc) {
        op.query.push(Param {
            name: "limit".into(),
            description: "Page size.".into(),
            schema: ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(MAX))
                .default(Some(DEFAULT.into()))
                .into(),
        });
        op.query.push(Param {
            name: C::NAME.into(),
            description: C::DESCRIPTION.into(),
            schema: string_schema(),
        });
        op.paging = Some((DEFAULT, MAX));
        op.errors.push(Self::bad_limit());
    }
}

/// LiveKit's webhook body as we read it (the full shape is LiveKit's `WebhookEvent`).
fn webhook_event_schema() -> RefOr<Schema> {
    let text = |d: &str| ObjectBuilder::new().schema_type(Type::String).description(Some(d));
    let object = |d: &str| ObjectBuilder::new().schema_type(Type::Object).description(Some(d));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("A LiveKit webhook event (protobuf JSON). Fields not listed are accepted and ignored."))
        .property("id", text("Unique event id (deduplication)."))
        .required("id")
        .property("event", text("`participant_joined`, `participant_left`, `track_published`, `track_unpublished`, `room_finished`, … (others are accepted and ignored)."))
        .required("event")
        .property("room", object("The room (`name`: `live_<session id without dashes>`)."))
        .property("participant", object("The participant (`identity`: our user id)."))
        .property("track", object("The track (`source`: `MICROPHONE`, `CAMERA`, `SCREEN_SHARE`, …)."))
        .property("createdAt", text("Unix seconds, as a string (int64 in protobuf JSON)."))
        .into()
}

impl Describe for Signed {
    fn describe(op: &mut OperationDoc) {
        op.auth = Auth::LiveKit;
        op.body = Some(Body {
            schema: "WebhookEvent".into(),
            media_type: "application/webhook+json",
            fields: Vec::new(),
        });
        op.schemas.push(("WebhookEvent".into(), webhook_event_schema()));
    }
}

/// Types of the WebSocket routes and the catch-all, which are not HTTP API operations.
macro_rules! undocumented {
    ($($t:ty),*) => {$(
        impl Describe for $t {
            fn describe(_: &mut OperationDoc) {}
        }
    )*};
}

undocumented!(Socket, TokenUser, RawBody, RequestLine, Tick, Messages);

impl<T: ToSchema> DescribeAnswer for Json<T> {
    fn describe(op: &mut OperationDoc, _: u16) {
        op.answer = Some(schema_ref(&T::name()));
        op.uses::<T>();
    }
}

impl<T: ToSchema> DescribeAnswer for Paged<T> {
    fn describe(op: &mut OperationDoc, _: u16) {
        op.answer = Some(ArrayBuilder::new().items(schema_ref(&T::name())).into());
        op.paged = true;
        op.uses::<T>();
    }
}

impl DescribeAnswer for Empty {
    fn describe(_: &mut OperationDoc, _: u16) {}
}
