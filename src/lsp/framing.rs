//! LSP frames on the wire: `Content-Length` headers and a body. The reader never gives up on
//! the stream: after any framing error (a length counted in characters, stray bytes, a header
//! without a colon, a negative length, a body shorter or longer than announced) it scans for
//! the next `Content-Length:` header — from just after the start of the broken frame, so a
//! header swallowed by a too-long body is found again — and carries on from there.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bodies announced as larger than this are treated as a framing error (no editor sends such
/// messages, and buffering them would let one header exhaust memory).
pub const MAX_BODY: usize = 256 * 1024 * 1024;

/// A header block longer than this is not a header.
const MAX_HEADER: usize = 8 * 1024;

/// What resynchronisation looks for.
const MARKER: &[u8] = b"Content-Length:";

/// One unit read from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A body, exactly as many bytes as its header announced.
    Body(Vec<u8>),
    /// Bytes that were not a frame, and why; the reader has resynchronised past them.
    Broken(String),
}

/// Reads frames from the client's byte stream.
pub struct FrameReader<R> {
    input: R,
    buf: Vec<u8>,
    /// Where the next frame (or garbage) starts in `buf`.
    pos: usize,
    /// Where the last frame returned started: a rewind goes back to just after it.
    frame_start: usize,
    /// Looking for [`MARKER`] before parsing a header.
    resyncing: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(input: R) -> Self {
        FrameReader {
            input,
            buf: Vec::new(),
            pos: 0,
            frame_start: 0,
            resyncing: false,
            eof: false,
        }
    }

    /// The next frame; `None` once the input has ended and nothing usable is left.
    pub async fn next(&mut self) -> Option<Frame> {
        // The previous frame is no longer needed for a rewind.
        self.buf.drain(..self.frame_start);
        self.pos -= self.frame_start;
        self.frame_start = 0;
        loop {
            if self.resyncing {
                match find(&self.buf[self.pos..], MARKER) {
                    Some(at) => {
                        self.pos += at;
                        self.resyncing = false;
                    }
                    None => {
                        // Keep a tail that may be the start of a marker split across reads.
                        self.pos = self
                            .pos
                            .max(self.buf.len().saturating_sub(MARKER.len() - 1));
                        if !self.fill().await {
                            return None;
                        }
                        continue;
                    }
                }
            }
            // Stray line breaks between messages are harmless.
            while matches!(self.buf.get(self.pos), Some(b'\r' | b'\n')) {
                self.pos += 1;
            }
            if self.pos == self.buf.len() && !self.fill().await {
                return None;
            }
            if self.pos == self.buf.len() {
                continue;
            }
            match parse_header(&self.buf[self.pos..]) {
                Header::Incomplete if self.buf.len() - self.pos > MAX_HEADER => {
                    return Some(self.broken("a header block longer than 8 KB"));
                }
                Header::Incomplete => {
                    if !self.fill().await {
                        return Some(self.broken("the input ended inside a header"));
                    }
                }
                Header::Invalid(reason) => return Some(self.broken(&reason)),
                Header::Complete { length, size } => {
                    let body_start = self.pos + size;
                    while self.buf.len() < body_start + length {
                        self.buf.reserve(body_start + length - self.buf.len());
                        if !self.fill().await {
                            return Some(self.broken("the input ended inside a body"));
                        }
                    }
                    self.frame_start = self.pos;
                    self.pos = body_start + length;
                    return Some(Frame::Body(self.buf[body_start..self.pos].to_vec()));
                }
            }
        }
    }

    /// Declares the last body returned unusable as framed (it was not JSON: its length was
    /// probably wrong) and resynchronises from just after its start.
    pub fn rewind(&mut self) {
        self.pos = self.frame_start + 1;
        self.resyncing = true;
    }

    /// A framing error at `pos`: resynchronise from the next byte.
    fn broken(&mut self, reason: &str) -> Frame {
        self.frame_start = self.pos;
        self.pos += 1;
        self.resyncing = true;
        Frame::Broken(reason.to_string())
    }

    /// Reads more input; false at end of input (or on a read error, which ends it too).
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        self.buf.reserve(64 * 1024);
        match self.input.read_buf(&mut self.buf).await {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(_) => true,
        }
    }
}

/// The outcome of parsing a header block at the start of some bytes.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// No blank line yet.
    Incomplete,
    Invalid(String),
    /// `size` bytes of header (with the blank line) announce a `length`-byte body.
    Complete {
        length: usize,
        size: usize,
    },
}

fn parse_header(bytes: &[u8]) -> Header {
    let mut length: Option<usize> = None;
    let mut at = 0;
    loop {
        let Some(newline) = bytes[at..].iter().position(|&b| b == b'\n') else {
            return Header::Incomplete;
        };
        let line = &bytes[at..at + newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += newline + 1;
        if line.is_empty() {
            return match length {
                Some(length) => Header::Complete { length, size: at },
                None => Header::Invalid("a header without Content-Length".into()),
            };
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Header::Invalid("a header line without a colon".into());
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Header::Invalid("a header name with characters no header has".into());
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok());
            match parsed {
                Some(n) if n > MAX_BODY => {
                    return Header::Invalid(format!(
                        "a {n}-byte body, over the {MAX_BODY}-byte limit"
                    ));
                }
                Some(n) if length.is_none_or(|l| l == n) => length = Some(n),
                Some(_) => return Header::Invalid("two different Content-Length headers".into()),
                None => return Header::Invalid("a Content-Length that is not a byte count".into()),
            }
        }
        // Other headers (Content-Type) carry nothing the server needs.
    }
}

/// A character allowed in a header name (an HTTP token).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes one frame: header and body, then flushes.
pub async fn write_frame(
    output: &mut (impl AsyncWrite + Unpin),
    body: &[u8],
) -> std::io::Result<()> {
    output
        .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .await?;
    output.write_all(body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every frame from `input`, with rewinds after bodies that are not JSON (as the
    /// transport does).
    async fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = FrameReader::new(input);
        let mut out = Vec::new();
        while let Some(frame) = reader.next().await {
            if let Frame::Body(body) = &frame
                && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err()
            {
                reader.rewind();
            }
            out.push(frame);
        }
        out
    }

    fn body(text: &str) -> Frame {
        Frame::Body(text.as_bytes().to_vec())
    }

    fn framed(text: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{text}", text.len())
    }

    fn bodies(got: &[Frame]) -> Vec<&Frame> {
        got.iter().filter(|f| matches!(f, Frame::Body(_))).collect()
    }

    const GOOD: &str = r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#;

    #[tokio::test]
    async fn reads_frames_with_any_header_case_and_extra_headers() {
        let input = format!(
            "{}content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{{}}\r\n{}",
            framed(GOOD),
            framed("[]")
        );
        assert_eq!(
            frames(input.as_bytes()).await,
            vec![body(GOOD), body("{}"), body("[]")]
        );
    }

    #[tokio::test]
    async fn resynchronises_after_every_kind_of_framing_error() {
        let text = r#"{"jsonrpc":"2.0","method":"x","params":{"t":"héllo"}}"#;
        let chars = text.chars().count();
        let cases = [
            // Content-Length counted in characters: the body is cut short.
            format!("Content-Length: {chars}\r\n\r\n{text}"),
            "abc".to_string(),
            format!("Content-Length {}\r\n\r\n{text}", text.len()),
            format!("Content-Length: -5\r\n\r\n{text}"),
            // A body one byte shorter, then one byte longer, than announced.
            format!("Content-Length: {}\r\n\r\n{}", text.len() + 1, text),
            format!("Content-Length: {}\r\n\r\n{}", text.len() - 1, text),
            format!("Content-Length: 99999999999999999999\r\n\r\n{text}"),
            format!("X: 1\r\n\r\n{text}"),
        ];
        for case in cases {
            let input = format!("{case}{}{}", framed(GOOD), framed(GOOD));
            let got = frames(input.as_bytes()).await;
            let good: Vec<_> = bodies(&got)
                .into_iter()
                .filter(|f| **f == body(GOOD))
                .collect();
            assert_eq!(good.len(), 2, "after {case:?}: {got:?}");
        }
    }

    #[tokio::test]
    async fn garbage_without_any_header_ends_cleanly() {
        let got = frames(b"just some bytes\r\n\r\n and more").await;
        assert!(bodies(&got).is_empty(), "{got:?}");
        assert!(frames(b"").await.is_empty());
    }

    #[tokio::test]
    async fn a_marker_split_across_reads_is_found() {
        // A reader that hands out one byte at a time.
        let input = format!("bad\r\n{}", framed(GOOD));
        let (mut tx, rx) = tokio::io::duplex(1);
        tokio::spawn(async move {
            let _ = tx.write_all(input.as_bytes()).await;
        });
        let mut reader = FrameReader::new(rx);
        assert!(matches!(reader.next().await, Some(Frame::Broken(_))));
        assert_eq!(reader.next().await, Some(body(GOOD)));
        assert_eq!(reader.next().await, None);
    }
}
