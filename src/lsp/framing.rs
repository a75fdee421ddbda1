//! A guard in front of the protocol reader. tower-lsp-server stops reading stdin for good after
//! one undecodable message (its framed reader ends on the first error), so a single malformed
//! message from a client would leave the server deaf. This guard re-frames stdin itself: valid
//! messages pass through byte for byte; a body that is not JSON, or a frame without a usable
//! `Content-Length`, is logged and replaced by a notification the server ignores.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

/// Bodies larger than this are dropped rather than buffered (no editor sends such messages).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// What the server receives in place of a malformed message.
const IGNORED: &[u8] =
    br#"{"jsonrpc":"2.0","method":"$/promptstack/malformedMessage","params":null}"#;

/// Returns a reader carrying only well-formed frames from `input`.
pub fn guard(
    input: impl AsyncRead + Unpin + Send + 'static,
) -> impl AsyncRead + Unpin + Send + 'static {
    let (reader, mut writer) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut input = BufReader::new(input);
        loop {
            let frame = match read_frame(&mut input).await {
                Ok(Some(body)) => {
                    // Before the framework logs the body at trace level: secrets in settings.
                    crate::logging::secrets::learn_from_message(&body);
                    body
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("dropping a malformed message from the client: {e}");
                    IGNORED.to_vec()
                }
            };
            let header = format!("Content-Length: {}\r\n\r\n", frame.len());
            if writer.write_all(header.as_bytes()).await.is_err()
                || writer.write_all(&frame).await.is_err()
            {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    reader
}

/// Reads one frame's body; `Ok(None)` at end of input; `Err` for a frame that must be dropped.
async fn read_frame(input: &mut (impl AsyncBufReadExt + Unpin)) -> Result<Option<Vec<u8>>, String> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = input
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return if saw_header {
                Err("input ended inside a header".into())
            } else {
                Ok(None)
            };
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue; // Stray blank lines between messages.
        }
        saw_header = true;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let Some(length) = length else {
        return Err("a message without a valid Content-Length header".into());
    };
    if length > MAX_BODY {
        let skipped = tokio::io::copy(&mut input.take(length as u64), &mut tokio::io::sink())
            .await
            .map_err(|e| e.to_string())?;
        return Err(format!(
            "a {skipped}-byte message, over the {MAX_BODY}-byte limit"
        ));
    }
    let mut body = vec![0; length];
    input
        .read_exact(&mut body)
        .await
        .map_err(|e| e.to_string())?;
    match serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        Ok(_) => Ok(Some(body)),
        Err(e) => Err(format!("the body is not JSON ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &'static [u8]) -> Vec<String> {
        let mut out = String::new();
        guard(input).read_to_string(&mut out).await.unwrap();
        out.split("Content-Length: ")
            .filter(|s| !s.is_empty())
            .map(|s| s.split_once("\r\n\r\n").unwrap().1.to_string())
            .collect()
    }

    #[tokio::test]
    async fn passes_valid_frames_and_replaces_broken_ones() {
        let got = frames(b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n{x}Content-Type: a\r\n\r\nContent-Length: 4\r\n\r\n[1] ").await;
        assert_eq!(
            got,
            vec![
                "{}".to_string(),
                String::from_utf8_lossy(IGNORED).into_owned(),
                String::from_utf8_lossy(IGNORED).into_owned(),
                "[1] ".to_string()
            ]
        );
    }
}
