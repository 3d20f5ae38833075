//! The middleware every step wraps its app in: `.wrap(shared::plumbing())`.

use std::future::poll_fn;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::InternalError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, HttpResponse};
use serde_json::json;

use crate::LOOPBACK_ONLY;

/// What every request goes through before the step's routes, none of it part
/// of a lesson:
/// - a `HEAD` request is answered like a `GET`, without the body (as Flask
///   does: `curl -I :5001/api/version`);
/// - a method that a known path does not answer gets actix-web's 405 with its
///   `Allow` header (`web::resource(path).get(...)` sends it), as JSON, and
///   with `HEAD` allowed wherever `GET` is: `POST /api/version` → 405,
///   `Allow: GET, HEAD`;
/// - while the step listens on this machine only (the default), a request
///   whose `Host` is not a loopback name is refused, so that a web page cannot
///   reach the step through DNS rebinding, and so is a request that a page of
///   another site sent (its `Origin`), e.g. a WebSocket opened by any site
///   the learner visits; `--host 0.0.0.0` opens both;
/// - a handler that panics answers `500 {"error": "internal error"}`, the
///   panic's message going to the log: otherwise actix-web would drop the
///   connection without an answer, and every other one of that worker;
/// - one log line per request: `GET /api/users HTTP/1.1 → 200 (0.41 ms)`.
pub fn plumbing<S, B>() -> impl Transform<
    S,
    ServiceRequest,
    Response = ServiceResponse<impl MessageBody>,
    Error = Error,
    InitError = (),
> + 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    from_fn(handle)
}

async fn handle(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let line = format!("{method} {} {:?}", req.uri(), req.version());

    let response = if let Some((header, host)) = foreign(&req) {
        let message = format!(
            "this step answers only to localhost, not to {header}: {host}; \
             start it with --host 0.0.0.0 to open it to other machines"
        );
        let refusal = HttpResponse::build(StatusCode::FORBIDDEN).json(json!({ "error": message }));
        req.into_response(refusal).map_into_right_body()
    } else {
        if req.method() == Method::HEAD {
            // actix-http already leaves the body out of a HEAD answer.
            req.head_mut().method = Method::GET;
        }
        let handled = unless_it_panics(async move {
            crate::faults::before_handler(); // a no-op outside the tests
            next.call(req).await
        });
        match handled.await {
            Ok(response) => match response? {
                response if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
                    method_not_allowed(&method, response).map_into_right_body()
                }
                response => response.map_into_left_body(),
            },
            Err(()) => {
                // The request went with the handler's future: answer with an
                // error, which actix-web turns into this response.
                let millis = started.elapsed().as_secs_f64() * 1000.0;
                log::error!(target: "request", "{line} → 500, the handler panicked ({millis:.2} ms)");
                let reply =
                    HttpResponse::InternalServerError().json(json!({ "error": "internal error" }));
                return Err(InternalError::from_response("a handler panicked", reply).into());
            }
        }
    };

    let millis = started.elapsed().as_secs_f64() * 1000.0;
    log::info!(target: "request", "{line} → {} ({millis:.2} ms)", response.status().as_u16());
    Ok(response)
}

/// actix-web's empty 405, as JSON, with `HEAD` in `Allow` after `GET`.
fn method_not_allowed<B>(
    method: &Method,
    response: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let (req, old) = response.into_parts();
    let mut allowed: Vec<String> = old
        .headers()
        .get(header::ALLOW)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .split(',')
        .map(|method| method.trim().to_string())
        .filter(|method| !method.is_empty())
        .collect();
    if let Some(get) = allowed.iter().position(|m| m == "GET")
        && !allowed.iter().any(|m| m == "HEAD")
    {
        allowed.insert(get + 1, "HEAD".into());
    }
    let allowed = allowed.join(", ");
    let message = format!(
        "{method} is not allowed at {}: it answers {allowed}",
        req.path()
    );
    let reply = HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allowed))
        .json(json!({ "error": message }));
    ServiceResponse::new(req, reply)
}

/// Runs `future`, or answers `Err(())` if polling it panics (the panic hook
/// has printed the panic's message by then).
async fn unless_it_panics<T>(future: impl Future<Output = T>) -> Result<T, ()> {
    let mut future = pin!(future);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        },
    )
    .await
}

/// The header (`Host` or `Origin`) and its value that make a request one to
/// refuse, if this one must be.
fn foreign(req: &ServiceRequest) -> Option<(&'static str, String)> {
    if !LOOPBACK_ONLY.get().copied().unwrap_or(false) {
        return None;
    }
    // HTTP/1.0 clients may send no Host, and only browsers send an Origin
    // (`http://localhost:5001`): a header that is absent is not checked.
    for (name, header) in [("Host", header::HOST), ("Origin", header::ORIGIN)] {
        let Some(value) = req.headers().get(header) else {
            continue;
        };
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let host = value
            .strip_prefix("http://")
            .or_else(|| value.strip_prefix("https://"))
            .unwrap_or(&value);
        if !is_loopback_name(host) {
            return Some((name, value));
        }
    }
    None
}

/// `localhost`, `x.localhost`, `127.0.0.1`, `[::1]`, each with or without a port.
fn is_loopback_name(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_recognised_with_or_without_a_port() {
        for host in [
            "localhost",
            "localhost:5001",
            "LOCALHOST:5001",
            "app.localhost:5001",
            "127.0.0.1",
            "127.0.0.1:5001",
            "127.1.2.3:80",
            "[::1]:5001",
            "[::1]",
        ] {
            assert!(is_loopback_name(host), "{host}");
        }
        for host in [
            "evil.example:5001",
            "localhost.evil.example",
            "10.0.0.1:5001",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!is_loopback_name(host), "{host}");
        }
    }
}
