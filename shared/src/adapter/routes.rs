//! Route matching with API Gateway's template syntax (`/live/end/{session_id}`). The local gateway
//! resolves every request with it; in AWS, API Gateway matches and the catch-all function answers
//! with [`unmatched`], so that unknown paths and wrong methods get the same answers in both places.
//! The catch-all itself (method `ANY`) is never a candidate.

use std::collections::HashMap;

use super::table::Route;
use crate::domain::error::ApiError;

/// A request matched to its endpoint, with the route key and path parameters API Gateway sends.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched<E> {
    pub endpoint: E,
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

/// The HTTP routes among `routes` that name a method (the catch-all names none).
fn http<E>(routes: impl IntoIterator<Item = (E, Route)>) -> impl Iterator<Item = (E, &'static str, &'static str)> {
    routes.into_iter().filter_map(|(e, r)| match r {
        Route::Http { method, path } if method != "ANY" => Some((e, method, path)),
        _ => None,
    })
}

/// The endpoint among `routes` for a request, or the error the catch-all answers with.
pub fn resolve<E: Copy>(
    routes: impl IntoIterator<Item = (E, Route)> + Clone,
    method: &str,
    path: &str,
) -> Result<Matched<E>, ApiError> {
    for (endpoint, m, template) in http(routes.clone()) {
        if !m.eq_ignore_ascii_case(method) {
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
    Err(unmatched(routes, method, path))
}

/// 405 with `Allow` when the path exists under other methods, else 404.
pub fn unmatched<E>(routes: impl IntoIterator<Item = (E, Route)>, method: &str, path: &str) -> ApiError {
    let allowed: Vec<&str> = http(routes)
        .filter(|(_, _, template)| match_path(template, path).is_some())
        .map(|(_, m, _)| m)
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

    const ROUTES: [(u8, Route); 4] = [
        (1, Route::post("/live/start")),
        (2, Route::post("/live/end/{session_id}")),
        (3, Route::get("/live/active")),
        (9, Route::any("/{proxy+}")),
    ];

    #[test]
    fn resolves_templates_and_parameters() {
        let m = resolve(ROUTES, "POST", "/live/end/abc").unwrap();
        assert_eq!(m.endpoint, 2);
        assert_eq!(m.route_key, "POST /live/end/{session_id}");
        assert_eq!(m.path_parameters["session_id"], "abc");
        assert_eq!(resolve(ROUTES, "GET", "/live/active").unwrap().endpoint, 3);
    }

    #[test]
    fn unknown_paths_404_and_wrong_methods_405() {
        assert!(matches!(
            resolve(ROUTES, "GET", "/live/nope"),
            Err(ApiError::RouteNotFound(_))
        ));
        assert!(matches!(
            resolve(ROUTES, "GET", "/live/end/"),
            Err(ApiError::RouteNotFound(_))
        ));
        match resolve(ROUTES, "GET", "/live/start") {
            Err(ApiError::MethodNotAllowed { allowed, .. }) => assert_eq!(allowed, "POST"),
            other => panic!("{other:?}"),
        }
    }
}
