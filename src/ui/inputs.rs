//! The dialogs for a run's inputs beyond its JSON: the version list, the attach prompt, the
//! app-or-bot prompt.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::theme::Theme;
use super::{centered, dialog_block};
use crate::app::inputs::{AttachPrompt, VersionsView};
use crate::app::{Action, App, Context};
use crate::text::truncate;

pub(super) fn draw_versions(f: &mut Frame, area: Rect, v: &VersionsView, app: &App, theme: &Theme) {
    let rows = match &v.versions {
        Some(Ok(list)) => list.len() + 1,
        _ => 1,
    };
    let r = centered(area, 96, (rows.min(100) as u16 * 2 + 4).clamp(7, area.height.saturating_sub(2).max(7)));
    f.render_widget(Clear, r);
    let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, "uses it"), (Action::Cancel, "closes")]);
    let name = app.editor.workflow.as_ref().map(|w| w.workflow_name.as_str()).unwrap_or("");
    let block = dialog_block(theme, format!(" versions · {} · {keys} ", truncate(name, 30)));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let width = inner.width as usize;
    let in_use = app.editor.context.version.as_deref();
    let mark = |selected: bool| if selected { "› " } else { "  " };
    let mut lines = vec![];
    match &v.versions {
        None => lines.push(Line::styled("listing the published versions…", theme.dim)),
        Some(Err(e)) => lines.push(Line::styled(format!("the versions did not load: {e}"), theme.error)),
        Some(Ok(list)) => {
            let latest_style = if v.selected == 0 { theme.selected } else { ratatui::style::Style::default() };
            let used = if in_use.is_none() { "  (in use)" } else { "" };
            lines.push(Line::styled(
                format!("{}latest: the workflow as published{used}", mark(v.selected == 0)),
                latest_style,
            ));
            lines.push(Line::styled("    the inputs the editor checks against by default", theme.dim));
            if list.is_empty() {
                lines.push(Line::styled("no published versions (a draft has none until it is published)", theme.dim));
            }
            let latest = app.editor.info.as_ref().and_then(|i| i.input.as_ref()).map(|i| &i.parameters);
            for (i, ver) in list.iter().enumerate() {
                let selected = v.selected == i + 1;
                let style = if selected { theme.selected } else { ratatui::style::Style::default() };
                let when = ver.created_at.map(|s| app.clock.when(s.saturating_mul(1000))).unwrap_or_default();
                let used = if in_use == Some(ver.version.as_str()) { "  (in use)" } else { "" };
                let head = format!(
                    "{}{:<10} {when}  {}  {}{used}",
                    mark(selected),
                    ver.version,
                    ver.creator.name,
                    ver.description
                );
                lines.push(Line::styled(truncate(&head, width), style));
                let changes = VersionsView::changes(ver, latest);
                let (text, style) = match (ver.input.is_some(), changes.is_empty()) {
                    (false, _) => ("inputs not listed for this version".to_string(), theme.dim),
                    (true, true) => ("same inputs as the latest".to_string(), theme.dim),
                    (true, false) => (format!("inputs against the latest: {}", changes.join(", ")), theme.warning),
                };
                lines.push(Line::styled(truncate(&format!("    {text}"), width), style));
            }
        }
    }
    let skip = (v.selected * 2 + 2).saturating_sub(inner.height as usize);
    f.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), inner);
}

pub(super) fn draw_attach(f: &mut Frame, area: Rect, a: &AttachPrompt, app: &App, theme: &Theme) {
    let shown = a.candidates.len().min(6) as u16;
    let r = centered(area, 76, 7 + shown);
    f.render_widget(Clear, r);
    let keys = app.keymap.hints(
        Context::Dialog,
        &[(Action::NextField, "completes"), (Action::Accept, "uploads"), (Action::Cancel, "cancels")],
    );
    let block = dialog_block(theme, format!(" attach a file · {keys} "));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [label, field, note, more] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Length(2), Constraint::Min(0)])
            .areas(inner);
    let list = if a.many { format!("a list of {}", a.kind) } else { a.kind.clone() };
    f.render_widget(Paragraph::new(format!("for \"{}\" ({list}):", a.input)).style(theme.dim), label);
    f.render_widget(&a.path, field);
    let (text, style) = match &a.error {
        Some(e) => (e.clone(), theme.error),
        None => (
            "uploaded to Coze (up to 512 MB; the same file is sent once), then put in as {\"file_id\":…}".into(),
            theme.dim,
        ),
    };
    f.render_widget(Paragraph::new(text).style(style).wrap(Wrap { trim: true }), note);
    let mut rows: Vec<Line> = a.candidates.iter().take(6).map(|c| Line::raw(format!("  {c}"))).collect();
    if a.candidates.len() > 6 {
        rows.push(Line::styled(format!("  … and {} more", a.candidates.len() - 6), theme.dim));
    }
    f.render_widget(Paragraph::new(rows), more);
}

/// A one-line prompt: what to type above the field, the problem (or a note) below it.
pub(super) struct Prompt<'a> {
    pub title: &'a str,
    pub accept: &'a str,
    pub label: &'a str,
    pub note: &'a str,
}

pub(super) fn draw_prompt(
    f: &mut Frame,
    area: Rect,
    p: Prompt,
    input: &TextArea<'static>,
    error: Option<&str>,
    app: &App,
    theme: &Theme,
) {
    let r = centered(area, 76, 6);
    f.render_widget(Clear, r);
    let keys = app.keymap.hints(Context::Dialog, &[(Action::Accept, p.accept), (Action::Cancel, "cancels")]);
    let block = dialog_block(theme, format!(" {} · {keys} ", p.title));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [label, field, note] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    f.render_widget(Paragraph::new(p.label).style(theme.dim), label);
    f.render_widget(input, field);
    let (text, style) = match error {
        Some(e) => (e, theme.error),
        None => (p.note, theme.dim),
    };
    f.render_widget(Paragraph::new(Span::styled(text, style)).wrap(Wrap { trim: true }), note);
}

pub(super) const RUN_IN: Prompt = Prompt {
    title: "run in",
    accept: "sets it",
    label: "`bot ID` (databases, variables) or `app ID` (an app's workflow):",
    note: "never both (Coze refuses it); remembered for this workflow once it runs",
};

pub(super) const ADD_WORKFLOW: Prompt = Prompt {
    title: "add a workflow",
    accept: "adds it",
    label: "its id (the digits in its Coze Studio address), then a name if you like:",
    note: "remembered for this profile; [[profiles.NAME.workflows]] in the config lists more",
};
