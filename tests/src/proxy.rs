//! A TCP forwarder the test can stop and start, to take the database away
//! from a running hookd and give it back.

use std::{net::SocketAddr, sync::Mutex};

use tokio::{net::TcpListener, task::JoinSet};

/// Forwards `127.0.0.1:<port>` to `target` while running.
#[derive(Debug)]
pub struct TcpProxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    tasks: Mutex<JoinSet<()>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            target,
            tasks: Mutex::new(JoinSet::new()),
        };
        proxy.accept_on(listener);
        proxy
    }

    /// A proxy in front of the database at `url`, and `url` through it.
    pub async fn for_database(url: &str) -> (Self, String) {
        let (_, target) = through(url, "127.0.0.1:1".parse().unwrap());
        let proxy = Self::start(target).await;
        let (proxied, _) = through(url, proxy.addr);
        (proxy, proxied)
    }

    /// Closes the listener and every forwarded connection.
    pub fn stop(&self) {
        self.tasks.lock().unwrap().abort_all();
    }

    /// Listens on the same address again.
    pub async fn resume(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.accept_on(listener);
    }

    fn accept_on(&self, listener: TcpListener) {
        let target = self.target;
        // Connections are tasks of the accept task's own set, so aborting
        // the accept task drops them all.
        self.tasks.lock().unwrap().spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
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
