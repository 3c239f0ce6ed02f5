//! `--serve-fixed`: a trivial server that answers every request `202` with a
//! small fixed JSON body, like hookd's receipt. It is the calibration point:
//! what this machine gives for HTTP alone, and proof that the generator is
//! not what limits a run.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const RECEIPT: &[u8] =
    br#"{"status":"accepted","id":"019ad0c4-0000-7000-8000-000000000000","event_id":"evt"}"#;

pub async fn serve(addr: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    // The runner scripts read the bound address from this line.
    println!("serving a fixed 202 on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = service_fn(answer);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body like a real receiver would, then drop it.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(RECEIPT)));
    *response.status_mut() = StatusCode::ACCEPTED;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
