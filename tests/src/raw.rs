//! Raw HTTP/1.1 over TCP, for what reqwest will not do: dribbling headers,
//! stalling a body, sending chunks past a limit.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

/// A connection the test writes to by hand.
#[derive(Debug)]
pub struct RawConnection(pub TcpStream);

impl RawConnection {
    pub async fn open(addr: SocketAddr) -> Self {
        Self(TcpStream::connect(addr).await.unwrap())
    }

    /// Writes `bytes`; `false` once the server has closed the connection.
    pub async fn write(&mut self, bytes: &[u8]) -> bool {
        self.0.write_all(bytes).await.is_ok() && self.0.flush().await.is_ok()
    }

    /// Reads until the server closes or `within` passes; returns what came.
    pub async fn read_all(&mut self, within: Duration) -> String {
        let mut received = Vec::new();
        let _ = tokio::time::timeout(within, self.0.read_to_end(&mut received)).await;
        String::from_utf8_lossy(&received).into_owned()
    }

    /// Reads one response's head and the body that is there within `within`:
    /// (status, body text).
    pub async fn read_response(&mut self, within: Duration) -> (u16, String) {
        let mut received = Vec::new();
        let mut buffer = [0_u8; 4096];
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n")
                && let Some(length) = content_length(head)
                && body.len() >= length
            {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, body[..length].to_owned());
            }
            let read = tokio::time::timeout_at(deadline, self.0.read(&mut buffer))
                .await
                .expect("no complete response in time")
                .unwrap_or(0);
            assert!(read > 0, "closed before a full response: {text:?}");
            received.extend_from_slice(&buffer[..read]);
        }
    }
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}
