//! Route matching with API Gateway's template syntax (`/live/end/{session_id}`). The local gateway
//! resolves every request with it; in AWS, API Gateway matches and the `Fallback` function uses
//! [`unmatched`] so that unknown paths and wrong methods get the same answers in both places.

use std::collections::HashMap;

use crate::api::{Endpoint, Route};
use crate::error::ApiError;

/// A request matched to its endpoint, with the route key and path parameters API Gateway sends.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    pub endpoint: Endpoint,
    pub route_key: String,
    pub path_parameters: HashMap<String, String>,
}

fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut t = template.trim_matches('/').split('/');
    let mut p = path.trim_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') => {
                if ps.is_empty() {
                    return None;
                }
                params.insert(ts[1..ts.len() - 1].to_string(), ps.to_string());
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// The endpoint for a request, or the error the catch-all answers with.
pub fn resolve(method: &str, path: &str) -> Result<Matched, ApiError> {
    for endpoint in Endpoint::ALL {
        let Route::Http {
            method: m,
            path: template,
        } = endpoint.route()
        else {
            continue;
        };
        if endpoint == Endpoint::Fallback || !m.eq_ignore_ascii_case(method) {
            continue;
        }
        if let Some(path_parameters) = match_path(template, path) {
            return Ok(Matched {
                endpoint,
                route_key: format!("{m} {template}"),
                path_parameters,
            });
        }
    }
    Err(unmatched(method, path))
}

/// 405 with `Allow` when the path exists under other methods, else 404.
pub fn unmatched(method: &str, path: &str) -> ApiError {
    let allowed: Vec<&str> = Endpoint::ALL
        .into_iter()
        .filter(|e| *e != Endpoint::Fallback)
        .filter_map(|e| match e.route() {
            Route::Http { method, path: t } if match_path(t, path).is_some() => Some(method),
            _ => None,
        })
        .collect();
    if allowed.is_empty() {
        ApiError::RouteNotFound(path.to_string())
    } else {
        ApiError::MethodNotAllowed {
            method: method.to_string(),
            allowed: allowed.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_templates_and_parameters() {
        let m = resolve("POST", "/live/end/abc").unwrap();
        assert_eq!(m.endpoint, Endpoint::EndSession);
        assert_eq!(m.route_key, "POST /live/end/{session_id}");
        assert_eq!(m.path_parameters["session_id"], "abc");
        assert_eq!(resolve("GET", "/live/active").unwrap().endpoint, Endpoint::ListActive);
    }

    #[test]
    fn unknown_paths_404_and_wrong_methods_405() {
        assert!(matches!(resolve("GET", "/live/nope"), Err(ApiError::RouteNotFound(_))));
        assert!(matches!(resolve("GET", "/live/end/"), Err(ApiError::RouteNotFound(_))));
        match resolve("GET", "/live/start") {
            Err(ApiError::MethodNotAllowed { allowed, .. }) => assert_eq!(allowed, "POST"),
            other => panic!("{other:?}"),
        }
    }
}
