//! Kafka's framing: a 4-byte big-endian length, then that many bytes. The length is checked
//! against the limit before a single byte of the body is read or allocated.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::Closed;

/// Reads one request frame into `buf` (the connection's buffer, reused from frame to frame: once
/// the previous frame's bytes are dropped its memory is taken again, without zeroing it and
/// without the page faults of a fresh large allocation); `Ok(None)` when the client closed the
/// connection between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    max: usize,
    idle: Duration,
) -> Result<Option<Bytes>, Closed> {
    let mut len = [0u8; 4];
    // Idle time counts only while waiting for the next request to start.
    match tokio::time::timeout(idle, r.read(&mut len[..1])).await {
        Err(_) => return Err(Closed::Idle(idle)),
        Ok(Ok(0)) => return Ok(None),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(Closed::Io(e)),
    }
    read_exact(r, &mut len[1..], idle).await?;
    let size = i32::from_be_bytes(len) as i64;
    if size < 0 {
        return Err(Closed::Malformed(format!("negative frame length {size}")));
    }
    if size as u64 > max as u64 {
        return Err(Closed::TooLarge { size, max });
    }
    let size = size as usize;
    buf.clear();
    // A connection that once sent a huge frame does not keep its memory for small ones.
    if buf.capacity() > 4 * size.max(1 << 20) {
        *buf = BytesMut::new();
    }
    buf.reserve(size);
    while buf.len() < size {
        // Read at most what is left of this frame: the next frame starts its own buffer.
        let left = size - buf.len();
        let mut limited = (&mut *buf).limit(left);
        match tokio::time::timeout(idle, r.read_buf(&mut limited)).await {
            Err(_) => return Err(Closed::Idle(idle)),
            Ok(Ok(0)) => {
                return Err(Closed::Malformed(
                    "the connection closed in the middle of a frame".into(),
                ))
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(Closed::Io(e)),
        }
    }
    Ok(Some(buf.split_to(size).freeze()))
}

async fn read_exact<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
    idle: Duration,
) -> Result<(), Closed> {
    match tokio::time::timeout(idle, r.read_exact(buf)).await {
        Err(_) => Err(Closed::Idle(idle)),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Closed::Malformed(
            "the connection closed in the middle of a frame".into(),
        )),
        Ok(Err(e)) => Err(Closed::Io(e)),
    }
}

/// Writes one response frame (the body already holds the response header).
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    body: &[u8],
) -> Result<(), Closed> {
    let len = i32::try_from(body.len()).map_err(|_| {
        Closed::Internal(format!("a response of {} bytes is too large", body.len()))
    })?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(body).await?;
    w.flush().await?;
    Ok(())
}
