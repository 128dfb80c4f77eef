//! Typed Coze errors. Each carries the log id support asks for and a hint saying what to do.

use std::fmt;
use std::time::Duration;

/// What went wrong, coarse enough to decide retries, exit codes and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 4100: token wrong, expired, or for the other region.
    Auth,
    /// 4101: the token lacks a permission or the workspace.
    Permission,
    /// 4200: no such resource, or the workflow is not published.
    NotFound,
    /// 4000: Coze rejected the request parameters.
    BadParams,
    /// HTTP 429 or 4009/4013/4020: slow down.
    RateLimited,
    /// 4008/4011/4019/4022: a quota or balance that waiting minutes will not fix.
    QuotaExhausted,
    /// 6003: async runs need a paid plan.
    AsyncUnavailable,
    /// 4314: no such execution (or not visible yet, right after an async start).
    ExecutionNotFound,
    /// 4315: the execution already finished and cannot be resumed.
    AlreadyFinished,
    /// Any other non-zero code: typically the workflow itself failed.
    Api,
    /// 5xx, 5000, or a non-JSON error page.
    Server,
    /// Could not connect or the connection broke.
    Network,
    /// No answer in time.
    Timeout,
    /// The reply was not what Coze sends.
    Decode,
    /// The server cannot do this at all (Coze Studio has no workspace list, versions, uploads
    /// or non-streamed answers); nothing was sent, or the route is its web UI's only.
    Unsupported,
}

impl ErrorKind {
    /// A stable snake_case name, stored in the ledger and printed in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::NotFound => "not_found",
            Self::BadParams => "bad_params",
            Self::RateLimited => "rate_limited",
            Self::QuotaExhausted => "quota_exhausted",
            Self::AsyncUnavailable => "async_unavailable",
            Self::ExecutionNotFound => "execution_not_found",
            Self::AlreadyFinished => "already_finished",
            Self::Api => "api",
            Self::Server => "server",
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Decode => "decode",
            Self::Unsupported => "unsupported",
        }
    }

    /// The kind [`ErrorKind::as_str`] named.
    pub fn parse(name: &str) -> Option<Self> {
        use ErrorKind::*;
        [
            Auth,
            Permission,
            NotFound,
            BadParams,
            RateLimited,
            QuotaExhausted,
            AsyncUnavailable,
            ExecutionNotFound,
            AlreadyFinished,
            Api,
            Server,
            Network,
            Timeout,
            Decode,
            Unsupported,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// Coze answered and refused (as opposed to a failed workflow or a broken connection).
    pub fn is_refusal(self) -> bool {
        !matches!(self, Self::Api | Self::Server | Self::Network | Self::Timeout | Self::Decode)
    }

    /// The kind of a Coze `code` (and the HTTP status, for codes Coze does not document).
    pub fn for_code(code: i64, http_status: Option<u16>) -> ErrorKind {
        match code {
            4100 | 700012006 => ErrorKind::Auth,
            4101 => ErrorKind::Permission,
            4200 => ErrorKind::NotFound,
            4000 => ErrorKind::BadParams,
            4009 | 4013 | 4020 => ErrorKind::RateLimited,
            4008 | 4011 | 4019 | 4022 => ErrorKind::QuotaExhausted,
            6003 => ErrorKind::AsyncUnavailable,
            4314 => ErrorKind::ExecutionNotFound,
            4315 => ErrorKind::AlreadyFinished,
            5000 => ErrorKind::Server,
            _ => match http_status {
                Some(429) => ErrorKind::RateLimited,
                Some(401) => ErrorKind::Auth,
                Some(403) => ErrorKind::Permission,
                Some(404) => ErrorKind::NotFound,
                Some(s) if s >= 500 => ErrorKind::Server,
                _ => ErrorKind::Api,
            },
        }
    }
}

/// How far a request got before it failed: decides whether a non-idempotent POST may be re-sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Provably never reached the server (DNS failure, connection refused).
    NotSent,
    /// May have reached the server; re-sending could run a workflow twice.
    Unknown,
    /// The server answered.
    Answered,
}

#[derive(Debug, Clone)]
pub struct CozeError {
    pub kind: ErrorKind,
    /// Coze's numeric code, or the HTTP status when the body had none.
    pub code: Option<i64>,
    pub message: String,
    pub http_status: Option<u16>,
    /// From the `x-tt-logid` header, else the body's `detail.logid`.
    pub logid: Option<String>,
    pub debug_url: Option<Box<str>>,
    /// `Retry-After` as sent by the server.
    pub retry_after: Option<Duration>,
    pub delivery: Delivery,
    /// The body could not be read as JSON at all (cut short, or not JSON): worth asking again
    /// for a read, and ambiguous for a run.
    pub unreadable: bool,
    /// An execute id found in a reply that could not be decoded whole (boxed: errors travel
    /// in every `Result`, so they stay small).
    pub execute_id: Option<Box<str>>,
    /// A Coze Studio answered: its codes mean other things (see [`CozeError::hint`]).
    pub studio: bool,
}

impl CozeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: None,
            message: message.into(),
            http_status: None,
            logid: None,
            debug_url: None,
            retry_after: None,
            delivery: Delivery::Answered,
            unreadable: false,
            execute_id: None,
            studio: false,
        }
    }

    /// The same error, as a Coze Studio's answer: its own codes read as Studio means them.
    /// Hosted Coze's codes are not Studio's, so none of this applies to hosted answers.
    pub fn from_studio(mut self) -> Self {
        self.studio = true;
        let started = self.debug_url.as_deref().and_then(super::models::execute_id_from_debug_url).is_some();
        self.kind = match (self.code, self.http_status) {
            // 720702004 no such workflow; 6031 not published (720702011 before Studio maps it,
            // as its streams send it).
            (Some(720702004 | 6031 | 720702011), _) => ErrorKind::NotFound,
            // A request it could not even read.
            (Some(400), Some(400)) => ErrorKind::BadParams,
            // Bad or missing parameters of a run that never started (a run that did names
            // its execution in the debug URL: its failure is the workflow's).
            (Some(720702001 | 720702002), _) if !started => ErrorKind::BadParams,
            _ => self.kind,
        };
        self
    }

    /// A Coze Studio's own word on what to do, for failures whose hint a user must see (hosted
    /// Coze's hints stay in the status history).
    pub fn studio_hint(&self) -> Option<&'static str> {
        let own = self.kind.is_refusal() || matches!(self.code, Some(6039 | 6031 | 720702011 | 6023));
        (self.studio && own).then(|| self.hint())
    }

    /// An error from a Coze `code`/`msg` pair.
    pub fn from_code(code: i64, message: impl Into<String>, http_status: Option<u16>) -> Self {
        let kind = ErrorKind::for_code(code, http_status);
        Self { code: Some(code), http_status, ..Self::new(kind, message) }
    }

    pub(crate) fn with_logid(mut self, logid: Option<String>) -> Self {
        if self.logid.is_none() {
            self.logid = logid.filter(|l| !l.is_empty());
        }
        self
    }

    /// Whether a GET may be retried after this error.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout)
            || (self.kind == ErrorKind::Decode && self.unreadable)
    }

    /// Coze refused to start (or resume) a run because of the request rate, so nothing ran and
    /// the request may be sent again: HTTP 429 with any code, or the limit codes 4009 (system)
    /// and 4020 (RPM quota) with any status. 4013 alone is a model's limit inside a run.
    /// A daily quota (4008 and its kin) is not waited out, whatever its status.
    pub fn is_start_refused(&self) -> bool {
        self.delivery == Delivery::Answered
            && self.kind != ErrorKind::QuotaExhausted
            && (self.http_status == Some(429) || matches!(self.code, Some(4009 | 4020)))
    }

    /// coze-tui's own `daily_request_limit` stopped the request before it was sent.
    pub fn is_local_limit(&self) -> bool {
        self.kind == ErrorKind::QuotaExhausted && self.delivery == Delivery::NotSent
    }

    /// After a request that starts a run failed like this, the run may or may not be running:
    /// the connection broke after sending, a gateway answered for Coze, or the reply could not
    /// be read.
    pub fn is_ambiguous_for_run(&self) -> bool {
        match self.kind {
            ErrorKind::Network | ErrorKind::Timeout => self.delivery != Delivery::NotSent,
            ErrorKind::Server | ErrorKind::Decode => !self.is_start_refused(),
            _ => false,
        }
    }

    /// What the user should do about it.
    pub fn hint(&self) -> &'static str {
        if self.is_local_limit() {
            return "coze-tui's daily_request_limit for this profile stopped it (nothing was sent): raise the limit in the config, or wait until tomorrow";
        }
        // Coze Studio's tokens are its own, and some of its codes mean other things.
        if self.studio {
            match (self.kind, self.code) {
                (ErrorKind::Auth, _) => {
                    return "check the token: Coze Studio takes a personal access token made in that Studio's own web UI (API authorization), and the base URL of that Studio";
                }
                (_, Some(6039)) => {
                    return "Coze Studio answers questions and input forms only in streamed runs: run it with --mode stream";
                }
                (_, Some(6031 | 720702011)) => {
                    return "publish the workflow in Coze Studio before running it through the API";
                }
                (_, Some(6023)) => return "the run took longer than this Coze Studio allows a workflow to run",
                _ => {}
            }
        }
        match self.kind {
            ErrorKind::Auth => {
                "check the token, that it has not expired (PATs last at most a month), and that the base URL's region matches it: coze.cn tokens need https://api.coze.cn, coze.com tokens https://api.coze.com (COZE_API_BASE or base_url)"
            }
            ErrorKind::Permission => {
                "the token lacks a permission or this workspace: edit the token on the PAT page and grant listWorkspace, listWorkflow, getMetaData, run and listRunHistory for the workspace"
            }
            ErrorKind::NotFound => {
                "check the id; a workflow must be published before it can be run (publish it in the Coze editor)"
            }
            ErrorKind::BadParams => "check the parameters against the workflow's input schema (`coze-tui workflow ID`)",
            ErrorKind::RateLimited => {
                "Coze is rate limiting this account: wait a little and try again, or lower the request rate"
            }
            ErrorKind::QuotaExhausted => {
                "a usage quota or the account balance is exhausted: check the plan and billing in Coze"
            }
            ErrorKind::AsyncUnavailable => "async runs need a paid Coze plan: use --mode stream (or sync) instead",
            ErrorKind::ExecutionNotFound => "no such execution: check the workflow and execute ids",
            ErrorKind::AlreadyFinished => "this execution already finished; it cannot be resumed",
            ErrorKind::Api => "the workflow reported an error: open the debug URL or quote the log id to Coze support",
            ErrorKind::Server => "Coze had a server error: try again later; quote the log id if it persists",
            ErrorKind::Network => "could not reach Coze: check the network, proxy and base URL",
            ErrorKind::Timeout => "Coze did not answer in time: try again, or raise `timeout` in the config",
            ErrorKind::Decode => "Coze sent a reply this tool does not understand: quote the log id when reporting it",
            ErrorKind::Unsupported => {
                "Coze Studio serves only runs, streams, streamed answers, run history and chat to a token"
            }
        }
    }
}

impl fmt::Display for CozeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "Coze error {code}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(logid) = &self.logid {
            write!(f, " (logid {logid})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CozeError {}

pub type Result<T, E = CozeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(CozeError::from_code(4100, "x", Some(200)).kind, ErrorKind::Auth);
        assert_eq!(CozeError::from_code(4101, "x", None).kind, ErrorKind::Permission);
        assert_eq!(CozeError::from_code(4200, "x", None).kind, ErrorKind::NotFound);
        assert_eq!(CozeError::from_code(6003, "x", None).kind, ErrorKind::AsyncUnavailable);
        assert_eq!(CozeError::from_code(720702002, "x", Some(200)).kind, ErrorKind::Api);
        assert_eq!(CozeError::from_code(1, "x", Some(429)).kind, ErrorKind::RateLimited);
        assert_eq!(CozeError::from_code(502, "x", Some(502)).kind, ErrorKind::Server);
    }

    #[test]
    fn studio_hints_only_for_a_studio() {
        // Hosted Coze sends 700012006 for a bad token too: its hint stays hosted Coze's.
        let hosted = CozeError::from_code(700012006, "access token invalid", Some(200));
        assert!(hosted.hint().contains("region") && !hosted.hint().contains("Studio"), "{}", hosted.hint());
        assert!(hosted.clone().from_studio().hint().contains("Coze Studio"));
        let six = CozeError::from_code(6039, "x", Some(200));
        assert!(!six.hint().contains("Studio") && six.from_studio().hint().contains("--mode stream"));
        // Studio's parameter refusals before a stream are refusals; hosted Coze's 720702002 is
        // a failure inside the run.
        let params = CozeError::from_code(720702002, "Missing required parameters", Some(200));
        assert_eq!((params.kind, params.from_studio().kind), (ErrorKind::Api, ErrorKind::BadParams));
        assert_eq!(CozeError::from_code(400, "x", Some(400)).from_studio().kind, ErrorKind::BadParams);
        assert_eq!(CozeError::from_code(400, "x", Some(400)).kind, ErrorKind::Api, "hosted: an unknown code");
        // Studio's codes mean nothing special from hosted Coze.
        for code in [720702004, 6031, 720702011] {
            assert_eq!(CozeError::from_code(code, "x", Some(200)).kind, ErrorKind::Api);
            assert_eq!(CozeError::from_code(code, "x", Some(200)).from_studio().kind, ErrorKind::NotFound);
        }
        // A run that started (its execute id in the debug URL) failed; it was not refused.
        let ran = CozeError {
            debug_url: Some("http://h/work_flow?execute_id=75&space_id=1".into()),
            ..CozeError::from_code(720702002, "a node failed", Some(200))
        };
        assert_eq!(ran.from_studio().kind, ErrorKind::Api);
        let six = CozeError::from_code(6039, "x", Some(200)).from_studio();
        assert!(six.studio_hint().is_some_and(|h| h.contains("--mode stream")));
        assert_eq!(CozeError::from_code(6039, "x", Some(200)).studio_hint(), None, "hosted: none");
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in [ErrorKind::Auth, ErrorKind::Api, ErrorKind::Decode, ErrorKind::AlreadyFinished] {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ErrorKind::parse("nope"), None);
    }

    #[test]
    fn display_has_code_and_logid() {
        let e = CozeError::from_code(4100, "authentication is invalid", None).with_logid(Some("L1".into()));
        assert_eq!(e.to_string(), "Coze error 4100: authentication is invalid (logid L1)");
        assert!(e.hint().contains("region"));
    }

    #[test]
    fn refused_starts_and_ambiguous_runs() {
        let refused = |code, status| CozeError::from_code(code, "x", Some(status)).is_start_refused();
        assert!(refused(4009, 429) && refused(4009, 200) && refused(4020, 200) && refused(1, 429));
        assert!(refused(4013, 429), "4013 with HTTP 429 is a refused request");
        assert!(!refused(4013, 200), "4013 alone is a model's limit inside the run");
        assert!(!refused(4008, 200) && !refused(4008, 429), "a daily quota is not waited out");
        let gateway = CozeError::from_code(502, "x", Some(502));
        assert!(gateway.is_ambiguous_for_run() && !gateway.is_start_refused());
        let lost = CozeError { delivery: Delivery::Unknown, ..CozeError::new(ErrorKind::Network, "x") };
        assert!(lost.is_ambiguous_for_run());
        let never_sent = CozeError { delivery: Delivery::NotSent, ..CozeError::new(ErrorKind::Network, "x") };
        assert!(!never_sent.is_ambiguous_for_run());
        assert!(!CozeError::from_code(4000, "x", Some(200)).is_ambiguous_for_run());
        let cut = CozeError { unreadable: true, ..CozeError::new(ErrorKind::Decode, "x") };
        assert!(cut.is_transient() && cut.is_ambiguous_for_run());
        assert!(!CozeError::new(ErrorKind::Decode, "shape").is_transient());
    }
}
