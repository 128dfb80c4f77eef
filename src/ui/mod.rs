//! Pure drawing of the app state into a frame: panes, status bar, overlays. No state changes
//! beyond scroll offsets, no I/O. Work per frame is proportional to what is visible.

mod chat;
mod inputs;
mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::help::HelpKind;
use crate::app::{Action, App, Areas, Context, Health, LineKind, Overlay, Pane, Picker, SignIn};
use crate::params::Severity;
use crate::tasks::{TaskStatus, TaskSummary};
use crate::text::{pad, truncate};
pub use theme::Theme;

/// Below this the dashboard shows a notice instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// At least this big, all panes show at once; smaller, one pane at a time with tabs.
pub const WIDE_WIDTH: u16 = 120;
pub const WIDE_HEIGHT: u16 = 30;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// The editor's ways to run, as its hints name them.
const RUNS: [(Action, &str); 4] = [
    (Action::RunSync, "sync"),
    (Action::RunAsync, "async"),
    (Action::RunStream, "stream"),
    (Action::RunNamed, "named"),
];

/// Where each pane is drawn: the focused one alone when zoomed; all five when the terminal
/// is big enough, sized by their content (short lists give their rows to what is below them,
/// the editor widens for its longest line, and from 160 columns Detail has the widest
/// column); none (tabs instead) when smaller.
pub fn layout(area: Rect, app: &App) -> Vec<(Pane, Rect)> {
    let [main, _status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    if app.zoomed {
        return vec![(app.focus, main)];
    }
    if area.width < WIDE_WIDTH || area.height < WIDE_HEIGHT {
        return vec![];
    }
    let w = main.width;
    let (left_pct, right_pct) = if w >= 160 { (22, 46) } else { (26, 38) };
    let left = w * left_pct / 100;
    let mid_least = w - left - w * right_pct / 100;
    // Line numbers, borders and a little room to type.
    let longest = u16::try_from(app.editor.widest).unwrap_or(u16::MAX).saturating_add(10);
    let mid = longest.clamp(mid_least, (w * 45 / 100).max(mid_least));
    let [left, mid, right] =
        Layout::horizontal([Constraint::Length(left), Constraint::Length(mid), Constraint::Min(1)]).areas(main);
    let h = main.height;
    // A list takes the rows it needs (borders included), within a share of its column.
    let rows = |n: usize, least: u16, most_pct: u16| (n as u16).saturating_add(2).clamp(least, h * most_pct / 100);
    let ws_h = rows(app.workspaces.visible.len().max(1), 4, 35);
    let [ws, wf] = Layout::vertical([Constraint::Length(ws_h), Constraint::Min(1)]).areas(left);
    let tasks_h = rows(app.tasks.list.visible.len().max(3), 5, 45);
    let [tasks, detail] = Layout::vertical([Constraint::Length(tasks_h), Constraint::Min(1)]).areas(right);
    vec![
        (Pane::Workspaces, ws),
        (Pane::Workflows, wf),
        (Pane::Editor, mid),
        (Pane::Tasks, tasks),
        (Pane::Detail, detail),
    ]
}

fn tab_label(p: Pane, app: &App) -> String {
    let i = Pane::ALL.iter().position(|x| *x == p).unwrap_or(0) + 1;
    let badges = if p == Pane::Tasks { task_badges(app) } else { String::new() };
    format!(" {i} {}{badges} ", p.title())
}

/// What in the task list wants a look: runs waiting for an answer, failures not yet opened.
fn task_badges(app: &App) -> String {
    let asking = app.tasks.asking();
    let failed = app.unseen_failures.len();
    let mut s = String::new();
    if asking > 0 {
        s.push_str(&format!(" ?{asking}"));
    }
    if failed > 0 {
        s.push_str(&format!(" ✘{failed}"));
    }
    s
}

/// Draws the whole screen and returns where things went (for clicks and paging).
pub fn draw(f: &mut Frame, app: &App) -> Areas {
    let theme = Theme::from_env();
    let area = f.area();
    let mut drawn = Areas { panes: vec![], tabs: vec![], detail_rows: 0 };
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let quit = app.keymap.hint(Context::Global, Action::Quit, "quits").unwrap_or_default();
        let text =
            format!("terminal too small: {}x{}\nneed {MIN_WIDTH}x{MIN_HEIGHT}\n({quit})", area.width, area.height);
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return drawn;
    }
    if let Some(msg) = &app.first_run {
        draw_first_run(f, area, msg, app, &theme);
        return drawn;
    }
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    drawn.panes = layout(area, app);
    if drawn.panes.is_empty() {
        let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(main);
        drawn.tabs = draw_tabs(f, tabs, app, &theme);
        drawn.panes = vec![(app.focus, body)];
    }
    for (pane, rect) in &drawn.panes {
        draw_pane(f, *rect, *pane, app, &theme);
    }
    drawn.detail_rows = drawn
        .panes
        .iter()
        .find(|(p, _)| *p == Pane::Detail)
        .map(|(_, r)| r.height.saturating_sub(2) as usize)
        .unwrap_or(main.height.saturating_sub(3) as usize);
    draw_status(f, status, app, &theme);
    if let Some(o) = &app.overlay {
        draw_overlay(f, area, o, app, &theme);
    }
    narrow_emoji_selectors(f.buffer_mut());
    drawn
}

/// Terminals disagree on how wide a narrow symbol followed by the emoji selector VS16 is
/// (☀️, 🖼️, ❤️: one column in some, two in others); where they disagree with the frame, the
/// rest of the row shifts and crosses the border. Drawn without the selector, as the symbol
/// and a space, every terminal agrees: one column each.
fn narrow_emoji_selectors(buf: &mut ratatui::buffer::Buffer) {
    let row = buf.area.width as usize;
    // One pass over the cells as stored (row by row): a base and a selector take at least
    // four bytes, so nearly every cell is passed by after one length check.
    for i in 0..buf.content.len() {
        let symbol = buf.content[i].symbol();
        if symbol.len() < 4 || !symbol.contains('\u{FE0F}') {
            continue;
        }
        let Some(base) = symbol.chars().next().filter(|c| c.width() == Some(1)) else { continue };
        // The cells the frame reserved after it (one, for a width of two) become spaces.
        let reserved = symbol.width().saturating_sub(1).min(row - 1 - i % row);
        buf.content[i].set_char(base);
        for cell in &mut buf.content[i + 1..=i + reserved] {
            cell.set_char(' ');
        }
    }
}

fn draw_first_run(f: &mut Frame, area: Rect, msg: &str, app: &App, theme: &Theme) {
    if let Some(login) = &app.login {
        return draw_login(f, area, login, app, theme);
    }
    let block =
        Block::bordered().border_type(BorderType::Rounded).title(" coze-tui: first run ").border_style(theme.focus);
    let mut lines = vec![Line::styled("Welcome. No Coze API token is configured yet.", theme.heading), Line::raw("")];
    lines.extend(msg.lines().map(|l| Line::raw(l.to_string())));
    lines.push(Line::raw(""));
    let km = &app.keymap;
    let keys = [
        (Action::Login, "signs in with a code (no token to paste)"),
        (Action::StartDemo, "opens the demo (an embedded Coze simulator)"),
        (Action::Quit, "quits"),
    ];
    lines.push(Line::styled(km.hints(Context::FirstRun, &keys), theme.heading));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}

/// Signing in: the code and where to enter it on the left, the QR code of that address on
/// the right (it fits at 80x24).
fn draw_login(f: &mut Frame, area: Rect, login: &crate::app::LoginScreen, app: &App, theme: &Theme) {
    use crate::app::LoginScreen;
    let block =
        Block::bordered().border_type(BorderType::Rounded).title(" coze-tui: sign in ").border_style(theme.focus);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let back = app.keymap.hint(Context::Global, Action::Back, "stops").unwrap_or_default();
    match login {
        LoginScreen::Asking => {
            f.render_widget(Paragraph::new(Span::styled("Asking Coze for a sign-in code…", theme.dim)), inner);
        }
        LoginScreen::Failed(why) => {
            let lines = vec![
                Line::styled("The sign-in stopped.", theme.error),
                Line::raw(""),
                Line::raw(why.clone()),
                Line::raw(""),
                Line::styled(format!("{back} goes back"), theme.dim),
            ];
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        LoginScreen::Code { user_code, url, qr, until_ms } => {
            let qr_width = qr.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16;
            let fits = !qr.is_empty() && inner.width >= qr_width + 30 && inner.height >= qr.len() as u16;
            let [text, code] =
                Layout::horizontal([Constraint::Min(20), Constraint::Length(if fits { qr_width + 1 } else { 0 })])
                    .areas(inner);
            let left = ((until_ms - app.clock.now_ms()).max(0) / 1000) as u64;
            let lines = vec![
                Line::styled("On any device, open", theme.heading),
                Line::styled(url.clone(), theme.focus_title),
                Line::raw(""),
                Line::raw("and enter the code"),
                Line::styled(format!("  {user_code}"), theme.heading),
                Line::raw(""),
                Line::styled(
                    if fits { "or scan the QR code." } else { "(a wider terminal shows a QR code)" },
                    theme.dim,
                ),
                Line::raw(""),
                Line::styled(format!("Waiting for approval… ({} min {:02} s left)", left / 60, left % 60), theme.dim),
                Line::styled(format!("{back}; the tokens are kept (0600) and renewed as they are used."), theme.dim),
            ];
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
            if fits {
                let rows: Vec<Line> = qr.iter().map(|l| Line::raw(l.clone())).collect();
                f.render_widget(Paragraph::new(rows), code);
            }
        }
    }
}

/// The tab bar of the compact layout; returns where each tab label went.
fn draw_tabs(f: &mut Frame, area: Rect, app: &App, theme: &Theme) -> Vec<(Pane, Rect)> {
    let mut at = area.x;
    let mut tabs = vec![];
    let spans: Vec<Span> = Pane::ALL
        .iter()
        .map(|p| {
            let span = if *p == app.focus {
                Span::styled(format!("[{}]", tab_label(*p, app).trim()), theme.focus_title)
            } else if *p == Pane::Tasks && !task_badges(app).is_empty() {
                Span::styled(tab_label(*p, app), theme.warning)
            } else {
                Span::styled(tab_label(*p, app), theme.dim)
            };
            let w = (span.content.width() as u16).min(area.right().saturating_sub(at));
            tabs.push((*p, Rect::new(at, area.y, w, 1)));
            at += w;
            span
        })
        .collect();
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    tabs
}

/// A pane's frame: the focused one has a bold title with a marker, not just a colour.
fn pane_block<'a>(pane: Pane, app: &App, theme: &Theme, extra: String) -> Block<'a> {
    let focused = app.focus == pane;
    let i = Pane::ALL.iter().position(|x| *x == pane).unwrap_or(0) + 1;
    let marker = if focused { "▶ " } else { "" };
    let zoom = match app.zoomed.then(|| app.keymap.key(Context::Global, Action::Zoom)).flatten() {
        Some(z) => format!(" [zoom · {z} back]"),
        None => String::new(),
    };
    // A Coze Studio stands in the place of workspaces (it has none).
    let name = if pane == Pane::Workspaces && app.in_studio() { "Server" } else { pane.title() };
    let title = format!(" {marker}{i} {name}{extra}{zoom} ");
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Rounded })
        .border_style(if focused { theme.focus } else { theme.border })
        .title(Span::styled(title, if focused { theme.focus_title } else { theme.title }))
}

fn draw_pane(f: &mut Frame, area: Rect, pane: Pane, app: &App, theme: &Theme) {
    match pane {
        Pane::Workspaces => {
            let extra = picker_suffix(&app.workspaces, app);
            let block = pane_block(pane, app, theme, extra);
            draw_picker(f, area, block, &app.workspaces, app, pane, theme, |w| {
                let kind = match w.workspace_type.as_str() {
                    "personal" => "personal",
                    "studio" => "self-hosted",
                    _ => "team",
                };
                vec![Span::raw(w.name.clone()), Span::styled(format!("  {kind}"), theme.dim)]
            });
        }
        Pane::Workflows => {
            let extra = picker_suffix(&app.workflows, app);
            let block = pane_block(pane, app, theme, extra);
            if app.workspace_id.is_none() && app.workflows.items.is_empty() && !app.workflows.loading {
                let open = app.keymap.key(Context::Lists, Action::Open).unwrap_or_default();
                let text = format!("choose a workspace ({open})");
                f.render_widget(Paragraph::new(Span::styled(text, theme.dim)).block(block), area);
                return;
            }
            if app.in_studio()
                && app.workflows.items.is_empty()
                && !app.workflows.loading
                && app.workflows.error.is_none()
            {
                let add = app.keymap.key(Context::Lists, Action::AddWorkflow).unwrap_or_default();
                let text = format!(
                    "Coze Studio cannot list its workflows: {add} adds one by id, or name them in the config ([[profiles.NAME.workflows]])"
                );
                f.render_widget(
                    Paragraph::new(Span::styled(text, theme.dim)).wrap(Wrap { trim: true }).block(block),
                    area,
                );
                return;
            }
            draw_picker(f, area, block, &app.workflows, app, pane, theme, |w| {
                let draft = w.is_published == Some(false);
                let name = Span::styled(w.workflow_name.clone(), if draft { theme.dim } else { Style::default() });
                let mut spans = vec![name];
                if draft {
                    spans.push(Span::styled("  draft", theme.warning));
                }
                spans
            });
        }
        Pane::Editor => draw_editor(f, area, app, theme),
        Pane::Tasks => draw_tasks(f, area, app, theme),
        Pane::Detail => draw_detail(f, area, app, theme),
    }
}

fn picker_suffix<T>(p: &Picker<T>, app: &App) -> String {
    let mut s = String::new();
    if p.loading {
        s.push_str(&format!(" {}", SPINNER[app.spinner % SPINNER.len()]));
    }
    if !p.filter.is_empty() {
        s.push_str(&format!(" /{}", p.filter));
    }
    if !p.items.is_empty() {
        s.push_str(&format!(" {}/{}", p.visible.len(), p.items.len()));
    }
    s
}

/// Keeps `selected` on screen with as little scrolling as possible.
fn scroll_offset(offset: usize, selected: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

// The frame, where, what, for whom, how it looks, and each row's text: all needed, none shared.
#[allow(clippy::too_many_arguments)]
fn draw_picker<T>(
    f: &mut Frame,
    area: Rect,
    block: Block,
    p: &Picker<T>,
    app: &App,
    pane: Pane,
    theme: &Theme,
    row: impl Fn(&T) -> Vec<Span<'static>>,
) {
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (focused, keymap) = (app.focus == pane, &app.keymap);
    if let Some(e) = &p.error {
        let retry = keymap.hint(Context::Lists, Action::Refresh, "retries").unwrap_or_default();
        let text = vec![Line::styled(format!("✘ {e}"), theme.error), Line::styled(retry, theme.dim)];
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    }
    if p.visible.is_empty() {
        let msg = if p.loading {
            "loading…"
        } else if !p.filter.is_empty() {
            let ctx = if pane == Pane::Tasks { Context::Tasks } else { Context::Lists };
            match keymap.hint(ctx, Action::Back, "clears it") {
                Some(h) => &format!("nothing matches the filter ({h})"),
                None => "nothing matches the filter",
            }
        } else {
            "(empty)"
        };
        f.render_widget(Paragraph::new(Span::styled(msg.to_string(), theme.dim)), inner);
        return;
    }
    let height = inner.height as usize;
    let needle = p.filter.to_lowercase();
    let offset = scroll_offset(p.offset.get(), p.selected, height);
    p.offset.set(offset);
    let lines: Vec<Line> = p
        .visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(pos, i)| {
            let selected = pos == p.selected;
            let mut spans = vec![Span::raw(if selected { "› " } else { "  " })];
            spans.extend(mark_matches(row(&p.items[*i]), &needle, theme.warning.add_modifier(Modifier::BOLD)));
            let line = clip_spans(spans, inner.width as usize);
            if selected { line.style(if focused { theme.selected } else { theme.selected_unfocused }) } else { line }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// The filter's matches in a list row, marked (case ignored; text whose lower case changes
/// its length is left unmarked rather than marked in the wrong place).
fn mark_matches(spans: Vec<Span<'static>>, needle: &str, style: Style) -> Vec<Span<'static>> {
    if needle.is_empty() {
        return spans;
    }
    let mut out = vec![];
    for span in spans {
        let lower = span.content.to_lowercase();
        let text = &span.content;
        let found: Vec<(usize, usize)> = lower.match_indices(needle).map(|(i, m)| (i, i + m.len())).collect();
        let aligned = lower.len() == text.len()
            && found.iter().all(|(a, b)| text.is_char_boundary(*a) && text.is_char_boundary(*b));
        if found.is_empty() || !aligned {
            out.push(span);
            continue;
        }
        let mut at = 0;
        for (start, end) in found {
            let found = &text[start..end];
            if start > at {
                out.push(Span::styled(span.content[at..start].to_string(), span.style));
            }
            out.push(Span::styled(found.to_string(), span.style.patch(style)));
            at = end;
        }
        if at < span.content.len() {
            out.push(Span::styled(span.content[at..].to_string(), span.style));
        }
    }
    out
}

/// Cuts spans to `width` display columns (CJK and emoji count double).
fn clip_spans(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut used = 0;
    let mut out = vec![];
    for s in spans {
        let w = s.content.width();
        if used + w <= width {
            used += w;
            out.push(s);
        } else {
            let room = width.saturating_sub(used);
            if room > 0 {
                out.push(Span::styled(truncate(&s.content, room), s.style));
            }
            break;
        }
    }
    Line::from(out)
}

fn draw_editor(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let ed = &app.editor;
    let name = ed.workflow.as_ref().map(|w| format!(" · {}", truncate(&w.workflow_name, 30))).unwrap_or_default();
    let mode = if ed.typing { " [typing · Esc stops]" } else { "" };
    let spin = if ed.loading { format!(" {}", SPINNER[app.spinner % SPINNER.len()]) } else { String::new() };
    // An unrun edit is marked (it is kept as a draft until run or reset).
    let edited = if ed.dirty && !ed.loading { " ● edited" } else { "" };
    // What runs go with besides the text: a version, an app or a bot.
    let c = &ed.context;
    let version = c.version.as_ref().map(|v| format!(" @{v}")).unwrap_or_default();
    let run_in = match (&c.app_id, &c.bot_id) {
        (Some(id), _) => format!(" · app {}", truncate(id, 12)),
        (_, Some(id)) => format!(" · bot {}", truncate(id, 12)),
        _ => String::new(),
    };
    let block = pane_block(Pane::Editor, app, theme, format!("{name}{version}{run_in}{spin}{edited}{mode}"));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let km = &app.keymap;
    if ed.workflow.is_none() {
        let open = km.key(Context::Lists, Action::Open).unwrap_or_default();
        let then =
            [km.hints(Context::Editor, &[(Action::Edit, "types")]), km.hints(Context::Editor, &RUNS)].join(" · ");
        let text = vec![
            Line::styled(format!("Pick a workflow (Workflows pane, {open}) to edit its parameters here."), theme.dim),
            Line::raw(""),
            Line::styled(format!("Then: {then}"), theme.dim),
        ];
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    }
    let problems: Vec<_> = ed.validation.problems.iter().take(3).collect();
    let mut lines: Vec<Line> = problems
        .iter()
        .map(|p| {
            let (mark, style) = match p.severity {
                Severity::Error => ("✘ ", theme.error),
                Severity::Warning => ("! ", theme.warning),
            };
            Line::styled(format!("{mark}{}", p.message), style)
        })
        .collect();
    let draft = ed.workflow.as_ref().is_some_and(|w| w.is_published == Some(false));
    if draft && ed.validation.blocker().is_none() {
        lines.insert(0, Line::styled("✘ a draft: publish it in Coze before it can run through the API", theme.warning));
    }
    if lines.is_empty() {
        let origin = match (ed.from_last_run, km.hint(Context::Editor, Action::Template, "resets to the template")) {
            _ if !ed.changed.is_empty() => String::new(),
            (true, Some(reset)) => format!(" (last used; {reset})"),
            (true, None) => " (last used)".to_string(),
            _ => String::new(),
        };
        let runs = km.hints(Context::Editor, &RUNS);
        lines.push(Line::styled(format!("✔ valid{origin} · {runs}"), theme.ok));
    }
    if !ed.changed.is_empty() {
        let undo = km.hint(Context::Editor, Action::Undo, "undoes").map(|u| format!(" ({u})")).unwrap_or_default();
        let text = format!("● changed since the last run: {}{undo}", ed.changed.join(", "));
        lines.push(Line::styled(text, theme.warning));
    }
    if let Some(e) = &ed.error {
        lines.insert(0, Line::styled(format!("✘ {e}"), theme.error));
    }
    let footer_h = (lines.len() as u16).min(inner.height.saturating_sub(3));
    let [text_area, footer] = Layout::vertical([Constraint::Min(1), Constraint::Length(footer_h)]).areas(inner);
    f.render_widget(&ed.text, text_area);
    // Mark the line of the first problem in the gutter, so it is visible without colour too.
    if let Some(line) = ed.validation.problems.first().and_then(|p| p.line) {
        let (top, _) = ed.text.scroll_offset();
        let row = line.saturating_sub(1).checked_sub(top as usize);
        if let Some(row) = row.filter(|r| *r < text_area.height as usize) {
            let cell = Rect::new(text_area.x, text_area.y + row as u16, 1, 1);
            f.render_widget(Paragraph::new(Span::styled("▶", theme.error)), cell);
        }
    }
    f.render_widget(Paragraph::new(lines), footer);
}

fn status_style(s: TaskStatus, theme: &Theme) -> Style {
    match s {
        TaskStatus::Succeeded => theme.ok,
        TaskStatus::Failed => theme.error,
        TaskStatus::Interrupted => theme.warning,
        TaskStatus::Unknown => theme.unknown,
        TaskStatus::Pending | TaskStatus::Running => theme.running,
    }
}

fn draw_tasks(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut extra = task_badges(app);
    extra.push_str(&picker_suffix(&app.tasks.list, app));
    if let Some(s) = app.tasks.status_filter {
        extra.push_str(&format!(" [{}]", s.as_str()));
    }
    // Whose tasks these are, and that there are others.
    let all_profiles = app.tasks.all_profiles;
    match (all_profiles, app.tasks.other_profiles) {
        (true, _) => extra.push_str(" · all profiles"),
        // The key is looked up only when there is something to say (not on every frame).
        (false, Some(n)) if n > 0 => {
            if let Some(k) = app.keymap.key(Context::Tasks, Action::AllProfiles) {
                extra.push_str(&format!(" · {} (+{n} in other profiles: {k})", app.profile.name))
            }
        }
        _ => {}
    }
    let block = pane_block(Pane::Tasks, app, theme, extra);
    let now = app.clock.now_ms();
    let width = block.inner(area).width as usize;
    draw_picker(f, area, block, &app.tasks.list, app, Pane::Tasks, theme, |t: &std::sync::Arc<TaskSummary>| {
        // No spinner per row: the status bar has the one activity indicator.
        let symbol = t.status.symbol();
        let name = t.workflow_name.clone().unwrap_or_else(|| t.workflow_id.clone());
        let label = match &t.name {
            Some(n) => format!("{name} · {n}"),
            None => name,
        };
        // The last column says how it ended (or where it is) in every mode.
        let last = match (&t.error, &t.interrupt) {
            (Some(e), _) => e.message.clone(),
            (None, Some(i)) if t.status == TaskStatus::Interrupted => {
                format!("asks: {}", i.question.as_deref().unwrap_or("?"))
            }
            _ => t.output_preview.clone().or_else(|| t.last_message.clone()).unwrap_or_default(),
        };
        // Fixed columns first (status, mode, time, age, and the id when there is room); the
        // name and the last column share the rest.
        let show_id = width >= 100;
        let mut rest = width.saturating_sub(2 + 14 + 7 + 8 + if show_id { 13 } else { 0 });
        // The age when there is room for it and a readable name.
        let show_age = rest >= 12 + 5;
        if show_age {
            rest -= 5;
        }
        let label_w = if rest < 24 { rest } else { (rest / 2).min(40) };
        // Runs still going show whole seconds, so a row changes at most once a second.
        let time = if t.status.is_settled() {
            crate::tasks::human_duration(t.elapsed_ms(now))
        } else {
            crate::tasks::whole_seconds(t.elapsed_ms(now))
        };
        let mut spans = vec![
            Span::styled(format!("{symbol} {:<12}", t.status.as_str()), status_style(t.status, theme)),
            Span::raw(pad(&truncate(&label, label_w.saturating_sub(1)), label_w)),
            Span::styled(format!("{:<6} {time:>7} ", t.mode.as_str()), theme.dim),
        ];
        if show_age {
            spans.push(Span::styled(format!("{:>4} ", crate::text::short_ago(t.created_at, now)), theme.dim));
        }
        if show_id {
            spans.push(Span::styled(format!("{:<13}", t.id), theme.dim));
        }
        if all_profiles {
            spans.push(Span::styled(format!("[{}] ", t.profile), theme.title));
        }
        if rest >= 24 {
            spans.push(Span::styled(last, theme.dim));
        }
        spans
    });
}

fn draw_detail(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let follow = if app.detail.following() && !app.detail.is_empty() { " [follow]" } else { "" };
    let block = pane_block(Pane::Detail, app, theme, follow.to_string());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let total = app.detail.len();
    let top = if app.detail.following() {
        total.saturating_sub(height)
    } else {
        app.detail.scroll.min(total.saturating_sub(1))
    };
    let lines: Vec<Line> = (top..(top + height).min(total))
        .filter_map(|i| app.detail.line(i))
        .map(|(kind, text)| {
            // A moment is written when drawn, so "3 min ago" stays true.
            let moment;
            let text = match kind {
                LineKind::Moment(ms) => {
                    moment = format!("{text}{}", app.clock.when(*ms));
                    &moment
                }
                _ => text,
            };
            let style = match kind {
                LineKind::Heading => theme.heading,
                LineKind::Field | LineKind::Moment(_) => Style::default(),
                LineKind::Text => Style::default(),
                LineKind::Error => theme.error,
                LineKind::Question => theme.warning.add_modifier(Modifier::BOLD),
                LineKind::Node => theme.title,
                LineKind::Dim => theme.dim,
                LineKind::Added => theme.ok,
                LineKind::Removed => theme.error,
            };
            Line::styled(truncate(text, inner.width as usize), style)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_status(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let health = match &app.health {
        Health::Unknown => Span::styled("○ not checked", theme.dim),
        Health::Ok { latency_ms } => Span::styled(format!("● ok {latency_ms}ms"), theme.ok),
        // A signed-in profile whose renewal failed: one standing notice that says what helps.
        Health::AuthFailed(_) if matches!(app.profile.sign_in, Some(SignIn::Code { .. })) => {
            Span::styled("● sign-in ended: run coze-tui login", theme.error)
        }
        Health::AuthFailed(_) => Span::styled("● auth refused", theme.error),
        Health::Unreachable(_) => Span::styled("● unreachable", theme.error),
        Health::Failing(_) => Span::styled("● server errors", theme.warning),
    };
    let running = app.running_count();
    let mut left = vec![
        Span::styled(format!(" {} ", app.profile.name), theme.focus_title),
        Span::raw(format!(" {} ", app.profile.region)),
        Span::styled(sign_in_label(app), theme.dim),
        health,
        Span::raw(if running > 0 {
            format!("  {} {running} running", SPINNER[app.spinner % SPINNER.len()])
        } else {
            String::new()
        }),
        Span::raw(match &app.uploading {
            Some((name, sent, total)) => {
                format!("  ↑ {} {}%", truncate(name, 24), sent.saturating_mul(100) / (*total).max(1))
            }
            None => String::new(),
        }),
        Span::styled(app.requests_today.map(|n| format!("  {n} req today")).unwrap_or_default(), theme.dim),
        Span::raw("  │ "),
    ];
    if let Some(toast) = &app.toast {
        // Too long for the bar: cut, saying where it is whole.
        let room = (area.width as usize).saturating_sub(left.iter().map(|s| s.content.width()).sum());
        let whole = app.keymap.hint(Context::Global, Action::MessageLog, "shows it whole");
        let text = match whole {
            Some(whole) if toast.text.width() > room && room > whole.width() + 8 => {
                format!("{} ({whole})", truncate(&toast.text, room - whole.width() - 3))
            }
            _ => toast.text.clone(),
        };
        left.push(Span::styled(text, theme.warning));
    } else {
        left.push(Span::styled(hints(app), theme.dim));
    }
    f.render_widget(Paragraph::new(clip_spans(left, area.width as usize)), area);
}

/// How the token was got, when not pasted in; a sign-in with under a day left (unused for
/// 30 days, it lapses) says when it ends.
fn sign_in_label(app: &App) -> String {
    match app.profile.sign_in {
        Some(SignIn::Code { until: Some(until) }) if until.saturating_mul(1000) - app.clock.now_ms() < 86_400_000 => {
            format!("(signed in, ends {}) ", crate::text::local_time(until.saturating_mul(1000)))
        }
        Some(SignIn::Code { .. }) => "(signed in) ".into(),
        Some(SignIn::ServiceApp) => "(service app) ".into(),
        None => String::new(),
    }
}

/// The main keys of the focused pane, from the live key map.
fn hints(app: &App) -> String {
    use crate::app::Action::*;
    let km = &app.keymap;
    if app.focus == Pane::Editor && app.editor.typing {
        return "typing: Esc stops · Ctrl-_ undoes this edit · Ctrl-w deletes a word, Ctrl-u to the line start".into();
    }
    let (ctx, actions): (Context, &[(crate::app::Action, &str)]) = match app.focus {
        Pane::Workspaces | Pane::Workflows => {
            (Context::Lists, &[(Open, "open"), (Filter, "filter"), (Refresh, "refresh")])
        }
        Pane::Editor => (
            Context::Editor,
            &[
                (Edit, "edit"),
                (RunSync, "sync"),
                (RunAsync, "async"),
                (RunStream, "stream"),
                (ExternalEditor, "$EDITOR"),
            ],
        ),
        Pane::Tasks => (
            Context::Tasks,
            &[(Open, "detail"), (Answer, "answer"), (Rerun, "re-run"), (Delete, "delete"), (Copy, "copy")],
        ),
        Pane::Detail => (
            Context::Detail,
            &[(Follow, "follow"), (Answer, "answer"), (DebugUrl, "debug url"), (NodeOutputs, "nodes")],
        ),
    };
    let pane = km.hints(ctx, actions);
    let always = km.hints(ctx, &[(Help, "help"), (Quit, "quit")]);
    [pane, always].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// The output viewer over the whole screen (the status bar stays). Only the lines on screen
/// are measured and cut, however long the output.
fn draw_viewer(f: &mut Frame, area: Rect, v: &crate::app::Viewer, app: &App, theme: &Theme) {
    let r = Rect::new(area.x, area.y, area.width, area.height.saturating_sub(1));
    f.render_widget(Clear, r);
    let km = &app.keymap;
    // Where you are and what you searched first: a narrow screen cuts the end of the title.
    let mut title = format!(" line {}/{}", (v.cursor + 1).min(v.lines.len()), v.lines.len());
    if let Some(typed) = &v.typing {
        title.push_str(&format!(" · /{typed}▏ · {} ", v.title));
    } else {
        if !v.query.is_empty() {
            let at = if v.matches.is_empty() { 0 } else { v.current + 1 };
            title.push_str(&format!(" · /{} {at} of {}", v.query, v.matches.len()));
        }
        let keys =
            [(Action::Filter, "search"), (Action::NextMatch, "next"), (Action::Fold, "fold"), (Action::Wrap, "wrap")];
        let more = [(Action::Copy, "copy"), (Action::Save, "save"), (Action::Back, "closes")];
        let (keys, more) = (km.hints(Context::Viewer, &keys), km.hints(Context::Viewer, &more));
        title.push_str(&format!(" · {keys} · {more} · {} ", v.title));
    }
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .title(Span::styled(truncate(&title, r.width.saturating_sub(2) as usize), theme.focus_title));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let (width, height) = (inner.width as usize, inner.height as usize);
    // Moving the cursor counts wrapped rows at this width.
    v.width.set(width);
    let needle = v.query.to_lowercase();
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    let mut next = Some(v.top).filter(|t| *t < v.lines.len());
    while let Some(i) = next {
        if rows.len() >= height || width == 0 {
            break;
        }
        next = v.next_visible(i);
        let line = &v.lines[i];
        let style = if i == v.cursor {
            theme.selected
        } else if !needle.is_empty() && line.to_lowercase().contains(&needle) {
            theme.warning
        } else {
            Style::default()
        };
        // A folded block shows its first line and how much it hides.
        let folded = v.fold_note(i);
        let text = match &folded {
            Some(note) => format!("{line}{note}"),
            None => line.clone(),
        };
        if !v.wrap {
            rows.push(Line::styled(truncate(&text, width), style));
            continue;
        }
        // Wrapped at display width; an empty line still takes a row.
        let mut rest = text.as_str();
        loop {
            let cut = prefix_of_width(rest, width);
            rows.push(Line::styled(rest[..cut].replace(|c: char| c.is_control(), " "), style));
            rest = &rest[cut..];
            if rest.is_empty() || rows.len() >= height {
                break;
            }
        }
    }
    f.render_widget(Paragraph::new(rows), inner);
}

/// The byte length of the longest start of `s` that fits in `width` columns (at least one
/// character, so wrapping always moves on).
fn prefix_of_width(s: &str, width: usize) -> usize {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        // Control characters are drawn as spaces (one column each).
        let w = if c.is_control() { 1 } else { c.width().unwrap_or(0) };
        if used + w > width && i > 0 {
            return i;
        }
        used += w;
    }
    s.len()
}

/// The palette: a prompt over the ranked entries, matched letters highlighted.
fn draw_palette(f: &mut Frame, area: Rect, p: &crate::app::Palette, app: &App, theme: &Theme) {
    let r = centered(area, 90, area.height.saturating_sub(4).min(22));
    f.render_widget(Clear, r);
    let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, "goes"), (Action::Cancel, "closes")]);
    let title = format!(" : jump to a workflow, task or action · {keys} ");
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .title(Span::styled(title, theme.focus_title));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [prompt, rule, list] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let [mark, field] = Layout::horizontal([Constraint::Length(2), Constraint::Min(1)]).areas(prompt);
    f.render_widget(Paragraph::new(": ").style(theme.focus_title), mark);
    f.render_widget(&p.input, field);
    let listing = if p.pending > 0 {
        format!("{} listing every workspace… ", SPINNER[app.spinner % SPINNER.len()])
    } else {
        String::new()
    };
    let count = format!("{listing}{} of {}", p.shown.len(), p.entries.len());
    f.render_widget(Paragraph::new(Span::styled(format!("{count:─>w$}", w = rule.width as usize), theme.border)), rule);
    let height = list.height as usize;
    let top = p.selected.saturating_sub(height.saturating_sub(1));
    let width = list.width as usize;
    let lines: Vec<Line> = p
        .shown
        .iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(pos, (i, at))| {
            let e = &p.entries[*i];
            let selected = pos == p.selected;
            let mut spans = vec![
                Span::raw(if selected { "› " } else { "  " }),
                Span::styled(format!("{:<9}", e.kind()), theme.dim),
            ];
            spans.extend(highlighted(&e.label, at, theme.warning.add_modifier(Modifier::BOLD)));
            spans.push(Span::styled(format!("  {}", e.detail), theme.dim));
            let line = clip_spans(spans, width);
            if selected { line.style(theme.selected) } else { line }
        })
        .collect();
    let lines = if lines.is_empty() { vec![Line::styled("  nothing matches", theme.dim)] } else { lines };
    f.render_widget(Paragraph::new(lines), list);
}

/// The suites view over the whole screen (the status bar stays): the files to run, or a run's
/// case × verdict matrix with the selected case's failures below it.
fn draw_suites(f: &mut Frame, area: Rect, v: &crate::app::suites::SuitesView, app: &App, theme: &Theme) {
    let r = Rect::new(area.x, area.y, area.width, area.height.saturating_sub(1));
    f.render_widget(Clear, r);
    let km = &app.keymap;
    let shown = app.suite_run.as_ref().filter(|_| v.showing_run && app.suite_starting.is_none());
    let Some(run) = shown else {
        let keys = km.hints(
            Context::Dialog,
            &[(Action::Accept, "runs"), (Action::Refresh, "looks again"), (Action::Cancel, "closes")],
        );
        let block = Block::bordered()
            .border_type(BorderType::Double)
            .border_style(theme.focus)
            .title(Span::styled(format!(" test suites · {keys} "), theme.focus_title));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let mut lines: Vec<Line> = vec![];
        if let Some(e) = &v.error {
            lines.push(Line::styled(format!("✘ {e}"), theme.error));
        }
        if let Some(p) = &app.suite_starting {
            lines.push(Line::styled(format!("{} starting {p}…", SPINNER[app.spinner % SPINNER.len()]), theme.running));
        }
        if v.loading {
            lines.push(Line::styled("looking for suites…", theme.dim));
        } else if v.files.is_empty() {
            let save = km.key(Context::Tasks, Action::SaveCase).unwrap_or_default();
            lines.push(Line::styled(
                format!("No suite files: none in ./coze-tests/ and none run before. {save} on a task saves it as a case in one."),
                theme.dim,
            ));
        }
        let room = (inner.height as usize).saturating_sub(lines.len()).max(1);
        let top = v.selected.saturating_sub(room - 1);
        for (i, file) in v.files.iter().enumerate().skip(top).take(room) {
            let mark = if i == v.selected { "› " } else { "  " };
            let last = file.last.as_deref().map(|l| format!("  last run: {l}")).unwrap_or_else(|| "  never run".into());
            let line = clip_spans(
                vec![Span::raw(format!("{mark}{}", file.path)), Span::styled(last, theme.dim)],
                inner.width as usize,
            );
            lines.push(if i == v.selected { line.style(theme.selected) } else { line });
        }
        f.render_widget(Paragraph::new(lines), inner);
        return;
    };
    let (passed, failed, left) = run.counts();
    let state = if run.finished {
        "done".to_string()
    } else {
        format!("{} {left} to go", SPINNER[app.spinner % SPINNER.len()])
    };
    let keys = if run.finished {
        km.hints(
            Context::Dialog,
            &[(Action::Accept, "opens the task"), (Action::Refresh, "runs again"), (Action::Cancel, "back")],
        )
    } else {
        km.hints(Context::Dialog, &[(Action::Accept, "opens the task"), (Action::Cancel, "back")])
    };
    let title = format!(" suite {} · ✔ {passed} ✘ {failed} · {state} · {keys} ", run.name);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .title(Span::styled(truncate(&title, r.width.saturating_sub(2) as usize), theme.focus_title));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let detail_h = (inner.height / 3).clamp(3, 10).min(inner.height.saturating_sub(3));
    let [table, below] = Layout::vertical([Constraint::Min(1), Constraint::Length(detail_h)]).areas(inner);
    let width = table.width as usize;
    let name_w = run.cases.iter().map(|c| c.name.width()).max().unwrap_or(4).clamp(8, 32).min(width / 3);
    let height = table.height as usize;
    let top = run.selected.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Line> = run
        .cases
        .iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, c)| {
            // Live until judged: the task's state from the task list.
            let live = app.tasks.get(&c.task_id).map(|t| t.status);
            let (mark, style) = match (c.verdict, live) {
                (Some(true), _) => ("✔", theme.ok),
                (Some(false), _) => ("✘", theme.error),
                (None, Some(TaskStatus::Interrupted)) => ("?", theme.warning),
                (None, Some(TaskStatus::Running)) => ("▶", theme.running),
                _ => ("·", theme.dim),
            };
            let status = c.status.or(live).map_or("queued", |s| s.as_str());
            let time = c.duration_ms.map(crate::tasks::human_duration).unwrap_or_default();
            let was = match (c.previous, c.verdict) {
                (Some(true), Some(false)) => "newly failing",
                (Some(false), Some(true)) => "fixed",
                (None, Some(_)) => "new",
                _ => "",
            };
            let first = c.failures.first().map(|f| f.message.replace('\n', " ")).unwrap_or_default();
            let spans = vec![
                Span::raw(if i == run.selected { "› " } else { "  " }),
                Span::styled(format!("{mark} "), style),
                Span::raw(pad(&truncate(&c.name, name_w), name_w + 1)),
                Span::styled(format!("{status:<12}{time:>8}  {was:<14}"), theme.dim),
                Span::styled(first, theme.error),
            ];
            let line = clip_spans(spans, width);
            if i == run.selected { line.style(theme.selected) } else { line }
        })
        .collect();
    f.render_widget(Paragraph::new(rows), table);
    // The selected case: what it expected against what came.
    let mut lines = vec![];
    if let Some(c) = run.cases.get(run.selected) {
        match c.verdict {
            None => lines.push(Line::styled(format!("{}: not judged yet", c.name), theme.dim)),
            Some(true) => lines.push(Line::styled(format!("{}: every expectation met", c.name), theme.ok)),
            Some(false) => {
                lines.push(Line::styled(
                    format!("{}: {} expectation(s) missed", c.name, c.failures.len()),
                    theme.heading,
                ));
                for fl in &c.failures {
                    lines.push(Line::styled(format!("  {:<10} {}", fl.kind, fl.message), theme.error));
                    if !fl.expected.is_null() || !fl.actual.is_null() {
                        lines.push(Line::styled(format!("  {:<10} expected {}", "", fl.expected), theme.ok));
                        lines.push(Line::styled(format!("  {:<10} actual   {}", "", fl.actual), theme.error));
                    }
                }
            }
        }
    }
    let lines: Vec<Line> =
        lines.into_iter().map(|l| clip_spans(l.spans, below.width as usize).style(l.style)).collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).border_style(theme.border)),
        below,
    );
}

/// `text` as spans with the characters at positions `at` (sorted) in `style`.
fn highlighted(text: &str, at: &[u32], style: Style) -> Vec<Span<'static>> {
    let mut spans: Vec<Span<'static>> = vec![];
    let (mut run, mut run_hit) = (String::new(), false);
    for (i, c) in text.chars().enumerate() {
        let hit = at.binary_search(&(i as u32)).is_ok();
        if hit != run_hit && !run.is_empty() {
            let s = std::mem::take(&mut run);
            spans.push(if run_hit { Span::styled(s, style) } else { Span::raw(s) });
        }
        run_hit = hit;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(if run_hit { Span::styled(run, style) } else { Span::raw(run) });
    }
    spans
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// A dialog's frame: double border in the focus colour, its title.
fn dialog_block(theme: &Theme, title: String) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.focus)
        .title(Span::styled(title, theme.focus_title))
}

fn draw_overlay(f: &mut Frame, area: Rect, o: &Overlay, app: &App, theme: &Theme) {
    let dialog = |title: String| dialog_block(theme, title);
    match o {
        Overlay::Help(h) => {
            let r = centered(area, 96, area.height.saturating_sub(2));
            f.render_widget(Clear, r);
            let rows = app.help_lines(&h.query);
            let (total, height) = (rows.len(), r.height.saturating_sub(2) as usize);
            let lines: Vec<Line> = rows
                .into_iter()
                .skip(h.scroll)
                .take(height)
                .map(|(kind, text)| {
                    let style = match kind {
                        HelpKind::Heading => theme.heading,
                        HelpKind::Note => theme.dim,
                        HelpKind::Problem => theme.warning,
                        HelpKind::Key => Style::default(),
                    };
                    Line::styled(text, style)
                })
                .collect();
            let keys = [(Action::Filter, "searches"), (Action::Down, "scrolls"), (Action::Cancel, "closes")];
            let where_ = format!("{}-{} of {total}", (h.scroll + 1).min(total), (h.scroll + height).min(total));
            let title = match (&h.search, h.query.is_empty()) {
                (Some(_), _) => format!(" help · search: {}▏ · Enter keeps · Esc drops ", h.query),
                (None, false) => {
                    format!(" help · /{} · {where_} · {} ", h.query, app.keymap.hints(Context::Dialog, &keys))
                }
                (None, true) => format!(" help · {where_} · {} ", app.keymap.hints(Context::Dialog, &keys)),
            };
            f.render_widget(Paragraph::new(lines).block(dialog(title)), r);
        }
        Overlay::ConfirmDelete { label, .. } => {
            let r = centered(area, 60, 5);
            f.render_widget(Clear, r);
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Confirm, "deletes"), (Action::Cancel, "keeps it")]);
            let text = vec![Line::raw(format!("Delete {label}?")), Line::styled(keys, theme.dim)];
            f.render_widget(Paragraph::new(text).block(dialog(" delete task ".into())), r);
        }
        Overlay::Answer { question, input, left, form: Some(form), .. } => {
            let body = input.lines().len().min(16) as u16;
            let r = centered(area, 76, (body + 8).clamp(10, 24));
            f.render_widget(Clear, r);
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Send, "sends"), (Action::Cancel, "cancels")]);
            let block = dialog(format!(" input form · {keys} "));
            let inner = block.inner(r);
            f.render_widget(block, r);
            let [q, fields, editor, check, note] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(1),
                Constraint::Min(3),
                Constraint::Length(1),
                Constraint::Length(1),
            ])
            .areas(inner);
            f.render_widget(Paragraph::new(question.as_str()).style(theme.warning), q);
            let wanted: Vec<String> = form
                .fields
                .iter()
                .map(|(k, p)| format!("{k}: {}{}", p.kind, if p.required { " required" } else { "" }))
                .collect();
            f.render_widget(Paragraph::new(Span::styled(wanted.join(" · "), theme.dim)), fields);
            f.render_widget(input, editor);
            let (text, style) = match (form.problem(), form.refused, form.warning()) {
                (Some(p), true, _) => (format!("not sent: {p}"), theme.error),
                (Some(p), false, _) => (format!("✘ {p}"), theme.warning),
                (None, _, Some(w)) => (format!("! {w}"), theme.warning),
                (None, _, None) => ("✔ every field is there".to_string(), theme.ok),
            };
            f.render_widget(Paragraph::new(Span::styled(text, style)), check);
            let note_text = match left {
                1 => "the last answer Coze takes: one it does not accept fails the run".to_string(),
                n => format!("{n} answers left before Coze fails the run · Enter is a new line"),
            };
            f.render_widget(Paragraph::new(Span::styled(note_text, theme.dim)), note);
        }
        Overlay::Answer { question, input, left, empty_warned, .. } => {
            let r = centered(area, 76, 9);
            f.render_widget(Clear, r);
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, "sends"), (Action::Cancel, "cancels")]);
            let block = dialog(format!(" answer · {keys} "));
            let inner = block.inner(r);
            f.render_widget(block, r);
            let [q, i, note] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(1), Constraint::Length(1)]).areas(inner);
            f.render_widget(Paragraph::new(question.as_str()).style(theme.warning).wrap(Wrap { trim: true }), q);
            f.render_widget(input, i);
            let send = app.keymap.key(Context::Dialog, Action::Accept).unwrap_or_default();
            let (text, style) = match (*empty_warned, *left) {
                (true, _) => (format!("the answer is empty: {send} again sends it anyway (it counts)"), theme.error),
                (false, 1) => ("the last answer Coze takes: one it does not accept fails the run".into(), theme.error),
                (false, n) => (format!("{n} answers left before Coze fails the run"), theme.dim),
            };
            f.render_widget(Paragraph::new(Span::styled(text, style)), note);
        }
        Overlay::RunNamed { mode, name, description, on_description } => {
            let r = centered(area, 70, 7);
            f.render_widget(Clear, r);
            let keys = app.keymap.hints(
                Context::Dialog,
                &[
                    (Action::ModeSync, "sync"),
                    (Action::ModeAsync, "async"),
                    (Action::ModeStream, "stream"),
                    (Action::Accept, "runs"),
                ],
            );
            let block = dialog(format!(" run ({}) · {keys} ", mode.as_str()));
            let inner = block.inner(r);
            f.render_widget(block, r);
            let rows = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(1),
                Constraint::Length(1),
                Constraint::Length(1),
            ])
            .split(inner);
            let label = |t: &str, on: bool| {
                Span::styled(
                    format!("{}{t}", if on { "› " } else { "  " }),
                    if on { theme.focus_title } else { theme.dim },
                )
            };
            f.render_widget(Paragraph::new(label("name", !on_description)), rows[0]);
            f.render_widget(name, rows[1]);
            f.render_widget(Paragraph::new(label("description", *on_description)), rows[2]);
            f.render_widget(description, rows[3]);
        }
        Overlay::Filter { pane, input } => {
            let r = Rect::new(area.x, area.y + area.height.saturating_sub(2), area.width, 1);
            f.render_widget(Clear, r);
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, "keeps"), (Action::Cancel, "clears")]);
            let label = format!("filter {}: /", pane.title());
            let keys = format!("  ({keys})");
            let [l, field, k] = Layout::horizontal([
                Constraint::Length(label.width() as u16),
                Constraint::Min(10),
                Constraint::Length(keys.width() as u16),
            ])
            .areas(r);
            f.render_widget(Paragraph::new(label).style(theme.focus_title), l);
            f.render_widget(input, field);
            f.render_widget(Paragraph::new(keys).style(theme.dim), k);
        }
        Overlay::Palette(p) => draw_palette(f, area, p, app, theme),
        Overlay::Suites(v) => draw_suites(f, area, v, app, theme),
        Overlay::Versions(v) => inputs::draw_versions(f, area, v, app, theme),
        Overlay::Chat => {
            if let Some(c) = &app.chat {
                chat::draw_chat(f, area, c, app, theme);
            }
        }
        Overlay::Attach(a) => inputs::draw_attach(f, area, a, app, theme),
        Overlay::RunIn { input, error } => {
            inputs::draw_prompt(f, area, inputs::RUN_IN, input, error.as_deref(), app, theme)
        }
        Overlay::AddWorkflow { input, error } => {
            inputs::draw_prompt(f, area, inputs::ADD_WORKFLOW, input, error.as_deref(), app, theme)
        }
        Overlay::SaveCase { input, .. } => {
            let r = centered(area, 76, 6);
            f.render_widget(Clear, r);
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, "saves"), (Action::Cancel, "cancels")]);
            let block = dialog(format!(" save as a test case · {keys} "));
            let inner = block.inner(r);
            f.render_widget(block, r);
            let [label, field, note] =
                Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(1)]).areas(inner);
            f.render_widget(Paragraph::new("suite file (appended to; made if missing):").style(theme.dim), label);
            f.render_widget(input, field);
            let text = "parameters, answers and the output as expect.output; `coze-tui test FILE` runs it";
            f.render_widget(Paragraph::new(text).style(theme.dim).wrap(Wrap { trim: true }), note);
        }
        Overlay::Profiles { selected } => {
            let r = centered(area, 50, app.profile.profiles.len() as u16 + 4);
            f.render_widget(Clear, r);
            let mut lines: Vec<Line> = app
                .profile
                .profiles
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let current = if *p == app.profile.name { " (current)" } else { "" };
                    let l = Line::raw(format!("{}{p}{current}", if i == *selected { "› " } else { "  " }));
                    if i == *selected { l.style(theme.selected) } else { l }
                })
                .collect();
            if lines.is_empty() {
                lines.push(Line::styled("no profiles in the config file", theme.dim));
            }
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, "switches"), (Action::Cancel, "closes")]);
            f.render_widget(Paragraph::new(lines).block(dialog(format!(" profile · {keys} "))), r);
        }
        Overlay::Viewer(v) => draw_viewer(f, area, v, app, theme),
        Overlay::MessageLog { scroll } => {
            let r = centered(area, 110, area.height.saturating_sub(2));
            f.render_widget(Clear, r);
            let mut lines: Vec<Line> = app
                .log
                .iter()
                .rev()
                .skip(*scroll)
                .flat_map(|(at, text)| {
                    let time = app.clock.time(*at);
                    let mut first = true;
                    text.lines().map(move |l| {
                        let stamp = if std::mem::take(&mut first) { time.clone() } else { " ".repeat(time.len()) };
                        Line::raw(format!("{stamp}  {l}"))
                    })
                })
                .collect();
            if lines.is_empty() {
                lines.push(Line::styled("no messages yet", theme.dim));
            }
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Cancel, "closes"), (Action::Down, "older")]);
            let title = format!(" messages, newest first · {keys} ");
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(dialog(title)), r);
        }
        Overlay::ConfirmReset => {
            let r = centered(area, 64, 5);
            f.render_widget(Clear, r);
            let undo = app.keymap.hint(Context::Editor, Action::Undo, "brings them back").unwrap_or_default();
            let text = vec![
                Line::raw(format!("Replace the parameters with the schema's template? ({undo})")),
                Line::styled(
                    app.keymap.hints(Context::Dialog, &[(Action::Confirm, "resets"), (Action::Cancel, "keeps them")]),
                    theme.dim,
                ),
            ];
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(dialog(" reset? ".into())), r);
        }
        Overlay::Message { title, text } => {
            // The whole width and no wrapping: a URL stays on one line, with space around it,
            // so the terminal can select it (and open it).
            let r = Rect::new(area.x, area.y + area.height.saturating_sub(6) / 2, area.width, 6.min(area.height));
            f.render_widget(Clear, r);
            let lines: Vec<Line> = text.lines().map(|l| Line::raw(format!(" {l} "))).collect();
            let keys = app.keymap.hints(Context::Dialog, &[(Action::Cancel, "closes")]);
            let fits = text.lines().all(|l| l.width() + 4 <= r.width as usize);
            // Too long for one line: wrapped, so none of it is lost.
            let body = Paragraph::new(lines).block(dialog(format!(" {title} · {keys} ")));
            let body = if fits { body } else { body.wrap(Wrap { trim: false }) };
            f.render_widget(body, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_with_a_presentation_selector_take_one_column_and_a_space() {
        use ratatui::buffer::Buffer;
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        buf.set_string(0, 0, "a☀️b🖼️c🚀d1️⃣", Style::default());
        narrow_emoji_selectors(&mut buf);
        let cells: Vec<&str> = (0..12).map(|x| buf[(x, 0)].symbol()).collect();
        // 🚀 is wide without a selector: every terminal agrees, so it stays.
        assert_eq!(cells, ["a", "☀", " ", "b", "🖼", " ", "c", "🚀", " ", "d", "1", " "]);
    }

    #[test]
    fn wrapping_counts_a_tab_as_the_space_it_is_drawn_as() {
        assert_eq!(prefix_of_width("a\tb\tc", 3), 3, "a, tab, b");
        assert_eq!(prefix_of_width("翻译助手", 5), 6, "two wide characters");
        assert_eq!(prefix_of_width("翻", 1), 3, "at least one character, so wrapping moves on");
    }

    #[test]
    fn scroll_keeps_the_selection_visible() {
        assert_eq!(scroll_offset(0, 5, 10), 0);
        assert_eq!(scroll_offset(0, 15, 10), 6);
        assert_eq!(scroll_offset(6, 3, 10), 3);
        assert_eq!(scroll_offset(3, 3, 0), 0);
    }

    #[test]
    fn filter_matches_are_marked_and_odd_case_never_panics() {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let spans = mark_matches(vec![Span::raw("Echo the echo 回声")], "echo", bold);
        let parts: Vec<(&str, bool)> = spans.iter().map(|s| (s.content.as_ref(), s.style == bold)).collect();
        assert_eq!(parts, [("Echo", true), (" the ", false), ("echo", true), (" 回声", false)]);
        // Lower case that changes the length (İ is 2 bytes, i̇ 3): left as it is.
        let odd = mark_matches(vec![Span::raw("İstanbul echo")], "echo", bold);
        assert_eq!(odd.len(), 1);
        assert_eq!(mark_matches(vec![Span::raw("x")], "", bold).len(), 1);
    }
}
