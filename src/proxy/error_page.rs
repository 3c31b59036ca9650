//! The pages gatewatch shows a client when it cannot or will not relay a request.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use super::ProxyBody;

/// Builds an HTML error page response. `title` and `detail` are escaped.
pub fn page(status: StatusCode, title: &str, detail: &str) -> Response<ProxyBody> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em; \
         margin: 2em auto; padding: 0 1em\">\n<h1>{title}</h1>\n<p>{detail}</p>\n\
         <p><small>gatewatch, the school network's safeguarding gateway ({code}).</small></p>\n\
         </body></html>\n",
        title = escape(title),
        detail = escape(detail),
        code = status.as_u16(),
    );
    let mut resp = Response::new(full(html));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// A complete body from a string or bytes.
pub fn full(data: impl Into<Bytes>) -> ProxyBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[tokio::test]
    async fn page_has_status_and_escaped_text() {
        let resp = page(StatusCode::BAD_GATEWAY, "Bad <cert>", "expired");
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("Bad &lt;cert&gt;"));
        assert!(text.contains("expired"));
    }
}
