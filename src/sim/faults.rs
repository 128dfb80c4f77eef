//! Fault injection: scripted faults for the next matching requests (tests), random ones at a
//! configured rate (benchmarks, soak runs), and a one-second-window rate limit.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;

/// What to do to a request instead of (or besides) answering it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Wait this long before handling the request.
    Latency(Duration),
    /// An HTML 502 page from a gateway.
    BadGateway,
    /// HTTP 500 with Coze's 5000 envelope.
    InternalError,
    /// HTTP 429 with the 4009 envelope and, when given, `Retry-After` in seconds.
    RateLimit { retry_after: Option<u64> },
    /// Close the connection without answering; the request is not processed.
    Drop,
    /// Process the request (a run really starts), then close the connection without answering:
    /// the client cannot know whether it arrived.
    DropAfterProcessing,
    /// HTTP 200 with a truncated JSON body.
    Malformed,
    /// An error envelope with any code and status instead of the answer: the rate and quota
    /// refusals (4009 system limit, 4020 RPM quota, 4013 a model's limit, 4008 the daily quota,
    /// with `Retry-After` when given) or any other code (4200, 4314 for "not found").
    ErrorCode { code: i64, http_status: u16, retry_after: Option<u64> },
    /// Process the request (a run really starts), then answer with the first 60% of the body.
    TruncateAfterProcessing,
    /// A stream that ends without its `Done` event (the connection closes after the last
    /// message).
    StreamWithoutDone,
    /// A stream cut after this many events.
    CutStreamAfter(usize),
    /// HTTP 200 with an empty body and nothing done (Coze Studio failing before its stream).
    EmptyBody,
    /// Coze Studio only: the run starts, sends one message, then its stream breaks with a
    /// lower-case `error` event of plain, multi-line text.
    BrokenStream,
}

/// A fault applied to the next `times` requests whose route label starts with `route`
/// (e.g. `"POST /v1/workflow/run"`, `"GET /v1/workspaces"`, or `""` for any).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub route: String,
    pub fault: Fault,
    pub times: u32,
}

impl FaultRule {
    pub fn new(route: impl Into<String>, fault: Fault, times: u32) -> Self {
        Self { route: route.into(), fault, times }
    }
}

/// Takes the first scripted fault matching `route`, consuming one use of it.
pub(crate) fn take_scripted(script: &mut Vec<FaultRule>, route: &str) -> Option<Fault> {
    let i = script.iter().position(|r| route.starts_with(&r.route) && r.times > 0)?;
    let fault = script[i].fault.clone();
    script[i].times -= 1;
    if script[i].times == 0 {
        script.remove(i);
    }
    Some(fault)
}

/// A response whose body fails at once: the server closes the connection mid-answer.
pub(crate) fn dropped() -> Response {
    let body = Body::from_stream(futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by the simulator"))
    }));
    Response::builder().status(StatusCode::OK).body(body).unwrap_or_default()
}

pub(crate) fn bad_gateway(logid: &str) -> Response {
    let mut r = Response::new(Body::from(
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
    ));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r.headers_mut().insert("content-type", HeaderValue::from_static("text/html"));
    if let Ok(v) = HeaderValue::from_str(logid) {
        r.headers_mut().insert("x-tt-logid", v);
    }
    r
}

pub(crate) fn malformed(logid: &str) -> Response {
    let mut r = Response::new(Body::from("{\"code\":0,\"msg\":\"\",\"data\":{\"items\":[{\"workflow_id\":\"75"));
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(logid) {
        r.headers_mut().insert("x-tt-logid", v);
    }
    r
}

/// The response with its body cut to the first 60%.
pub(crate) async fn truncated(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() * 6 / 10);
    Response::from_parts(parts, Body::from(cut))
}

/// An event stream with some of its events left out: `keep` decides per event (frame index,
/// frame text); the stream ends at the first frame `keep` refuses.
pub(crate) fn filter_stream(resp: Response, keep: impl Fn(usize, &[u8]) -> bool + Send + 'static) -> Response {
    use futures_util::StreamExt;
    let (parts, body) = resp.into_parts();
    let mut index = 0;
    let frames = body.into_data_stream().take_while(move |chunk| {
        // The simulator writes one event per chunk.
        let go = match chunk {
            Ok(bytes) => keep(index, bytes),
            Err(_) => false,
        };
        index += 1;
        std::future::ready(go)
    });
    Response::from_parts(parts, Body::from_stream(frames))
}

/// HTTP 200 and not a byte of body.
pub(crate) fn empty_body() -> Response {
    Response::new(Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_are_consumed_in_order() {
        let mut script =
            vec![FaultRule::new("GET /v1/workspaces", Fault::BadGateway, 2), FaultRule::new("", Fault::Malformed, 1)];
        assert_eq!(take_scripted(&mut script, "POST /v1/workflow/run"), Some(Fault::Malformed));
        assert_eq!(take_scripted(&mut script, "POST /v1/workflow/run"), None);
        assert_eq!(take_scripted(&mut script, "GET /v1/workspaces"), Some(Fault::BadGateway));
        assert_eq!(take_scripted(&mut script, "GET /v1/workspaces"), Some(Fault::BadGateway));
        assert_eq!(take_scripted(&mut script, "GET /v1/workspaces"), None);
    }
}
