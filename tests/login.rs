//! Signing in with the OAuth device grant against the simulator: approve, refuse, expire,
//! the tokens kept privately, renewed before they end by exactly one of two processes,
//! used by every command, and forgotten on logout.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use coze_tui::sim::{Approval, SimOptions, Simulator};
use tokio::io::AsyncBufReadExt;

fn signed_in_cmd(sim: &Simulator, dir: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = coze_tui(sim, dir, args);
    cmd.env_remove("COZE_API_TOKEN");
    cmd
}

fn config(dir: &Path) {
    std::fs::write(dir.join("config.toml"), "[profiles.default]\noauth_client_id = \"sim-device-client\"\n").unwrap();
}

/// Runs `login`, and when it shows its code, decides it as the person would.
async fn login(sim: &Simulator, dir: &Path, decide: Approval) -> Out {
    let mut cmd = signed_in_cmd(sim, dir, &["login", "--json"]);
    cmd.stdin(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut err = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    while let Some(line) = err.next_line().await.unwrap() {
        said.push_str(&line);
        said.push('\n');
        if let Some(code) = line.split("enter the code ").nth(1).and_then(|r| r.split_whitespace().next()) {
            assert!(sim.decide_device_code(code, decide), "the simulator issued {code}");
            break;
        }
    }
    while let Some(line) = err.next_line().await.unwrap() {
        said.push_str(&line);
        said.push('\n');
    }
    let out = child.wait_with_output().await.unwrap();
    Out { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into(), stderr: said }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_kept_privately_used_renewed_once_and_forgotten() {
    let sim = sim_with(SimOptions { oauth_interval_s: 0, oauth_access_ttl_s: 600, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let none = output_of(signed_in_cmd(&sim, d, &["login"]), None).await;
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("oauth_client_id"), "{}", none.stderr);
    config(d);

    let out = login(&sim, d, Approval::Approved).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("/open/oauth/device?user_code="), "{}", out.stderr);
    assert!(out.stderr.contains("█") || out.stderr.contains("▀"), "a QR code\n{}", out.stderr);
    let creds = d.join("credentials.toml");
    let text = std::fs::read_to_string(&creds).unwrap();
    let access = text.lines().find_map(|l| l.strip_prefix("access_token = ")).unwrap().trim_matches('"').to_string();
    assert!(!out.stdout.contains(&access) && !out.stderr.contains(&access), "the token is never shown");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Every command uses it; health says which credential and until when.
    let h = output_of(signed_in_cmd(&sim, d, &["health", "--json"]), None).await.json();
    assert_eq!((h["auth_ok"].as_bool(), h["credential"].as_str()), (Some(true), Some("oauth")));
    assert!(h["expires_at"].as_str().is_some());
    let ws = output_of(signed_in_cmd(&sim, d, &["workspaces", "--json"]), None).await;
    assert_eq!(ws.code, 0, "{}", ws.stderr);
    assert!(!ws.stdout.contains(&access) && !ws.stderr.contains(&access));
    assert_eq!(sim.stats().oauth_refreshes, 0, "a token with time left is not renewed");

    // About to end: two processes at once renew it exactly once (the other waits for the
    // lock and finds it renewed), and both go on working.
    let soon = coze_tui::tasks::now_ms() / 1000 + 10;
    let edited: String = text
        .lines()
        .map(|l| if l.starts_with("expires_at") { format!("expires_at = {soon}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&creds, &edited).unwrap();
    let (a, b) = tokio::join!(
        output_of(signed_in_cmd(&sim, d, &["health", "--json"]), None),
        output_of(signed_in_cmd(&sim, d, &["health", "--json"]), None)
    );
    assert_eq!((a.json()["auth_ok"].as_bool(), b.json()["auth_ok"].as_bool()), (Some(true), Some(true)));
    assert_eq!(sim.stats().oauth_refreshes, 1, "one refresh for two processes");
    assert!(!std::fs::read_to_string(&creds).unwrap().contains(&access), "the new tokens are kept");

    // A refresh token already spent (the first one, refreshed above) is refused: the sign-in
    // is forgotten, so no process tries it again, and the message says what to do.
    let renewed = std::fs::read_to_string(&creds).unwrap();
    std::fs::write(&creds, &edited).unwrap();
    let spent = output_of(signed_in_cmd(&sim, d, &["health"]), None).await;
    assert_eq!(spent.code, 3, "{}", spent.stderr);
    assert!(spent.stderr.contains("coze-tui login"), "{}", spent.stderr);
    assert!(!std::fs::read_to_string(&creds).unwrap().contains("[profiles.default]"), "forgotten");
    std::fs::write(&creds, renewed).unwrap();

    // A token in the environment still wins.
    let pat = output_of(coze_tui(&sim, d, &["health", "--json"]), None).await.json();
    assert_eq!(pat["credential"], "env");

    // Logout forgets; then there is no token.
    let out = output_of(signed_in_cmd(&sim, d, &["logout"]), None).await;
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("Signed out"), "{}", out.stderr);
    let after = output_of(signed_in_cmd(&sim, d, &["health"]), None).await;
    assert_eq!(after.code, 2, "{}", after.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_expired_sign_in_keeps_nothing() {
    let sim = sim_with(SimOptions { oauth_interval_s: 0, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let out = login(&sim, dir.path(), Approval::Denied).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("refused"), "{}", out.stderr);
    assert!(!dir.path().join("credentials.toml").exists());

    let quick = sim_with(SimOptions { oauth_interval_s: 0, oauth_code_ttl_s: 1, ..opts() }).await;
    let mut cmd = signed_in_cmd(&quick, dir.path(), &["login", "--no-qr"]);
    cmd.stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(20), output_of(cmd, None)).await.unwrap();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("expired") && !out.stderr.contains("▀"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_client_renews_its_token_before_it_ends_and_after_a_refusal() {
    use coze_tui::config::{Env, Overrides, Settings};
    let sim = sim_with(SimOptions { oauth_interval_s: 0, oauth_access_ttl_s: 600, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    sign_in(&sim, dir.path()).await;
    let url = sim.url();
    let creds = coze_tui::auth::credentials::path_for(&dir.path().join("config.toml"));

    let env = Env::from_pairs([("COZE_API_BASE", url.as_str())]);
    let overrides = Overrides {
        config_path: Some(dir.path().join("config.toml")),
        data_dir: Some(dir.path().join("data")),
        ..Default::default()
    };
    let mut settings = Settings::load(&overrides, &env).unwrap();
    coze_tui::auth::use_signed_in(&mut settings).await.unwrap();
    let client = coze_tui::coze::CozeClient::new(settings.client_options().unwrap()).unwrap();
    client.list_workspaces().await.unwrap();
    assert_eq!(sim.stats().oauth_refreshes, 0);

    // Coze stops taking the token early: refused once, renewed, sent again, no error.
    sim.expire_access_tokens();
    client.list_workspaces().await.unwrap();
    assert_eq!(sim.stats().oauth_refreshes, 1);

    // A token ending within a minute is renewed before the request.
    let mut soon = coze_tui::auth::credentials::load(&creds, "default").unwrap().unwrap();
    soon.expires_at = coze_tui::tasks::now_ms() / 1000 + 30;
    let ending = coze_tui::coze::ClientOptions {
        token: soon.access_token.clone(),
        renewal: Some(coze_tui::coze::Renewal {
            expires_at: soon.expires_at,
            renew: std::sync::Arc::new(coze_tui::auth::SignedIn {
                config_path: dir.path().join("config.toml"),
                profile: "default".into(),
            }),
        }),
        ..settings.client_options().unwrap()
    };
    coze_tui::auth::credentials::store_locked(&creds, "default", Some(&soon)).unwrap();
    let client = coze_tui::coze::CozeClient::new(ending).unwrap();
    client.list_workspaces().await.unwrap();
    assert_eq!(sim.stats().oauth_refreshes, 2);

    // Signed out meanwhile: the refusal says how to sign in again.
    coze_tui::auth::credentials::store_locked(&creds, "default", None).unwrap();
    sim.expire_access_tokens();
    let e = client.list_workspaces().await.unwrap_err();
    assert!(e.message.contains("coze-tui login"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_app_signs_a_jwt_for_its_tokens() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A key pair made here: the simulator knows the public half, the profile the private.
    let private = rsa::RsaPrivateKey::new(&mut rand_core_rng(), 2048).unwrap();
    let key_file = d.join("app.pem");
    std::fs::write(&key_file, private.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
    let public_file = d.join("app.pub.pem");
    std::fs::write(&public_file, private.to_public_key().to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
    let sim = sim_with(SimOptions { jwt_public_key_file: Some(public_file), ..opts() }).await;
    let profile = format!(
        "[profiles.default]\nauth = \"jwt\"\njwt_app_id = \"sim-jwt-app\"\njwt_key_id = \"sim-key\"\njwt_private_key_file = \"{}\"\n",
        key_file.display()
    );
    std::fs::write(d.join("config.toml"), profile).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = output_of(signed_in_cmd(&sim, d, &["health"]), None).await;
        assert_ne!(open.code, 0);
        assert!(open.stderr.contains("chmod 600"), "a key others can read is refused\n{}", open.stderr);
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let h = output_of(signed_in_cmd(&sim, d, &["health", "--json"]), None).await.json();
    assert_eq!((h["auth_ok"].as_bool(), h["credential"].as_str()), (Some(true), Some("jwt")), "{h}");
    assert_eq!(sim.stats().jwt_exchanges, 1);
    // No refresh token: each process buys its token with a new JWT (used once).
    sim.expire_access_tokens();
    let again = output_of(signed_in_cmd(&sim, d, &["workspaces", "--json"]), None).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(sim.stats().jwt_exchanges, 2);
}

/// An RNG for key generation (rsa's `rand_core` 0.6).
fn rand_core_rng() -> impl rsa::rand_core::CryptoRngCore {
    rsa::rand_core::OsRng
}

/// Signs `dir`'s default profile in, in-process (the code approved as soon as it is shown).
async fn sign_in(sim: &Simulator, dir: &Path) {
    let url = sim.url();
    let code = coze_tui::auth::device_code(&url, "sim-device-client", None).await.unwrap();
    assert!(sim.decide_device_code(&code.user_code, Approval::Approved));
    let c = coze_tui::auth::wait_for_approval(&url, "sim-device-client", &code, || {}).await.unwrap();
    let creds = coze_tui::auth::credentials::path_for(&dir.join("config.toml"));
    coze_tui::auth::credentials::store_locked(&creds, "default", Some(&c)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_run_waits_for_a_new_sign_in_instead_of_ending_unknown() {
    use coze_tui::config::{Env, Overrides, PollSettings, Settings};
    use coze_tui::tasks::*;
    let sim = sim_with(SimOptions { oauth_interval_s: 0, slow_ms: 1500, async_ms: 1500, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d);
    sign_in(&sim, d).await;
    let env = Env::from_pairs([("COZE_API_BASE", sim.url().as_str())]);
    let overrides =
        Overrides { config_path: Some(d.join("config.toml")), data_dir: Some(d.join("data")), ..Default::default() };
    let mut settings = Settings::load(&overrides, &env).unwrap();
    coze_tui::auth::use_signed_in(&mut settings).await.unwrap();
    let client = coze_tui::coze::CozeClient::new(settings.client_options().unwrap()).unwrap();
    let ledger = std::sync::Arc::new(Ledger::open_in(&d.join("data")).unwrap());
    let poll = PollSettings { initial_interval_ms: 100, max_interval_ms: 200, qps: 100.0, ..PollSettings::default() };
    let mut cfg = RunnerConfig::new("default", poll);
    cfg.sign_in_retry = Duration::from_millis(200);
    let runner = Runner::start(client, ledger, cfg).await;
    let task = runner
        .submit(NewTask {
            workflow_id: wf(&sim, "slow"),
            workflow_name: None,
            workspace_id: None,
            parameters: Default::default(),
            mode: RunMode::Async,
            name: None,
            description: None,
            context: Default::default(),
        })
        .await
        .unwrap();
    // Signed out while it runs: the watch cannot read run history, and waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    coze_tui::auth::credentials::store_locked(
        &coze_tui::auth::credentials::path_for(&d.join("config.toml")),
        "default",
        None,
    )
    .unwrap();
    sim.expire_access_tokens();
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(runner.find(&task.id).await.unwrap().status, TaskStatus::Running, "not given up on");
    // Signed in again (another terminal): the watch goes on to the end.
    sign_in(&sim, d).await;
    let mut done = None;
    for _ in 0..100 {
        let t = runner.find(&task.id).await.unwrap();
        if t.status.is_settled() {
            done = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done.map(|t| t.status), Some(TaskStatus::Succeeded));
    runner.shutdown().await;
}
