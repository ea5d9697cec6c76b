//! Files over HTTP, the same for the API and the admin UI: CSV downloads (whole or
//! streamed) and the size an upload declares, checked against its limit before a byte
//! of it is read.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use roster_app::export::MemberExport;
use roster_app::group_csv::too_large;
use roster_app::AppError;

/// A CSV file to download.
pub(crate) fn csv_file(bytes: Vec<u8>, file_name: &str) -> Response {
    (csv_headers(file_name), bytes).into_response()
}

/// A group's members as CSV, streamed as the export produces it. A failure half-way is
/// logged and ends the download with an error, so the client never takes a cut file
/// for a whole one. The stream is fused: the compression layer may poll it once more
/// after its end.
pub(crate) fn csv_stream(export: MemberExport) -> Response {
    use futures_util::StreamExt;
    let file_name = export.file_name.clone();
    let stream = futures_util::stream::unfold(export, |mut export| async move {
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), export)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "export failed midway");
                Some((Err(std::io::Error::other("export failed")), export))
            }
        }
    })
    .fuse();
    (csv_headers(&file_name), Body::from_stream(stream)).into_response()
}

/// The length a request declares for its body, if it does.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

fn csv_headers(file_name: &str) -> [(header::HeaderName, String); 2] {
    [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
    ]
}

/// Refuses an upload whose declared length is over `limit` (plus `envelope`, what a
/// multipart form adds around the file), before it is read.
pub(crate) fn refuse_declared_over(headers: &HeaderMap, limit: usize, envelope: usize) -> Result<(), AppError> {
    match declared_length(headers) {
        Some(size) if size > limit.saturating_add(envelope) => Err(too_large(size, limit)),
        _ => Ok(()),
    }
}
