//! The chat view of a chatflow: its conversations (from the ledger: every turn is a task of
//! mode `chat`), the open one's transcript with the reply streaming in, and an input line.
//! The view's state lives in the app, so closing it (or setting the bot with `B`) loses
//! nothing; the run keys of a chatflow open it again.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::dialogs::{Overlay, prompt_key, single_line_input};
use super::keymap::Action;
use super::{App, Command};
use crate::coze::stream::ANSWER_NODE;
use crate::tasks::{ConversationSummary, NewTask, RunContext, RunMode, Task, TaskStatus, TaskUpdate};

/// One turn: what was said, the reply so far, how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTurn {
    pub task_id: String,
    pub message: String,
    pub reply: String,
    pub status: TaskStatus,
    /// Why the turn failed, when it did.
    pub error: Option<String>,
}

impl ChatTurn {
    fn of(t: &Task) -> Self {
        Self {
            task_id: t.id.clone(),
            message: t.context.message.clone().unwrap_or_default(),
            reply: t.output_text().unwrap_or_default(),
            status: t.status,
            error: t.error.as_ref().map(|e| e.message.clone()),
        }
    }
}

pub struct ChatView {
    pub workflow_id: String,
    pub workflow_name: String,
    /// The chatflow's conversations, latest first (`None` while they load).
    pub conversations: Option<Vec<ConversationSummary>>,
    /// The open conversation; `None` for a new one (Coze names it with the first reply).
    pub conversation: Option<String>,
    pub turns: Vec<ChatTurn>,
    pub input: TextArea<'static>,
    /// The conversation list has the keys (Tab switches), with this row selected (0 is "new").
    pub in_list: bool,
    pub selected: usize,
    /// Lines scrolled up from the end of the transcript.
    pub scroll_back: usize,
    /// Said in the view (a refusal, how to set the bot).
    pub note: Option<String>,
    /// A message sent and not yet recorded as a turn (put back if it is refused).
    pub sending: Option<String>,
}

impl ChatView {
    fn new(workflow_id: String, workflow_name: String) -> Self {
        Self {
            workflow_id,
            workflow_name,
            conversations: None,
            conversation: None,
            turns: vec![],
            input: single_line_input("message · Enter sends"),
            in_list: false,
            selected: 0,
            scroll_back: 0,
            note: None,
            sending: None,
        }
    }

    /// A live change to one of this conversation's turns.
    fn on_update(&mut self, update: &TaskUpdate) -> bool {
        match update {
            TaskUpdate::Event { task_id, event } if event.node_title == ANSWER_NODE => {
                match self.turns.iter_mut().find(|t| &t.task_id == task_id) {
                    Some(turn) if turn.status == TaskStatus::Running || turn.status == TaskStatus::Pending => {
                        turn.reply.push_str(&event.content);
                        self.scroll_back = 0;
                        false
                    }
                    _ => false,
                }
            }
            TaskUpdate::Changed(t) => {
                let Some(turn) = self.turns.iter_mut().find(|x| x.task_id == t.id) else { return false };
                let streamed = std::mem::take(&mut turn.reply);
                *turn = ChatTurn::of(t);
                if turn.reply.is_empty() {
                    turn.reply = streamed;
                }
                // The first turn of a new conversation learns its id.
                let named = self.conversation.is_none() && t.context.conversation_id.is_some();
                if named {
                    self.conversation = t.context.conversation_id.clone();
                }
                named || t.status.is_settled()
            }
            // Deleted (here or elsewhere): gone from the transcript too.
            TaskUpdate::Deleted(id) => {
                let before = self.turns.len();
                self.turns.retain(|t| &t.task_id != id);
                self.turns.len() != before
            }
            _ => false,
        }
    }
}

impl App {
    /// The chat of the open chatflow (the run keys of a chatflow come here).
    pub(super) fn open_chat(&mut self) -> Vec<Command> {
        let Some(wf) = self.editor.workflow.clone() else { return vec![] };
        let same = self.chat.as_ref().is_some_and(|c| c.workflow_id == wf.workflow_id);
        if !same {
            self.chat = Some(ChatView::new(wf.workflow_id.clone(), wf.workflow_name.clone()));
        }
        self.overlay = Some(Overlay::Chat);
        vec![Command::LoadConversations(wf.workflow_id)]
    }

    pub(super) fn on_conversations(&mut self, workflow_id: &str, list: Result<Vec<ConversationSummary>, String>) {
        let Some(c) = self.chat.as_mut().filter(|c| c.workflow_id == workflow_id) else { return };
        match list {
            Ok(list) => {
                c.selected =
                    c.conversation.as_ref().and_then(|id| list.iter().position(|x| &x.id == id)).map_or(0, |i| i + 1);
                c.conversations = Some(list);
            }
            Err(e) => c.note = Some(format!("the conversations could not be read: {e}")),
        }
    }

    pub(super) fn on_conversation(&mut self, conversation: &str, turns: Result<Vec<Task>, String>) {
        let Some(c) = self.chat.as_mut().filter(|c| c.conversation.as_deref() == Some(conversation)) else { return };
        match turns {
            Ok(turns) => c.turns = turns.iter().map(ChatTurn::of).collect(),
            Err(e) => c.note = Some(format!("the conversation could not be read: {e}")),
        }
        c.scroll_back = 0;
    }

    /// Keeps the open conversation in step with its turns; a new conversation's list entry
    /// comes with its first reply.
    pub(super) fn chat_on_update(&mut self, update: &TaskUpdate) -> Vec<Command> {
        let Some(c) = self.chat.as_mut() else { return vec![] };
        if c.on_update(update) { vec![Command::LoadConversations(c.workflow_id.clone())] } else { vec![] }
    }

    /// A turn this dashboard sent is recorded: it shows at once, its reply streams in.
    pub(super) fn chat_on_submitted(&mut self, t: &Task) {
        let Some(c) = self.chat.as_mut().filter(|c| c.workflow_id == t.workflow_id) else { return };
        if t.mode == RunMode::Chat {
            c.sending = None;
        }
        if t.mode == RunMode::Chat
            && t.context.conversation_id == c.conversation
            && !c.turns.iter().any(|x| x.task_id == t.id)
        {
            c.turns.push(ChatTurn::of(t));
            c.scroll_back = 0;
        }
    }

    /// A turn that could not be sent: its message goes back in the input, and the view
    /// says why. False when no turn was being sent.
    pub(super) fn chat_not_sent(&mut self, why: &str) -> bool {
        let Some(c) = self.chat.as_mut() else { return false };
        let Some(message) = c.sending.take() else { return false };
        // Back in the input, unless something new was typed meanwhile (then it is said).
        if c.input.lines().join("").trim().is_empty() {
            c.input = single_line_input("message · Enter sends");
            c.input.insert_str(&message);
            c.note = Some(format!("not sent: {why}"));
        } else {
            c.note = Some(format!("not sent ({why}): “{message}”"));
        }
        true
    }

    pub(super) fn on_chat_key(&mut self, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
        let Some(mut c) = self.chat.take() else {
            self.overlay = None;
            return vec![];
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let mut cmds = vec![];
        let mut close = false;
        match (key.code, action) {
            (_, Some(Action::Cancel)) => close = true,
            // A new conversation, from anywhere in the view.
            (KeyCode::Char('n'), _) if ctrl => {
                c.conversation = None;
                c.turns.clear();
                c.selected = 0;
                c.in_list = false;
            }
            (_, Some(Action::NextField)) => c.in_list = !c.in_list,
            (KeyCode::PageUp, _) => c.scroll_back = c.scroll_back.saturating_add(10),
            (KeyCode::PageDown, _) => c.scroll_back = c.scroll_back.saturating_sub(10),
            (KeyCode::Up | KeyCode::Down, _) if c.in_list => {
                let rows = c.conversations.as_ref().map_or(0, Vec::len) + 1;
                c.selected = match key.code {
                    KeyCode::Up => (c.selected + rows - 1) % rows,
                    _ => (c.selected + 1) % rows,
                };
            }
            (_, Some(Action::Accept)) if c.in_list => {
                let chosen =
                    c.selected.checked_sub(1).and_then(|i| c.conversations.as_ref()?.get(i)).map(|x| x.id.clone());
                c.in_list = false;
                c.turns.clear();
                c.conversation = chosen.clone();
                if let Some(id) = chosen {
                    cmds.push(Command::LoadConversation(id));
                }
            }
            (_, Some(Action::Accept)) if c.sending.is_some() => c.note = Some("sending the last message…".into()),
            (_, Some(Action::Accept)) => {
                let message = c.input.lines().join(" ").trim().to_string();
                if !message.is_empty() {
                    match self.chat_turn(&c, message.clone()) {
                        Ok(cmd) => {
                            c.input = single_line_input("message · Enter sends");
                            c.note = None;
                            c.sending = Some(message);
                            cmds.push(cmd);
                        }
                        Err(why) => c.note = Some(why),
                    }
                }
            }
            _ if !c.in_list => {
                prompt_key(&mut c.input, key);
            }
            _ => {}
        }
        self.chat = Some(c);
        if !close {
            self.overlay = Some(Overlay::Chat);
        }
        cmds
    }

    /// A turn of the open conversation, with the editor's parameters, app or bot and version.
    fn chat_turn(&self, c: &ChatView, message: String) -> Result<Command, String> {
        let context = &self.editor.context;
        if context.app_id.is_none() && context.bot_id.is_none() {
            return Err("a chatflow runs in an app or with a bot: Esc, then B in the editor sets it".into());
        }
        if c.turns.iter().any(|t| !t.status.is_settled()) {
            return Err("the bot is still answering: wait for its reply".into());
        }
        let mut parameters = match &self.editor.validation {
            v if v.is_runnable() => v.params.clone().unwrap_or_default(),
            v => {
                let why = v.blocker().map(|p| p.message.clone()).unwrap_or_default();
                return Err(format!("the chatflow's parameters (the editor) do not check out: {why}"));
            }
        };
        // The built-in inputs left empty: Coze fills them from the conversation.
        parameters.retain(|k, v| !(matches!(k.as_str(), "USER_INPUT" | "CONVERSATION_NAME") && v.as_str() == Some("")));
        Ok(Command::Submit(Box::new(NewTask {
            workflow_id: c.workflow_id.clone(),
            workflow_name: Some(c.workflow_name.clone()),
            workspace_id: self.workspace_id.clone(),
            context: RunContext {
                message: Some(message),
                conversation_id: c.conversation.clone(),
                ..self.editor.context_for(&parameters)
            },
            parameters,
            mode: RunMode::Chat,
            name: None,
            description: None,
        })))
    }
}
