//! Profiles, environment overrides, paths and validation. No network I/O.
//!
//! Precedence for every setting: flag > environment > config file > default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::coze::{ClientOptions, DEFAULT_BASE_URL, RetryPolicy, Server, parse_base_url};
use crate::secret::Secret;

pub const APP_NAME: &str = "coze-tui";
pub const DEFAULT_PROFILE: &str = "default";
/// The documented example, also what `config init` writes.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when neither `--profile` nor `COZE_TUI_PROFILE` names one.
    pub default_profile: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
    pub ui: UiSettings,
    /// Key overrides: `action = "key"` or `action = ["key", "key"]`.
    pub keys: BTreeMap<String, KeyList>,
}

/// Dashboard settings shared by all profiles.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSettings {
    /// Capture the mouse (click to focus, wheel to scroll). Off keeps the terminal's own
    /// text selection.
    pub mouse: bool,
    /// Ring the terminal bell when a run asks a question, fails, or ends after a long wait.
    pub bell: bool,
}

/// One key or several.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> Vec<String> {
        match self {
            KeyList::One(k) => vec![k.clone()],
            KeyList::Many(ks) => ks.clone(),
        }
    }
}

/// One Coze account: a token and the region it belongs to, plus client settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    pub api_token: Secret,
    pub base_url: String,
    /// Seconds for ordinary requests.
    pub timeout: u64,
    /// Seconds for a sync run (Coze itself cuts them at 90 s).
    pub run_timeout: u64,
    /// Seconds a stream may stay silent before it counts as lost.
    pub stream_idle_timeout: u64,
    /// Retries for reads; runs are never re-sent once they may have arrived.
    pub max_retries: u32,
    /// Requests a day (all processes, all kinds) after which coze-tui sends nothing more.
    pub daily_request_limit: Option<u64>,
    pub poll: PollSettings,
    /// The device-type OAuth app `coze-tui login` signs in with.
    pub oauth_client_id: Option<String>,
    /// `pat` (a token in the config or environment), `oauth` (`coze-tui login`) or `jwt` (a
    /// service app); default: `pat` when a token is set, else `oauth` when signed in.
    pub auth: Option<String>,
    /// A service app (OAuth JWT): its app id, the public key's id, the private key's file (0600).
    pub jwt_app_id: Option<String>,
    pub jwt_key_id: Option<String>,
    pub jwt_private_key_file: Option<PathBuf>,
    /// `coze` or `studio` (a self-hosted Coze Studio); asked of the server when absent.
    pub server: Option<Server>,
    /// Workflows to list on a server without a workflow list (Coze Studio):
    /// `[[profiles.NAME.workflows]]` with `id` and an optional `name`.
    pub workflows: Vec<Bookmark>,
}

/// A workflow named in the profile (Coze Studio cannot list them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookmark {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            api_token: Secret::default(),
            base_url: DEFAULT_BASE_URL.to_string(),
            timeout: 30,
            run_timeout: 120,
            stream_idle_timeout: 300,
            max_retries: 3,
            daily_request_limit: None,
            poll: PollSettings::default(),
            oauth_client_id: None,
            auth: None,
            jwt_app_id: None,
            jwt_key_id: None,
            jwt_private_key_file: None,
            server: None,
            workflows: Vec::new(),
        }
    }
}

/// How async runs are watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollSettings {
    /// First wait between run-history requests, in milliseconds.
    pub initial_interval_ms: u64,
    /// The wait grows by this factor after each poll...
    pub backoff: f64,
    /// ...up to this many milliseconds.
    pub max_interval_ms: u64,
    /// Requests per second to Coze for this profile, shared by every coze-tui process on the
    /// data directory (reads, run starts and polls alike).
    pub qps: f64,
    /// Seconds a coze-tui process may go silent before another one takes over watching its
    /// runs (two SSH logins on one ledger; a killed process).
    pub lease_secs: u64,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self { initial_interval_ms: 1000, backoff: 1.5, max_interval_ms: 10_000, qps: 5.0, lease_secs: 30 }
    }
}

impl PollSettings {
    pub fn initial_interval(&self) -> Duration {
        Duration::from_millis(self.initial_interval_ms)
    }
    pub fn max_interval(&self) -> Duration {
        Duration::from_millis(self.max_interval_ms)
    }
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }
}

/// A configuration problem, with the file and line when it came from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Environment variables, read once; tests pass their own.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub const VARS: [&str; 6] =
        ["COZE_API_TOKEN", "COZE_API_BASE", "COZE_TUI_CONFIG", "COZE_TUI_DATA_DIR", "COZE_TUI_PROFILE", "COZE_TUI_LOG"];

    pub fn from_process() -> Self {
        Self(Self::VARS.iter().filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?))).collect())
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// The same environment without these variables.
    pub fn without(&self, keys: &[&str]) -> Self {
        Self(self.0.iter().filter(|(k, _)| !keys.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// A non-empty value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// Flags that override the environment and the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub profile: Option<String>,
    pub config_path: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub base_url: Option<String>,
}

/// Where a setting came from, for `config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Env,
    File,
    Default,
    /// Got by `coze-tui login` (the credentials file).
    SignedIn,
    /// Minted for a service app (`auth = "jwt"`).
    Jwt,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "environment",
            Source::File => "config file",
            Source::SignedIn => "signed in (coze-tui login)",
            Source::Jwt => "service app (JWT)",
            Source::Default => "default",
        })
    }
}

/// The configuration in force for this process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub config_exists: bool,
    pub data_dir: PathBuf,
    pub profile_name: String,
    pub profile: Profile,
    pub profile_names: Vec<String>,
    pub token_source: Source,
    /// When a signed-in token ends (Unix seconds); `None` for a personal access token.
    pub token_expires_at: Option<i64>,
    /// When the sign-in itself ends unless used (its refresh token's 30 days), when known.
    pub sign_in_until: Option<i64>,
    pub base_url_source: Source,
    /// Which kind of server the base URL is; `None` until the server's first answer shows it (`CozeClient::server`).
    pub server: Option<Server>,
    pub ui: UiSettings,
    /// Key overrides from `[keys]`.
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Settings {
    /// Reads the config file (if any) and applies the environment and flags.
    pub fn load(overrides: &Overrides, env: &Env) -> Result<Self, ConfigError> {
        let config_path = match (&overrides.config_path, env.get("COZE_TUI_CONFIG")) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => PathBuf::from(p),
            (None, None) => default_config_path()?,
        };
        let (file, config_exists) = match std::fs::read_to_string(&config_path) {
            Ok(text) => (parse(&text, &config_path)?, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (ConfigFile::default(), false),
            Err(e) => return Err(ConfigError(format!("cannot read config file {}: {e}", config_path.display()))),
        };
        let data_dir = match (&overrides.data_dir, env.get("COZE_TUI_DATA_DIR")) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => PathBuf::from(p),
            (None, None) => default_data_dir()?,
        };
        let requested = overrides.profile.clone().or_else(|| env.get("COZE_TUI_PROFILE").map(str::to_string));
        let explicit = requested.is_some();
        let profile_name =
            requested.or_else(|| file.default_profile.clone()).unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        let profile_names: Vec<String> = file.profiles.keys().cloned().collect();
        let mut profile = match file.profiles.get(&profile_name) {
            Some(p) => p.clone(),
            // Only the built-in "default" may be missing from the file: any other name is a
            // typo, and its tasks would be recorded under it.
            None if profile_name != DEFAULT_PROFILE => {
                let origin = match (&overrides.profile, explicit) {
                    (Some(_), _) => "--profile",
                    (None, true) => "COZE_TUI_PROFILE",
                    (None, false) => "default_profile",
                };
                let has = if profile_names.is_empty() {
                    if config_exists {
                        "it defines no profiles".to_string()
                    } else {
                        "it does not exist yet".to_string()
                    }
                } else {
                    format!("it has: {}", profile_names.join(", "))
                };
                return Err(ConfigError(format!(
                    "{origin}: no profile {profile_name:?} in {} ({has}); add a [profiles.{profile_name}] table, or leave the profile out",
                    config_path.display()
                )));
            }
            None => Profile::default(),
        };
        let in_file = file.profiles.contains_key(&profile_name);
        let mut token_source = if in_file && !profile.api_token.is_empty() { Source::File } else { Source::Default };
        let mut base_url_source = if in_file { Source::File } else { Source::Default };
        if let Some(token) = env.get("COZE_API_TOKEN") {
            profile.api_token = Secret::new(token);
            token_source = Source::Env;
        }
        if let Some(base) = env.get("COZE_API_BASE") {
            profile.base_url = base.to_string();
            base_url_source = Source::Env;
        }
        if let Some(base) = &overrides.base_url {
            profile.base_url = base.clone();
            base_url_source = Source::Flag;
        }
        // A token goes into an HTTP header: printable ASCII without spaces. Never echoed.
        if profile.api_token.expose().chars().any(|c| !c.is_ascii_graphic()) {
            let origin = match token_source {
                Source::Env => "COZE_API_TOKEN".to_string(),
                _ => format!("api_token of profile {profile_name:?} in {}", config_path.display()),
            };
            return Err(ConfigError(format!(
                "{origin}: the token has a space, a line break or a non-ASCII character; copy it again from the Coze PAT page"
            )));
        }
        if let Some(filter) = env.get("COZE_TUI_LOG") {
            crate::logging::check_filter(filter).map_err(|e| ConfigError(format!("COZE_TUI_LOG: {e}")))?;
        }
        if let Err(m) = parse_base_url(&profile.base_url) {
            let origin = match base_url_source {
                Source::File => format!(" (in {})", config_path.display()),
                Source::Env => " (from COZE_API_BASE)".to_string(),
                Source::Flag => " (from --base-url)".to_string(),
                Source::Default | Source::SignedIn | Source::Jwt => String::new(),
            };
            return Err(ConfigError(format!("{m}{origin}")));
        }
        let server = profile.server.or_else(|| Server::known_for(&profile.base_url));
        Ok(Self {
            config_path,
            config_exists,
            data_dir,
            profile_name,
            profile,
            profile_names,
            token_source,
            token_expires_at: None,
            sign_in_until: None,
            server,
            base_url_source,
            ui: file.ui.clone(),
            keys: file.keys.iter().map(|(k, v)| (k.clone(), v.keys())).collect(),
        })
    }

    /// These settings pointed at a simulator (the demo), with its own fresh data directory so
    /// the user's ledger is never touched. The caller removes `data_dir` when done.
    /// `base` (the user's settings, if they load) lends its config path, UI settings and keys.
    pub fn for_simulator(base: Option<&Settings>, base_url: String, token: &str) -> Result<Self, ConfigError> {
        let data_dir =
            std::env::temp_dir().join(format!("coze-tui-demo-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        // (The name carries the process id: a later demo removes it if this process dies.)
        create_private_dir(&data_dir).map_err(|e| ConfigError(format!("cannot create {}: {e}", data_dir.display())))?;
        Ok(Self {
            config_path: base.map(|b| b.config_path.clone()).unwrap_or_else(|| "(demo: no config file)".into()),
            config_exists: base.is_some_and(|b| b.config_exists),
            data_dir,
            profile_name: "demo".into(),
            profile: Profile { api_token: Secret::new(token), base_url, ..Profile::default() },
            profile_names: vec![],
            token_source: Source::Default,
            token_expires_at: None,
            sign_in_until: None,
            base_url_source: Source::Default,
            server: Some(Server::Coze),
            ui: base.map(|b| b.ui.clone()).unwrap_or_default(),
            keys: base.map(|b| b.keys.clone()).unwrap_or_default(),
        })
    }

    /// Client options for the active profile; an error says how to set a token.
    pub fn client_options(&self) -> Result<ClientOptions, ConfigError> {
        if self.profile.api_token.is_empty() {
            return Err(ConfigError(missing_token_message(&self.config_path, &self.profile_name)));
        }
        let p = &self.profile;
        let mut opts = ClientOptions::new(p.base_url.clone(), p.api_token.clone());
        opts.timeout = Duration::from_secs(p.timeout);
        opts.run_timeout = Duration::from_secs(p.run_timeout);
        opts.stream_idle_timeout = Duration::from_secs(p.stream_idle_timeout);
        opts.retry = RetryPolicy { max_retries: p.max_retries, ..RetryPolicy::default() };
        opts.server = self.server;
        // A signed-in token is renewed as the client goes (before it ends, after a refusal).
        let renew: Option<std::sync::Arc<dyn crate::coze::token::Renew>> = match self.token_source {
            Source::SignedIn => Some(std::sync::Arc::new(crate::auth::SignedIn {
                config_path: self.config_path.clone(),
                profile: self.profile_name.clone(),
            })),
            Source::Jwt => crate::auth::JwtApp::of(&self.profile)
                .ok()
                .flatten()
                .map(|a| std::sync::Arc::new(a) as std::sync::Arc<dyn crate::coze::token::Renew>),
            _ => None,
        };
        if let (Some(renew), Some(expires_at)) = (renew, self.token_expires_at) {
            opts.renewal = Some(crate::coze::Renewal { expires_at, renew });
        }
        Ok(opts)
    }

    /// `coze.cn` or `coze.com` (or the host, for anything else).
    pub fn region(&self) -> String {
        region_of(&self.profile.base_url)
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("logs").join("coze-tui.log")
    }
}

pub fn region_of(base_url: &str) -> String {
    let host = parse_base_url(base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    if host.ends_with("coze.cn") {
        "coze.cn".into()
    } else if host.ends_with("coze.com") {
        "coze.com".into()
    } else {
        host
    }
}

pub fn missing_token_message(config_path: &Path, profile: &str) -> String {
    format!(
        "no Coze API token is set for profile {profile:?}.\n\
         Set one of:\n\
         \x20 export COZE_API_TOKEN=pat_...            (a personal access token from https://www.coze.cn/open/oauth/pats)\n\
         \x20 export COZE_API_BASE=https://api.coze.com (only for coze.com accounts; coze.cn is the default)\n\
         or run `coze-tui config init` and set api_token in {},\n\
         or sign in with a code: set oauth_client_id there, then `coze-tui login`.\n\
         To look around without an account, run `coze-tui demo`.",
        config_path.display()
    )
}

/// Where the config file lives by default (confy's per-user location).
pub fn default_config_path() -> Result<PathBuf, ConfigError> {
    confy::get_configuration_file_path(APP_NAME, "config")
        .map_err(|e| ConfigError(format!("cannot find the config directory ({e}); pass --config PATH")))
}

/// Where the ledger and logs live by default.
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    use etcetera::app_strategy::{AppStrategy, AppStrategyArgs, choose_app_strategy};
    let args = AppStrategyArgs { top_level_domain: "rs".into(), author: String::new(), app_name: APP_NAME.into() };
    choose_app_strategy(args)
        .map(|s| s.data_dir())
        .map_err(|e| ConfigError(format!("cannot find the data directory ({e}); pass --data-dir PATH")))
}

/// Parses and validates a config file's text. Errors name the file, the line and the key.
pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim_end();
        let at = e
            .span()
            .map(|s| {
                let (l, c) = line_col(text, s.start);
                let key = key_at(text, l).map(|k| format!(" ({k})")).unwrap_or_default();
                format!(" at line {l}, column {c}{key}")
            })
            .unwrap_or_default();
        ConfigError(format!("config file {}{at}: {msg}", path.display()))
    })?;
    for (name, p) in &file.profiles {
        let fail = |key: &str, problem: String| {
            let line = key_line(text, name, key).map(|l| format!(" at line {l}")).unwrap_or_default();
            Err(ConfigError(format!("config file {}{line}: profiles.{name}.{key}: {problem}", path.display())))
        };
        if let Err(m) = parse_base_url(&p.base_url) {
            return fail("base_url", m);
        }
        for (key, value, max) in [
            ("timeout", p.timeout, 3600),
            ("run_timeout", p.run_timeout, 3600),
            ("stream_idle_timeout", p.stream_idle_timeout, 86_400),
        ] {
            if !(1..=max).contains(&value) {
                return fail(key, format!("{value} seconds: use 1 to {max}"));
            }
        }
        for b in &p.workflows {
            if b.id.is_empty() || !b.id.chars().all(|c| c.is_ascii_digit()) {
                return fail("workflows", format!("id {:?} is not a workflow id (decimal digits)", b.id));
            }
        }
        if p.max_retries > 10 {
            return fail("max_retries", format!("{} is too many; use at most 10", p.max_retries));
        }
        if p.daily_request_limit.is_some_and(|n| !(1..=100_000_000).contains(&n)) {
            return fail("daily_request_limit", "must be between 1 and 100000000 (leave it out for no limit)".into());
        }
        let poll = &p.poll;
        if poll.initial_interval_ms < 100
            || poll.max_interval_ms < poll.initial_interval_ms
            || poll.max_interval_ms > 3_600_000
        {
            return fail("poll", "need 100 <= initial_interval_ms <= max_interval_ms <= 3600000".into());
        }
        if !(poll.backoff.is_finite() && (1.0..=10.0).contains(&poll.backoff)) {
            return fail("poll", format!("backoff {} must be between 1 and 10", poll.backoff));
        }
        if !(poll.qps.is_finite() && poll.qps > 0.0 && poll.qps <= 500.0) {
            return fail("poll", format!("qps {} must be above 0 and at most 500", poll.qps));
        }
        if !(2..=3600).contains(&poll.lease_secs) {
            return fail("poll", format!("lease_secs {} must be between 2 and 3600", poll.lease_secs));
        }
    }
    // A default profile that names no table is a typo, except the built-in "default".
    if let Some(d) = &file.default_profile
        && d != DEFAULT_PROFILE
        && !file.profiles.contains_key(d)
    {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("default_profile"))
            .map(|i| format!(" at line {}", i + 1));
        return Err(ConfigError(format!(
            "config file {}{}: default_profile {d:?} is not one of the [profiles.*] tables",
            path.display(),
            line.unwrap_or_default()
        )));
    }
    Ok(file)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// The dotted key assigned on 1-based `line` (e.g. `profiles.default.timeout`), if any.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let key = here.split_once('=')?.0.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

/// The line of `key` inside `[profiles.NAME]` (or its sub-tables), for error messages.
fn key_line(text: &str, profile: &str, key: &str) -> Option<usize> {
    let header = format!("[profiles.{profile}");
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('[') {
            inside = t.starts_with(&header) || t.starts_with(&format!("[profiles.\"{profile}\""));
            if inside && key == "poll" && t.contains(".poll") {
                return Some(i + 1);
            }
            continue;
        }
        if inside && t.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('=')) {
            return Some(i + 1);
        }
    }
    None
}

/// Writes the documented example config, readable only by its owner. Refuses to overwrite.
pub fn init(path: &Path, force: bool) -> Result<(), ConfigError> {
    if path.exists() && !force {
        return Err(ConfigError(format!("{} already exists; pass --force to replace it", path.display())));
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|e| ConfigError(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_private(path, EXAMPLE.as_bytes()).map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))
}

/// Writes a file created with mode 0600 (it may hold a token).
/// Creates `dir` and the parents it needs, each one created here 0700 (ledgers, logs and
/// configs are private). Directories that exist are left as they are.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Opens `path` for appending, created 0600 (and tightened to 0600 if it was wider).
pub fn append_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let f = opts.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        opts.open(path)
    }
}

pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let mut f = opts.open(path)?;
        // An existing file keeps its mode on open; tighten it too.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        opts.open(path)?.write_all(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/tmp/c.toml")
    }

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let file = parse(EXAMPLE, Path::new("config.example.toml")).unwrap();
        let default = file.profiles.get("default").expect("the example has a default profile");
        assert_eq!(Profile { api_token: Secret::default(), ..default.clone() }, Profile::default());
        assert!(file.profiles.contains_key("global"), "the example shows a coze.com profile");
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("[profiles.default]\nbase_url = \"https://api.coze.cn\"\ntimeot = 3\n", &p()).unwrap_err();
        assert!(e.0.contains("/tmp/c.toml") && e.0.contains("line 3") && e.0.contains("timeot"), "{e}");
        let e = parse("[profiles.work]\n\nbase_url = \"api.coze.com\"\n", &p()).unwrap_err();
        assert!(e.0.contains("line 3") && e.0.contains("profiles.work.base_url"), "{e}");
        let e = parse("[profiles.default]\ntimeout = \"ten\"\n", &p()).unwrap_err();
        assert!(e.0.contains("line 2") && e.0.contains("profiles.default.timeout"), "{e}");
        let e = parse("[profiles.default\n", &p()).unwrap_err();
        assert!(e.0.contains("line 1"), "{e}");
        let e = parse("default_profile = \"nope\"\n[profiles.a]\n", &p()).unwrap_err();
        assert!(e.0.contains("nope") && e.0.contains("line 1"), "{e}");
    }

    #[test]
    fn precedence_flag_env_file_default() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, "default_profile = \"cn\"\n[profiles.cn]\napi_token = \"pat_file\"\n[profiles.com]\nbase_url = \"https://api.coze.com\"\napi_token = \"pat_com\"\n").unwrap();
        let over =
            Overrides { config_path: Some(cfg.clone()), data_dir: Some(dir.path().into()), ..Default::default() };

        let s = Settings::load(&over, &Env::default()).unwrap();
        assert_eq!(
            (s.profile_name.as_str(), s.profile.api_token.expose(), s.token_source),
            ("cn", "pat_file", Source::File)
        );
        assert_eq!(s.region(), "coze.cn");

        let env = Env::from_pairs([("COZE_TUI_PROFILE", "com"), ("COZE_API_TOKEN", "pat_env")]);
        let s = Settings::load(&over, &env).unwrap();
        assert_eq!(
            (s.profile_name.as_str(), s.profile.api_token.expose(), s.token_source),
            ("com", "pat_env", Source::Env)
        );
        assert_eq!(s.region(), "coze.com");

        let env = Env::from_pairs([("COZE_API_BASE", "https://api.coze.com")]);
        let flagged =
            Overrides { base_url: Some("http://127.0.0.1:9".into()), profile: Some("cn".into()), ..over.clone() };
        let s = Settings::load(&flagged, &env).unwrap();
        assert_eq!((s.profile.base_url.as_str(), s.base_url_source), ("http://127.0.0.1:9", Source::Flag));

        let missing = Overrides { profile: Some("nope".into()), ..over.clone() };
        let e = Settings::load(&missing, &Env::default()).unwrap_err();
        assert!(e.0.contains("nope") && e.0.contains("cn, com"), "{e}");
    }

    #[test]
    fn missing_config_gives_defaults_and_token_hint() {
        let dir = tempfile::tempdir().unwrap();
        let over = Overrides {
            config_path: Some(dir.path().join("none.toml")),
            data_dir: Some(dir.path().into()),
            ..Default::default()
        };
        let s = Settings::load(&over, &Env::default()).unwrap();
        assert!(!s.config_exists);
        assert_eq!(s.profile, Profile::default());
        let e = s.client_options().unwrap_err();
        assert!(
            e.0.contains("COZE_API_TOKEN") && e.0.contains("COZE_API_BASE") && e.0.contains("coze-tui demo"),
            "{e}"
        );
        let env = Env::from_pairs([("COZE_API_BASE", "not a url")]);
        assert!(Settings::load(&over, &env).unwrap_err().0.contains("COZE_API_BASE"));
    }

    #[cfg(unix)]
    #[test]
    fn init_writes_mode_0600_and_refuses_to_overwrite() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        init(&path, false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(init(&path, false).is_err());
        init(&path, true).unwrap();
        parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    }
}
