//! Config text cut into lines, fast: every line of configs of thousands of profiles
//! passes through here on the cached path.
//!
//! Invariants:
//! - lines are cut as `str::lines` cuts them, and a file streamed through the window
//!   gives the lines of the whole text (a property test holds both);
//! - the text is looked at 32 bytes at a time for line ends, `=` and comment marks
//!   (SSE2 through the safe `safe_arch` crate on x86-64, a plain loop elsewhere); a
//!   comment line (`#` or `;` first) is looked at only for its end;
//! - linear in the text: each byte is looked at once.

use std::io::Read;

/// Streams `file` through one window and calls `visit` with what it holds of whole
/// lines (all of it at the end of the file), and where that starts in the file;
/// `visit` returns `false` to stop early. `None` if it cannot be read or is not UTF-8
/// (the full loader then says why).
pub(super) fn each_chunk(
    mut file: impl Read,
    mut visit: impl FnMut(&str, u64) -> bool,
) -> Option<()> {
    // window[..filled] is read but not yet judged: at most a line that the end of the
    // previous read cut short, then what this read brought.
    let mut window = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut offset = 0;
    loop {
        if filled == window.len() {
            window.resize(2 * window.len(), 0); // a line longer than the window
        }
        let n = file.read(&mut window[filled..]).ok()?;
        let eof = n == 0;
        filled += n;
        let data = &window[..filled];
        let complete = if eof {
            data.len()
        } else {
            memchr::memrchr(b'\n', data).map_or(0, |at| at + 1)
        };
        if complete > 0 && !visit(simdutf8::basic::from_utf8(&data[..complete]).ok()?, offset) {
            return Some(());
        }
        offset += complete as u64;
        window.copy_within(complete..filled, 0);
        filled -= complete;
        if eof {
            return Some(());
        }
    }
}

/// One line (without its `\n` or `\r\n`), with what [`each_line`] found in it.
pub(super) struct Line<'a> {
    pub(super) text: &'a str,
    /// Where its first `=` is (`None` in a comment line).
    pub(super) equals: Option<usize>,
    /// Whether it holds a `#` or `;`, where a comment may start.
    pub(super) marked: bool,
}

/// Where a line of a text is (without its `\n` or `\r\n`), and what [`each_line`] found
/// in it.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
    /// Where its first `=` is, in the text (`None` in a comment line, which is not
    /// looked into).
    pub(super) equals: Option<usize>,
    /// Whether it holds a `#` or `;`.
    pub(super) marked: bool,
}

impl Span {
    fn at(start: usize) -> Span {
        Span {
            start,
            end: start,
            equals: None,
            marked: false,
        }
    }

    pub(super) fn line(self, text: &str) -> Line<'_> {
        Line {
            text: &text[self.start..self.end],
            equals: self.equals.map(|at| at - self.start),
            marked: self.marked,
        }
    }
}

/// Calls `visit` with each line of `text`, cut as `str::lines` cuts them, until it
/// returns `false`; returns whether it never did. Every line of configs of thousands
/// of profiles passes through here on the cached path, so it looks only at the bytes
/// that matter (line ends, `=` and comment marks), found 32 at a time.
#[inline(always)]
pub(super) fn each_line(text: &str, mut visit: impl FnMut(Span) -> bool) -> bool {
    let bytes = text.as_bytes();
    let mut span = Span::at(0);
    let mut marks = Marked::new(bytes);
    skip_comment(bytes, &mut span, &mut marks);
    while let Some(at) = marks.next() {
        match bytes[at] {
            b'\n' => {
                // `str::lines` drops a `\r` before a `\n`, and only there.
                span.end = match at > span.start && bytes[at - 1] == b'\r' {
                    true => at - 1,
                    false => at,
                };
                if !visit(span) {
                    return false;
                }
                span = Span::at(at + 1);
                skip_comment(bytes, &mut span, &mut marks);
            }
            b'=' => _ = span.equals.get_or_insert(at),
            _ => span.marked = true,
        }
    }
    span.end = bytes.len();
    span.start == bytes.len() || visit(span)
}

/// A line that starts with `#` or `;` is a comment whatever it holds: only its end is
/// looked for (one byte, with `memchr`'s widest search), and `span` is marked.
#[inline(always)]
fn skip_comment(bytes: &[u8], span: &mut Span, marks: &mut Marked<'_>) {
    if let Some(b'#' | b';') = bytes.get(span.start) {
        span.marked = true;
        let end =
            memchr::memchr(b'\n', &bytes[span.start..]).map_or(bytes.len(), |i| span.start + i);
        marks.restart(end);
    }
}

/// Where the line ends, `=` and comment marks (`#`, `;`) of a text are, in order.
struct Marked<'a> {
    bytes: &'a [u8],
    /// Where the block `mask` describes starts.
    block: usize,
    /// Bit `i`: the block's byte `i` is marked and not yet handed out.
    mask: u32,
}

impl<'a> Marked<'a> {
    fn new(bytes: &'a [u8]) -> Marked<'a> {
        Marked {
            bytes,
            block: 0,
            mask: marked_in(bytes),
        }
    }
}

impl Marked<'_> {
    /// Goes on from byte `at`, skipping whatever was marked before it.
    #[inline(always)]
    fn restart(&mut self, at: usize) {
        self.block = at;
        self.mask = self.bytes.get(at..).map_or(0, marked_in);
    }
}

impl Iterator for Marked<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.block += 32;
            let rest = self.bytes.get(self.block..).filter(|r| !r.is_empty())?;
            self.mask = marked_in(rest);
        }
        let at = self.block + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Which of the first 32 bytes of `bytes` are line ends, `=` or comment marks, as bits.
#[inline(always)]
fn marked_in(bytes: &[u8]) -> u32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Some(block) = bytes.first_chunk::<32>() {
        use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
        let half = |half: &[u8]| {
            let half = m128i::from(<[u8; 16]>::try_from(half).unwrap());
            let is = |byte: u8| cmp_eq_mask_i8_m128i(half, set_splat_i8_m128i(byte as i8));
            move_mask_i8_m128i(is(b'\n') | is(b'=') | is(b'#') | is(b';')) as u32
        };
        return half(&block[..16]) | half(&block[16..]) << 16;
    }
    (bytes.iter().take(32).enumerate()).fold(0, |mask, (i, b)| {
        mask | u32::from(matches!(b, b'\n' | b'=' | b'#' | b';')) << i
    })
}
