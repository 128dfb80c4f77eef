//! The chat view: conversations on the left, the open one's transcript (the reply streaming
//! in), the input line at the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use super::{SPINNER, dialog_block};
use crate::app::chat::ChatView;
use crate::app::{Action, App, Context};
use crate::tasks::TaskStatus;
use crate::text::truncate;

pub(super) fn draw_chat(f: &mut Frame, area: Rect, c: &ChatView, app: &App, theme: &Theme) {
    let r = Rect::new(area.x + 1, area.y + 1, area.width.saturating_sub(2), area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let keys = app.keymap.hints(
        Context::Dialog,
        &[(Action::Accept, "sends"), (Action::NextField, "conversations"), (Action::Cancel, "closes")],
    );
    let block = dialog_block(theme, format!(" chat · {} · {keys} · Ctrl-N new ", truncate(&c.workflow_name, 30)));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let list_width = if inner.width >= 70 { 28 } else { 0 };
    let [list, talk] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(inner);
    if list_width > 0 {
        draw_conversations(f, list, c, app, theme);
    }
    let [head, transcript, input, note] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(3), Constraint::Length(1)])
            .areas(talk);
    let ctx = &app.editor.context;
    let with = ctx.run_in().map_or_else(|| "no app or bot set".to_string(), |r| format!("with {r}"));
    let which = match &c.conversation {
        Some(id) => format!("conversation {id}"),
        None => "a new conversation (Coze names it with the first reply)".to_string(),
    };
    f.render_widget(Paragraph::new(Span::styled(format!(" {which} · {with}"), theme.dim)), head);
    draw_transcript(f, transcript, c, app, theme);
    let style = if c.in_list { theme.dim } else { theme.focus };
    let input_block = Block::default().borders(Borders::TOP | Borders::BOTTOM).border_style(style);
    let field = input_block.inner(input);
    f.render_widget(input_block, input);
    f.render_widget(&c.input, field);
    let unset = (ctx.app_id.is_none() && ctx.bot_id.is_none())
        .then_some("a chatflow runs in an app or with a bot: Esc, then B in the editor sets it (this chat waits)");
    if let Some(n) = c.note.as_deref().or(unset) {
        f.render_widget(Paragraph::new(Span::styled(format!(" {n}"), theme.warning)), note);
    }
}

fn draw_conversations(f: &mut Frame, area: Rect, c: &ChatView, app: &App, theme: &Theme) {
    let block = Block::default().borders(Borders::RIGHT).border_style(if c.in_list { theme.focus } else { theme.dim });
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = inner.width as usize;
    let row = |i: usize, text: String, sub: String| {
        let style = if c.in_list && c.selected == i { theme.selected } else { ratatui::style::Style::default() };
        let open = if c.selected == i { "› " } else { "  " };
        [
            Line::styled(truncate(&format!("{open}{text}"), width), style),
            Line::styled(truncate(&format!("  {sub}"), width), theme.dim),
        ]
    };
    let mut lines: Vec<Line> = row(0, "＋ new conversation".into(), "Ctrl-N from anywhere".into()).into();
    match &c.conversations {
        None => lines.push(Line::styled("  listing…", theme.dim)),
        Some(list) => {
            for (i, conv) in list.iter().enumerate() {
                let first = if conv.first_message.is_empty() { conv.id.clone() } else { conv.first_message.clone() };
                let turns = if conv.turns == 1 { "1 turn".to_string() } else { format!("{} turns", conv.turns) };
                lines.extend(row(
                    i + 1,
                    first,
                    format!("{turns} · {}", crate::text::ago(conv.last_at, app.clock.now_ms())),
                ));
            }
        }
    }
    let skip = (c.selected * 2 + 2).saturating_sub(inner.height as usize);
    f.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), inner);
}

/// `text` cut into rows of at most `width` columns (by character, as a terminal wraps).
fn hard_wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let mut rows = vec![String::new()];
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w > width.max(1) && used > 0 {
            rows.push(String::new());
            used = 0;
        }
        rows.last_mut().expect("a row").push(ch);
        used += w;
    }
    rows
}

fn draw_transcript(f: &mut Frame, area: Rect, c: &ChatView, app: &App, theme: &Theme) {
    let mut lines: Vec<Line> = vec![];
    if c.turns.is_empty() {
        let hint = match &c.conversation {
            Some(_) => "reading the conversation…",
            None => "say something: each message is a turn, kept in the ledger as a task (mode chat)",
        };
        lines.push(Line::styled(hint, theme.dim));
    }
    // Rows are cut here, so the count is exact and the end can be kept in view.
    let room = (area.width as usize).saturating_sub(6);
    let said = |who: Span<'static>, text: &str, style: ratatui::style::Style, lines: &mut Vec<Line>| {
        let mut first = true;
        for line in text.split('\n') {
            for row in hard_wrap(line, room) {
                let lead = if first { who.clone() } else { Span::raw("      ") };
                first = false;
                lines.push(Line::from(vec![lead, Span::styled(row, style)]));
            }
        }
    };
    for t in &c.turns {
        said(Span::styled("you › ", theme.heading), &t.message, ratatui::style::Style::default(), &mut lines);
        let (text, style) = match t.status {
            TaskStatus::Pending | TaskStatus::Running if t.reply.is_empty() => {
                (format!("{} thinking…", SPINNER[app.spinner % SPINNER.len()]), theme.dim)
            }
            TaskStatus::Failed | TaskStatus::Unknown => {
                (format!("✘ {}", t.error.clone().unwrap_or_else(|| t.status.as_str().to_string())), theme.error)
            }
            _ => (t.reply.clone(), ratatui::style::Style::default()),
        };
        said(Span::styled("bot › ", theme.ok), &text, style, &mut lines);
        lines.push(Line::raw(""));
    }
    // The end shows (the reply streaming in), unless scrolled back.
    let top = lines.len().saturating_sub(area.height as usize).saturating_sub(c.scroll_back);
    f.render_widget(Paragraph::new(lines.into_iter().skip(top).collect::<Vec<_>>()), area);
}
