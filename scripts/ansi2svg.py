#!/usr/bin/env python3
"""Turns a terminal capture with colours (`tmux capture-pane -e -p`) into an SVG picture.

    python3 scripts/ansi2svg.py capture.ansi COLUMNS ROWS > picture.svg

Handles what coze-tui draws: SGR resets, bold, dim, reverse, the 16 colours, 256 colours and
true colour; wide characters (CJK, emoji) take two cells, so the grid stays aligned.
"""
import html
import re
import sys
import unicodedata

CELL_W, CELL_H, FONT = 8.4, 17, 14
FG, BG = "#d8dee9", "#1e222a"
# xterm's 16 colours, a little softened.
BASE16 = [
    "#3b4252", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#d8dee9",
    "#5c6370", "#ff7b86", "#b5e890", "#ffd68a", "#7cc3ff", "#dd9bf0", "#7fd6e0", "#ffffff",
]


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


def width(ch):
    if unicodedata.combining(ch) or ch in "\u200d\ufe0f\ufe0e":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg, self.bg, self.bold, self.dim, self.reverse = None, None, False, False, False

    def apply(self, codes):
        codes = codes or [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASE16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = BASE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASE16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour, i = color256(codes[i + 2]), i + 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour, i = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5]), i + 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg, bg = self.fg or FG, self.bg or BG
        if self.reverse:
            fg, bg = bg, fg
        return fg, bg


SGR = re.compile(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def cells(line, style):
    """Runs of one captured line: dicts of col, text, span (columns), fg, bg, bold, dim.
    Wide characters get a run of their own, so each is drawn across exactly two cells."""
    runs, col, pos = [], 0, 0
    for m in list(SGR.finditer(line)) + [None]:
        text = line[pos:m.start()] if m else line[pos:]
        for ch in text:
            w = width(ch)
            if w == 0:
                if runs:
                    runs[-1]["text"] += ch
                continue
            fg, bg = style.colours()
            look = (fg, bg, style.bold, style.dim)
            last = runs[-1] if runs else None
            if last and last["look"] == look and w == 1 and not last["wide"]:
                last["text"] += ch
                last["span"] += 1
            else:
                runs.append({"col": col, "text": ch, "span": w, "look": look, "wide": w == 2})
            col += w
        if m is None:
            break
        if m.group(1) is not None:
            style.apply([int(x) for x in re.split("[;:]", m.group(1)) if x != ""])
        pos = m.end()
    return runs


def main():
    path, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lines = open(path, encoding="utf-8").read().split("\n")[:rows]
    w, h = cols * CELL_W, rows * CELL_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 24:.0f}" height="{h + 24:.0f}" '
        f'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}">',
        f'<rect width="100%" height="100%" rx="8" fill="{BG}"/>',
        '<g transform="translate(12 12)">',
    ]
    style = Style()
    for y, line in enumerate(lines):
        for run in cells(line, style):
            (fg, bg, bold, dim), text, span = run["look"], run["text"], run["span"]
            x = run["col"] * CELL_W
            if bg != BG:
                out.append(f'<rect x="{x:.1f}" y="{y * CELL_H}" width="{span * CELL_W:.1f}" height="{CELL_H}" fill="{bg}"/>')
            if text.strip():
                attrs = f'fill="{fg}"' + (' font-weight="bold"' if bold else "") + (' opacity="0.6"' if dim else "")
                out.append(
                    f'<text x="{x:.1f}" y="{y * CELL_H + CELL_H - 4}" textLength="{span * CELL_W:.1f}" '
                    f'lengthAdjust="spacingAndGlyphs" xml:space="preserve" {attrs}>{html.escape(text)}</text>'
                )
    out += ["</g>", "</svg>"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
