//! A byte-level Server-Sent Events parser with Coze's extras (coze-api.md §9.4).
//!
//! Sans-IO: feed it chunks as they arrive, in any split, and take complete items out. Lines end
//! with LF, CRLF or CR; `:` lines are comments; `field:value` drops one leading space; several
//! `data:` lines join with `\n`; `id` is optional; a blank line dispatches. A bare line starting
//! with `{` outside any field is Coze's JSON error envelope sent under an event-stream type.

/// One dispatched SSE event, before its `data` is interpreted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Event(RawEvent),
    /// A bare JSON line (an error envelope where an event was expected).
    BareJson(String),
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF starting the next chunk belongs to that line end.
    after_cr: bool,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns every item completed by them.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseItem> {
        let mut out = Vec::new();
        let mut rest = chunk;
        if rest.is_empty() {
            return out;
        }
        if std::mem::take(&mut self.after_cr) && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        // Whole runs of line bytes at a time: a megabyte-long data line is one copy.
        while let Some(i) = memchr::memchr2(b'\n', b'\r', rest) {
            self.line.extend_from_slice(&rest[..i]);
            self.end_line(&mut out);
            let cr = rest[i] == b'\r';
            rest = &rest[i + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.line.extend_from_slice(rest);
        out
    }

    /// Ends the stream: an unterminated last line and a pending event are dispatched.
    pub fn finish(&mut self) -> Vec<SseItem> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut out);
        }
        self.dispatch(&mut out);
        out
    }

    fn end_line(&mut self, out: &mut Vec<SseItem>) {
        let line = match String::from_utf8(std::mem::take(&mut self.line)) {
            Ok(line) => line,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return; // comment / keep-alive
        }
        if line.starts_with('{') {
            out.push(SseItem::BareJson(line));
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            "id" => self.id = Some(value.to_string()),
            _ => {} // `retry` and unknown fields are ignored
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        // Per the SSE spec an event without data is not dispatched; an `event:` alone still is
        // here, because Coze's Done can carry `{}` or nothing at all.
        if self.data.is_none() && self.event.is_none() {
            self.id = None;
            return;
        }
        out.push(SseItem::Event(RawEvent {
            id: self.id.take(),
            event: self.event.take(),
            data: self.data.take().unwrap_or_default(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Vec<SseItem> {
        let mut p = SseParser::new();
        let mut items = p.push(input);
        items.extend(p.finish());
        items
    }

    fn ev(id: Option<&str>, event: &str, data: &str) -> SseItem {
        SseItem::Event(RawEvent { id: id.map(Into::into), event: Some(event.into()), data: data.into() })
    }

    const STREAM: &str = "id: 0\nevent: Message\ndata: {\"content\":\"你好 👋\",\"node_seq_id\":\"0\"}\n\n\
: keep-alive comment\n\
id: 1\nevent: PING\ndata: {\"content\":\"{}\"}\n\n\
id:2\nevent:Done\ndata:{\"debug_url\":\"https://www.coze.cn/work_flow?execute_id=7\"}\n\n";

    fn expected() -> Vec<SseItem> {
        vec![
            ev(Some("0"), "Message", "{\"content\":\"你好 👋\",\"node_seq_id\":\"0\"}"),
            ev(Some("1"), "PING", "{\"content\":\"{}\"}"),
            ev(Some("2"), "Done", "{\"debug_url\":\"https://www.coze.cn/work_flow?execute_id=7\"}"),
        ]
    }

    #[test]
    fn parses_events_with_and_without_space_and_comments() {
        assert_eq!(parse_all(STREAM.as_bytes()), expected());
    }

    #[test]
    fn crlf_and_lone_cr_line_endings() {
        let crlf = STREAM.replace('\n', "\r\n");
        assert_eq!(parse_all(crlf.as_bytes()), expected());
        let cr = STREAM.replace('\n', "\r");
        assert_eq!(parse_all(cr.as_bytes()), expected());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        for input in [STREAM.to_string(), STREAM.replace('\n', "\r\n")] {
            let bytes = input.as_bytes();
            for cut in 0..=bytes.len() {
                let mut p = SseParser::new();
                let mut items = p.push(&bytes[..cut]);
                items.extend(p.push(&bytes[cut..]));
                items.extend(p.finish());
                assert_eq!(items, expected(), "split at byte {cut}");
            }
            // and byte by byte
            let mut p = SseParser::new();
            let mut items: Vec<_> = bytes.iter().flat_map(|b| p.push(std::slice::from_ref(b))).collect();
            items.extend(p.finish());
            assert_eq!(items, expected());
        }
    }

    #[test]
    fn multi_line_data_joins_with_newline_and_id_is_optional() {
        let items = parse_all(b"event: Message\ndata: line one\ndata:line two\n\n");
        assert_eq!(items, vec![ev(None, "Message", "line one\nline two")]);
    }

    #[test]
    fn bare_json_error_line_is_reported() {
        let items = parse_all(b"{\"code\":4100,\"msg\":\"authentication is invalid\"}\n");
        assert_eq!(items, vec![SseItem::BareJson("{\"code\":4100,\"msg\":\"authentication is invalid\"}".into())]);
    }

    #[test]
    fn eof_without_blank_line_dispatches_pending_event() {
        let items = parse_all(b"id: 5\nevent: Interrupt\ndata: {\"interrupt_data\":{}}");
        assert_eq!(items, vec![ev(Some("5"), "Interrupt", "{\"interrupt_data\":{}}")]);
        let mut p = SseParser::new();
        assert!(p.push(b"id: 1\nevent: Message\ndata: {\"a\"").is_empty(), "nothing before the line ends");
        assert_eq!(p.finish(), vec![ev(Some("1"), "Message", "{\"a\"")], "the rest comes out at the end");
    }

    #[test]
    fn unknown_fields_and_stray_blank_lines_are_ignored() {
        let items = parse_all(b"\n\nretry: 1000\nfoo: bar\nid: 3\n\nevent: Message\ndata: x\n\n");
        assert_eq!(items, vec![ev(None, "Message", "x")]);
    }
}
