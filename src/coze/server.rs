//! Which kind of server a base URL is: hosted Coze (coze.cn, coze.com) or a self-hosted Coze
//! Studio, whose OpenAPI serves fewer routes, at other paths, with other envelopes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    /// Hosted Coze (api.coze.cn, api.coze.com).
    #[default]
    Coze,
    /// Self-hosted Coze Studio (github.com/coze-dev/coze-studio).
    Studio,
}

impl Server {
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Coze => "coze",
            Server::Studio => "studio",
        }
    }

    /// Hosted Coze answers at these hosts and nowhere else: no need to ask.
    pub fn known_for(base_url: &str) -> Option<Self> {
        let host = reqwest::Url::parse(base_url.trim()).ok()?.host_str()?.to_ascii_lowercase();
        let hosted = ["coze.cn", "coze.com"].iter().any(|d| host == *d || host.ends_with(&format!(".{d}")));
        hosted.then_some(Server::Coze)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_coze_is_known_by_its_host() {
        assert_eq!(Server::known_for("https://api.coze.cn"), Some(Server::Coze));
        assert_eq!(Server::known_for("https://api.coze.com/"), Some(Server::Coze));
        assert_eq!(Server::known_for("http://127.0.0.1:8888"), None);
        assert_eq!(Server::known_for("http://notcoze.com"), None, "a look-alike host is asked");
    }
}
