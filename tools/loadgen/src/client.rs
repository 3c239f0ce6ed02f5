//! A bare HTTP/1.1 keep-alive client: one request in flight per connection,
//! the request bytes written as prepared, the response read just far enough
//! to know its status and length. Lean on purpose: it shares the cores with
//! the server it measures.

use std::{net::SocketAddr, time::Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// One answered request.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub micros: u32,
}

#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl Connection {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buffer: Vec::with_capacity(4096),
        }
    }

    /// Sends one request and reads its response; reconnects once when the
    /// server closed an idle keep-alive connection.
    pub async fn send(&mut self, request: &[u8]) -> anyhow::Result<Answer> {
        let started = Instant::now();
        let (status, keep_alive) = match self.exchange(request).await {
            Ok(answer) => answer,
            Err(_) => {
                self.stream = None;
                self.exchange(request).await?
            }
        };
        if !keep_alive {
            self.stream = None;
        }
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        Ok(Answer { status, micros })
    }

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, bool)> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                self.stream.insert(stream)
            }
        };
        stream.write_all(request).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            read_more(stream, &mut self.buffer).await?;
        };
        let head = &self.buffer[..head_end];
        let status = parse_status(head)?;
        let length = header(head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| anyhow::anyhow!("response without content-length"))?;
        let keep_alive =
            !header(head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        while self.buffer.len() < head_end + length {
            read_more(stream, &mut self.buffer).await?;
        }
        Ok((status, keep_alive))
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut chunk = [0_u8; 4096];
    let n = stream.read(&mut chunk).await?;
    anyhow::ensure!(n > 0, "connection closed by the server");
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_status(head: &[u8]) -> anyhow::Result<u16> {
    // "HTTP/1.1 202 Accepted"
    head.get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("not an HTTP/1.1 status line"))
}

fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(head)
        .ok()?
        .split("\r\n")
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_headers_are_read() {
        let head = b"HTTP/1.1 202 Accepted\r\nContent-Length: 12\r\nconnection: close\r\n\r\n";
        assert_eq!(parse_status(head).unwrap(), 202);
        assert_eq!(header(head, "content-length"), Some("12"));
        assert_eq!(header(head, "Connection"), Some("close"));
        assert_eq!(header(head, "x-missing"), None);
    }
}
