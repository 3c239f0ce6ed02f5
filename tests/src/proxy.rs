//! A TCP forwarder the test can stop and start, to take the database away
//! from a running hookd and give it back, and that can lose the database's
//! replies on the connection that sends given bytes (a statement that ran,
//! whose answer never came).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};

/// Forwards `127.0.0.1:<port>` to `target` while running.
#[derive(Debug)]
pub struct TcpProxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    tasks: Mutex<JoinSet<()>>,
    /// A connection that sends these bytes gets no more replies.
    mute_after: Arc<Mutex<Option<Vec<u8>>>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            target,
            tasks: Mutex::new(JoinSet::new()),
            mute_after: Arc::new(Mutex::new(None)),
        };
        proxy.accept_on(listener);
        proxy
    }

    /// A proxy in front of the database at `url`, and `url` through it,
    /// without TLS (so that [`TcpProxy::mute_after`] sees the bytes).
    pub async fn for_database(url: &str) -> (Self, String) {
        let (_, target) = through(url, "127.0.0.1:1".parse().unwrap());
        let proxy = Self::start(target).await;
        let (proxied, _) = through(url, proxy.addr);
        let separator = if proxied.contains('?') { '&' } else { '?' };
        (proxy, format!("{proxied}{separator}sslmode=disable"))
    }

    /// Closes the listener and every forwarded connection.
    pub fn stop(&self) {
        self.tasks.lock().unwrap().abort_all();
    }

    /// Listens on the same address again (once the stopped listener has
    /// closed).
    pub async fn resume(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(err) if tries < 100 => {
                    tries += 1;
                    let _ = err;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(err) => panic!("could not listen on {} again: {err}", self.addr),
            }
        };
        self.accept_on(listener);
    }

    /// From now on, a connection on which the client sends `bytes` (a
    /// statement, or a parameter such as an event id) gets no more replies
    /// from the target; what the client sends still arrives.
    pub fn mute_after(&self, bytes: &[u8]) {
        *self.mute_after.lock().unwrap() = Some(bytes.to_vec());
    }

    /// New connections, and those not muted yet, stay unmuted.
    pub fn unmute(&self) {
        *self.mute_after.lock().unwrap() = None;
    }

    fn accept_on(&self, listener: TcpListener) {
        let target = self.target;
        let mute_after = self.mute_after.clone();
        // Connections are tasks of the accept task's own set, so aborting
        // the accept task drops them all.
        self.tasks.lock().unwrap().spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let mute_after = mute_after.clone();
                connections.spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(target).await {
                        forward(inbound, outbound, &mute_after).await;
                    }
                });
            }
        });
    }
}

/// Copies both ways until either side closes; once the client has sent
/// the bytes of `mute_after`, drops what the target sends.
async fn forward(
    mut client: TcpStream,
    mut target: TcpStream,
    mute_after: &Mutex<Option<Vec<u8>>>,
) {
    let (mut from_client, mut to_client) = client.split();
    let (mut from_target, mut to_target) = target.split();
    let muted = AtomicBool::new(false);
    let requests = async {
        let mut buffer = vec![0; 16 << 10];
        // The end of the last read, for bytes split across two reads.
        let mut seen: Vec<u8> = Vec::new();
        loop {
            let read = from_client.read(&mut buffer).await?;
            if read == 0 {
                return Ok::<_, std::io::Error>(());
            }
            let pattern = mute_after.lock().unwrap().clone();
            if let Some(pattern) = pattern {
                seen.extend_from_slice(&buffer[..read]);
                if seen.windows(pattern.len()).any(|window| window == pattern) {
                    muted.store(true, Ordering::SeqCst);
                }
                let keep = seen.len().min(pattern.len());
                seen.drain(..seen.len() - keep);
            }
            to_target.write_all(&buffer[..read]).await?;
        }
    };
    let replies = async {
        let mut buffer = vec![0; 16 << 10];
        loop {
            let read = from_target.read(&mut buffer).await?;
            if read == 0 {
                return Ok::<_, std::io::Error>(());
            }
            if !muted.load(Ordering::SeqCst) {
                to_client.write_all(&buffer[..read]).await?;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        _ = replies => {}
    }
}

/// `url` with its `host:port` replaced by `addr`, and the address replaced.
fn through(url: &str, addr: SocketAddr) -> (String, SocketAddr) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (credentials, host_port) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(c, h)| (c, h));
    let target = std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .unwrap()
        .next()
        .unwrap();
    let at = if credentials.is_empty() { "" } else { "@" };
    (format!("{scheme}://{credentials}{at}{addr}/{path}"), target)
}
