//! Copy through the terminal (OSC 52), so it works over SSH and in tmux (`set-clipboard on`).

use std::io::Write;

/// Terminals cap OSC 52 payloads; beyond this the copy would be dropped silently.
const MAX_BYTES: usize = 100_000;

/// Sends `text` to the terminal's clipboard. Returns how many bytes were sent (less than
/// `text.len()` when it had to be cut, at a character boundary).
pub fn osc52(text: &str) -> usize {
    let mut end = text.len().min(MAX_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\x1b]52;c;{}\x07", base64(&text.as_bytes()[..end]));
    let _ = out.flush();
    end
}

/// Why a copy sent to the terminal will not reach the clipboard, when that can be known:
/// inside tmux, only `set-clipboard on` passes an application's OSC 52 on (the default,
/// `external`, drops it). Asked of tmux once per process.
pub fn blocked() -> Option<&'static str> {
    static WHY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    WHY.get_or_init(|| {
        std::env::var_os("TMUX")?;
        let out = std::process::Command::new("tmux").args(["show-options", "-sv", "set-clipboard"]).output().ok()?;
        tmux_verdict(&String::from_utf8_lossy(&out.stdout))
    })
    .as_deref()
}

/// What tmux's `set-clipboard` value means for a copy.
fn tmux_verdict(value: &str) -> Option<String> {
    match value.trim() {
        "on" | "" => None,
        other => Some(format!(
            "tmux's set-clipboard is '{other}', so it drops the copy: add `set -g set-clipboard on` to ~/.tmux.conf"
        )),
    }
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn only_tmux_set_clipboard_on_passes_a_copy_on() {
        assert_eq!(tmux_verdict("on\n"), None);
        assert!(tmux_verdict("external\n").unwrap().contains("set -g set-clipboard on"));
        assert!(tmux_verdict("off").unwrap().contains("'off'"));
    }
}
