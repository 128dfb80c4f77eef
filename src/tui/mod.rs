//! The terminal: sets it up and always restores it (quit, error, panic, SIGTERM, SIGHUP,
//! SIGINT, SIGQUIT, Ctrl-Z), turns its events into messages for the session, redraws only
//! after a change (inside synchronized output), and carries out what only it can: the
//! clipboard (OSC 52), `$EDITOR`, and suspending to the shell.

mod clipboard;

use std::io::{Write, stdout};
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};

use crate::app::{Command, Msg};
use crate::config::{Env, Overrides};
use crate::session::{MsgSender, Session, SessionOptions};

/// The longest the screen goes without a frame while messages keep coming.
const DRAW_AT_LEAST: Duration = Duration::from_millis(100);

/// Options for one dashboard run.
pub struct DashboardOptions {
    pub overrides: Overrides,
    pub env: Env,
    /// Start on the embedded simulator (`coze-tui demo`), as this kind of server.
    pub demo: Option<crate::coze::Server>,
}

/// Runs the dashboard until the user quits.
pub async fn run(opts: DashboardOptions) -> Result<(), String> {
    let options = SessionOptions { overrides: opts.overrides, env: opts.env, demo: opts.demo, log_to_file: true };
    let mut session = Session::open(options).await?;
    let mouse = session.settings().ui.mouse;

    // Asked now, off the UI thread, so the first copy does not wait for tmux.
    tokio::task::spawn_blocking(clipboard::blocked);
    let mut terminal = setup(mouse);
    restore_on_panic(mouse);
    let tx = session.sender();
    let mut events = spawn_events(tx.clone());
    spawn_signals(tx.clone(), mouse);
    let size = terminal.size().map(|s| (s.width, s.height)).unwrap_or((80, 24));
    session.handle(Msg::Resize(size.0, size.1)).await;

    let mut dirty = true;
    let mut next_tick = tokio::time::Instant::now();
    let mut last_draw = std::time::Instant::now();
    'main: loop {
        // Draw when the queue is empty: a burst of updates (a stream's batch of messages, a
        // batch of runs settling) is one frame. A queue that never empties still gets a frame
        // every DRAW_AT_LEAST.
        if dirty && (session.queued() == 0 || last_draw.elapsed() >= DRAW_AT_LEAST) {
            session.app.drawn = draw(&mut terminal, &session.app);
            dirty = false;
            last_draw = std::time::Instant::now();
        }
        let tick_every = session.app.tick_every();
        // A tick due sooner now (a new toast, runs started) is not kept waiting for the old one.
        if let Some(every) = tick_every {
            next_tick = next_tick.min(tokio::time::Instant::now() + every);
        }
        let msg = tokio::select! {
            m = session.next(Duration::from_secs(3600)) => m,
            _ = tokio::time::sleep_until(next_tick), if tick_every.is_some() => {
                next_tick = tokio::time::Instant::now() + tick_every.unwrap_or_default();
                Some(Msg::Tick)
            }
        };
        let Some(msg) = msg else { continue };
        let commands = session.handle(msg).await;
        dirty = true;
        for cmd in commands {
            match cmd {
                Command::Quit => break 'main,
                Command::Copy(text) => {
                    // The terminal never says whether it took the copy: say what was done, and
                    // what is known to stop it.
                    let sent = clipboard::osc52(&text);
                    let toast = match (clipboard::blocked(), sent < text.len()) {
                        (Some(why), _) => format!("sent {sent} bytes to the terminal, but {why}"),
                        (None, true) => format!(
                            "sent the first {sent} of {} bytes to the terminal's clipboard (terminals cap OSC 52); `coze-tui task ID --json` has it all",
                            text.len()
                        ),
                        (None, false) => format!("sent {sent} bytes to the terminal's clipboard (OSC 52)"),
                    };
                    session.handle(Msg::Toast(toast)).await;
                }
                // Another program takes the terminal (the editor, the shell after Ctrl-Z);
                // it is set up again afterwards.
                Command::OpenEditor(text) => {
                    events.abort();
                    teardown(mouse);
                    let edited = edit_externally(&text).await;
                    terminal = setup(mouse);
                    let _ = terminal.clear();
                    events = spawn_events(tx.clone());
                    session.handle(Msg::Edited(edited)).await;
                }
                Command::Bell => {
                    use std::io::Write;
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Command::Suspend => {
                    events.abort();
                    teardown(mouse);
                    suspend_self();
                    terminal = setup(mouse);
                    let _ = terminal.clear();
                    events = spawn_events(tx.clone());
                }
                _ => {}
            }
        }
    }
    // The terminal first: leaving must look instant even if the ledger is busy.
    teardown(mouse);
    session.shutdown().await;
    Ok(())
}

/// Raw mode, alternate screen, bracketed paste (and the mouse when asked). Done by hand rather
/// than with `ratatui::init`, whose panic hook and restore print their own failures: with the
/// terminal gone (a dropped SSH connection) that print panics inside the panic hook. Also
/// takes the terminal back after another program had it (`$EDITOR`, the shell after Ctrl-Z).
fn setup(mouse: bool) -> DefaultTerminal {
    let _ = ratatui::crossterm::terminal::enable_raw_mode();
    let _ = execute!(stdout(), ratatui::crossterm::terminal::EnterAlternateScreen, EnableBracketedPaste);
    if mouse {
        let _ = execute!(stdout(), EnableMouseCapture);
    }
    match ratatui::Terminal::new(ratatui::prelude::CrosstermBackend::new(stdout())) {
        Ok(t) => t,
        // Only fails if the size cannot be read; a fixed size still draws something.
        Err(_) => {
            let fixed = ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 80, 24));
            match ratatui::Terminal::with_options(
                ratatui::prelude::CrosstermBackend::new(stdout()),
                ratatui::TerminalOptions { viewport: fixed },
            ) {
                Ok(t) => t,
                Err(_) => std::process::exit(2),
            }
        }
    }
}

/// A panic anywhere (the UI or a background task) restores the terminal fully (mouse and
/// paste modes too), removes the demo's throwaway directory, prints the report, and ends the
/// process: a half-working dashboard drawing over a cooked terminal helps no one.
fn restore_on_panic(mouse: bool) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        teardown(mouse);
        crate::demo::remove_registered();
        previous(info);
        std::process::exit(101);
    }));
}

/// Leaves the terminal as it was found: cooked mode, main screen, cursor shown. Every step is
/// tried and failures are ignored: the terminal may be gone, and there is no one to tell.
pub fn teardown(mouse: bool) {
    if mouse {
        let _ = execute!(stdout(), DisableMouseCapture);
    }
    let _ = execute!(stdout(), DisableBracketedPaste);
    let _ = ratatui::crossterm::terminal::disable_raw_mode();
    let _ = execute!(stdout(), ratatui::crossterm::terminal::LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
}

/// Draws a frame and returns where things went (the app keeps it for clicks and paging).
fn draw(terminal: &mut DefaultTerminal, app: &crate::app::App) -> crate::app::Areas {
    let mut drawn = app.drawn.clone();
    // One frame appears at once: no tearing over slow links.
    let _ = execute!(stdout(), BeginSynchronizedUpdate);
    let _ = terminal.draw(|f| drawn = crate::ui::draw(f, app));
    let _ = execute!(stdout(), EndSynchronizedUpdate);
    let _ = stdout().flush();
    drawn
}

/// Terminal events become messages, in a task that is stopped while another program (the
/// editor, the shell after Ctrl-Z) owns the terminal.
fn spawn_events(tx: MsgSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = ratatui::crossterm::event::EventStream::new();
        while let Some(ev) = stream.next().await {
            let msg = match ev {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(Event::Paste(p)) => Msg::Paste(p),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
        // No more input (the terminal went away): leave rather than run on unattended.
        let _ = tx.send(Msg::Quit);
    })
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT from outside (in raw mode Ctrl-C is a key, not a
/// signal) quit cleanly: the terminal is restored and the demo's directory removed on the way
/// out. A second one while quitting ends the process at once, still restoring both.
fn spawn_signals(tx: MsgSender, mouse: bool) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [SignalKind::terminate(), SignalKind::hangup(), SignalKind::interrupt(), SignalKind::quit()];
        let Ok(mut listeners) = kinds.map(signal).into_iter().collect::<Result<Vec<_>, _>>() else { return };
        let mut seen = 0;
        loop {
            let any = futures_util::future::select_all(listeners.iter_mut().map(|l| Box::pin(l.recv())));
            let _ = any.await;
            seen += 1;
            if seen > 1 {
                teardown(mouse);
                crate::demo::remove_registered();
                std::process::exit(143);
            }
            let _ = tx.send(Msg::Quit);
        }
    });
}

fn suspend_self() {
    #[cfg(unix)]
    // SAFETY: raising a signal on our own process; SIGTSTP stops it until SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
}

/// Runs `$VISUAL`/`$EDITOR` (default `vi`) on `text` and returns what was saved.
async fn edit_externally(text: &str) -> Result<String, String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    edit_with(&editor, text).await
}

/// Writes `text` to a private temp file, runs `editor` on it (a command with arguments, like
/// `code -w`, works), and reads it back. The file is removed afterwards.
async fn edit_with(editor: &str, text: &str) -> Result<String, String> {
    let path = std::env::temp_dir().join(format!("coze-tui-{}-{:08x}.json", std::process::id(), rand::random::<u32>()));
    crate::config::write_private(&path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let _cleanup = RemoveOnDrop(path.clone());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi").to_string();
    let args: Vec<String> = parts.map(str::to_string).collect();
    let status = tokio::process::Command::new(&program)
        .args(&args)
        .arg(&path)
        .env_remove("COZE_API_TOKEN")
        .status()
        .await
        .map_err(|e| format!("cannot start the editor {program:?}: {e} (set $VISUAL or $EDITOR)"))?;
    if !status.success() {
        return Err(format!("the editor exited with {status}; the parameters were not changed"));
    }
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read the edited file back: {e}"))
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_editor_edits_a_private_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        // An "editor" that notes the file's mode and path, then edits it.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("editor.sh");
        let d = dir.path().display();
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nstat -c %a \"$1\" > {d}/mode\nprintf %s \"$1\" > {d}/path\nsed -i s/hello/bye/ \"$1\"\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = edit_with(script.to_str().unwrap(), "{\"input\": \"hello\"}").await.unwrap();
        assert_eq!(out, "{\"input\": \"bye\"}");
        assert_eq!(std::fs::read_to_string(dir.path().join("mode")).unwrap().trim(), "600", "private while edited");
        let edited = std::fs::read_to_string(dir.path().join("path")).unwrap();
        assert!(!std::path::Path::new(&edited).exists(), "{edited} is removed afterwards");
        assert!(edit_with("false", "{}").await.unwrap_err().contains("not changed"));
        assert!(edit_with("/nonexistent/editor", "{}").await.unwrap_err().contains("$EDITOR"));
    }
}
